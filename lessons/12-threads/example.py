"""Lesson 12: threads for what would block the loop; the asyncio original of example.cpp.

A ticker task stands for the rest of a program (a server's other clients): it wants to run every
10 ms. Beside it: a blocking CPU function, called on the loop and then on a thread; a function on
a thread that reports its progress to the loop; files written and read, each call on a thread; a
missing file; and a thread call that wait_for gives up on, whose thread runs on to its end.

The output says whether the ticker ran while something waited, never how often: that depends on
the machine, and the output must not. (aiofiles is not used: its calls are open() and read() on a
thread, as here.)
"""
import asyncio
import os
import tempfile
import threading


def count_primes(low: int, high: int) -> int:
    """Blocking CPU work: how many primes there are in [low, high), by trial division."""
    count = 0
    for n in range(max(low, 2), high):
        d = 2
        while d * d <= n and n % d != 0:
            d += 1
        if d * d > n:
            count += 1
    return count


async def tick(ticks: list[int]) -> None:
    """The rest of the program: a task that wants to run every 10 ms."""
    while True:
        ticks[0] += 1
        await asyncio.sleep(0.01)


async def while_ticking(work):
    """Awaits `work` with the ticker running beside it: its result, and whether the ticker ran."""
    ticks = [0]
    ticker = asyncio.create_task(tick(ticks))
    result = await work
    ticker.cancel()
    try:
        await ticker
    except asyncio.CancelledError:
        pass
    return result, ticks[0] > 0


def ticker_line(ticked: bool) -> str:
    return "  meanwhile the ticker " + ("ticked" if ticked else "never ran")


async def on_the_loop(low: int, high: int) -> int:
    return count_primes(low, high)   # no await: nothing else runs until it returns


def count_in_parts(loop: asyncio.AbstractEventLoop, parts: int, size: int) -> int:
    """On a thread: counts part after part, and tells the loop after each one."""
    total = 0
    for part in range(parts):
        found = count_primes(part * size, (part + 1) * size)
        total += found
        loop.call_soon_threadsafe(print, f"  part {part + 1} of {parts}: {found} primes")
    return total


def write_text(path: str, text: str) -> int:
    with open(path, "w") as f:
        return f.write(text)


def read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


async def main() -> None:
    print("a blocking call on the loop")
    found, ticked = await while_ticking(on_the_loop(0, 50_000))
    print(f"  {found} primes below 50000")
    print(ticker_line(ticked))

    print("the same call on a thread (to_thread)")
    found, ticked = await while_ticking(asyncio.to_thread(count_primes, 0, 50_000))
    print(f"  {found} primes below 50000")
    print(ticker_line(ticked))

    print("a thread that reports back (call_soon_threadsafe)")
    loop = asyncio.get_running_loop()
    total = await loop.run_in_executor(None, count_in_parts, loop, 3, 20_000)
    print(f"  {total} primes below 60000")

    with tempfile.TemporaryDirectory(prefix="aio-lesson12-") as folder:
        names = ["alpha.txt", "beta.txt", "gamma.txt"]
        print("files, each call on a thread: three written at once")

        async def write_all() -> list[int]:
            return await asyncio.gather(*(
                asyncio.to_thread(write_text, os.path.join(folder, name), f"this is {name}\n" * (1000 * (i + 1)))
                for i, name in enumerate(names)))

        sizes, ticked = await while_ticking(write_all())
        for name, size in zip(names, sizes):
            print(f"  {name}: {size} bytes written")
        print(ticker_line(ticked))
        for name in names:
            text = await asyncio.to_thread(read_text, os.path.join(folder, name))
            lines = text.splitlines()
            print(f"  {name}: {len(lines)} lines, the first: {lines[0]}")
        try:
            await asyncio.to_thread(read_text, os.path.join(folder, "missing.txt"))
        except FileNotFoundError:
            print("  missing.txt: no such file (raised at the await)")

    print("wait_for: a thread call given up after 0.1 s")
    gate, finished = threading.Event(), threading.Event()

    def stuck() -> str:
        gate.wait()   # its thread blocks until main opens the gate
        finished.set()
        return "an answer nobody will take"

    try:
        await asyncio.wait_for(asyncio.to_thread(stuck), 0.1)
    except TimeoutError:
        print("  gave up: the await is cancelled, the thread is not")
    gate.set()
    await asyncio.to_thread(finished.wait)
    print("  the thread ran to its end anyway; its answer was dropped")


asyncio.run(main())
