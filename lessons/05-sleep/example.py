"""Lesson 05: sleep; the asyncio original of example.cpp (the course's first example)."""
import asyncio


async def fetch_data(name: str, seconds: float) -> str:
    print(f"{name}: start fetching data")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        print(f"{name}: cancelled while fetching, cleaning up")
        raise
    print(f"{name}: data fetched")
    return f"data from {name}"


async def main() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()

    task = asyncio.create_task(fetch_data("first", 2))
    print("main: doing other work while it fetches")
    await asyncio.sleep(0)
    print("main: yielded once; the task has started")
    data = await task
    print(f"main: got {data!r} after {round(loop.time() - start)} s")

    a, b = await asyncio.gather(fetch_data("a", 0.2), fetch_data("b", 0.1))
    print(f"main: gathered {a!r} and {b!r}")

    slow = asyncio.create_task(fetch_data("slow", 3600))
    await asyncio.sleep(0.1)
    slow.cancel()
    try:
        await slow
    except asyncio.CancelledError:
        print(f"main: the slow fetch was cancelled; {round(loop.time() - start)} s in all")


asyncio.run(main())
