"""Lesson 04: create_task and gather; the asyncio original of example.cpp."""
import asyncio


async def square(name: str, x: int) -> int:
    print(f"  {name}: computing {x}*{x}")
    return x * x


async def fail(name: str) -> int:
    print(f"  {name}: about to fail")
    raise ValueError(f"{name} failed")


async def wait_for(name: str, other: asyncio.Task) -> int:
    print(f"  {name}: waiting for the other task")
    result = await other
    print(f"  {name}: the other task gave {result}")
    return result + 1


async def main() -> None:
    t1 = asyncio.create_task(square("t1", 3))
    t2 = asyncio.create_task(wait_for("t2", t1))
    print(f"main: created t1 and t2; t1.done() = {t1.done()}")
    print(f"main: t2 gave {await t2}")
    print(f"main: t1.done() = {t1.done()}, t1.result() = {t1.result()}")

    a, b, c = await asyncio.gather(square("a", 4), square("b", 5), t1)
    print(f"main: gather gave {a}, {b}, {c}")

    try:
        await asyncio.gather(square("ok", 6), fail("bad"))
    except ValueError as e:
        print(f"main: gather raised: {e}")

    ok, bad = await asyncio.gather(square("x", 7), fail("y"), return_exceptions=True)
    print(f"main: with return_exceptions: {ok} and the exception '{bad}'")

    t3 = asyncio.create_task(square("t3", 8))
    t3.cancel()
    try:
        await t3
    except asyncio.CancelledError:
        print(f"main: t3 was cancelled before it ran: t3.cancelled() = {t3.cancelled()}")


asyncio.run(main())
