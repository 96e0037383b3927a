"""Lesson 11: cancellation you can rely on; the asyncio original of example.cpp.

A crawler that gives up in time: one page with a time limit (wait_for), pages fetched together in
a task group, a deadline over a whole group (timeout), results saved by a task that a deadline
must not tear (shield), and a group in which one page fails and stops the others. Nothing goes
over the network: a "fetch" sleeps as long as the table says, and /broken fails.
"""
import asyncio

SECONDS = {"/": 0.1, "/about": 0.2, "/news": 0.3, "/broken": 0.2, "/slow": 2.0}


async def fetch(path: str) -> int:
    try:
        await asyncio.sleep(SECONDS[path])
    except asyncio.CancelledError:
        print(f"  {path}: cancelled")
        raise   # cleaned up; the cancellation goes on
    if path == "/broken":
        raise RuntimeError(f"{path}: HTTP 500")
    print(f"  {path}: fetched")
    return 100 * len(path)   # the length of the body we pretend to have read


async def save(pages: int) -> str:
    print("  saving...")
    await asyncio.sleep(0.3)
    print("  saved")
    return f"{pages} pages saved"


async def main() -> None:
    print("wait_for: one page, at most 0.5 s")
    for path in ("/news", "/slow"):
        try:
            size = await asyncio.wait_for(fetch(path), 0.5)
            print(f"  {path}: {size} bytes")
        except TimeoutError:
            print(f"  {path}: gave up")

    print("task group: three pages at once")
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(fetch(path)) for path in ("/", "/news", "/about")]
    print(f"  {sum(t.result() for t in tasks)} bytes")

    print("timeout: 0.25 s for a whole group")
    try:
        async with asyncio.timeout(0.25):
            async with asyncio.TaskGroup() as group:
                for path in ("/", "/slow", "/about"):
                    group.create_task(fetch(path))
    except TimeoutError:
        print("  timed out: a timeout, not a failure of the group")

    print("shield: a deadline of 0.1 s, a save of 0.3 s")
    saving = asyncio.create_task(save(3))
    try:
        async with asyncio.timeout(0.1):
            await asyncio.shield(saving)
    except TimeoutError:
        print("  stopped waiting; the save goes on")
    print(f"  {await saving}")

    print("task group: a page fails")
    try:
        async with asyncio.TaskGroup() as group:
            for path in ("/news", "/broken", "/"):
                group.create_task(fetch(path))
    except ExceptionGroup as failed:
        for error in failed.exceptions:
            print(f"  failed: {error}")


asyncio.run(main())
