"""Lesson 13: seeing the loop; the asyncio original of example.cpp.

Three tasks wait on different things: two sleep, one waits for an event. main lists the tasks
(all_tasks, with their names and coroutines), prints the await chain of the one that waits for
the event, sets the event and collects the results. Then a step blocks the loop for 150 ms, and
debug mode reports it.

stdout holds what asyncio and aio print alike. The await chain and debug mode's report go to
stderr, where the two differ in form (asyncio shows source lines, aio the coroutines'
definitions), so they are not compared.
"""
import asyncio
import sys
import time


async def fetch(name: str, delay: float) -> str:
    await asyncio.sleep(delay)
    return f"{name}: done"


async def wait_for_go(go: asyncio.Event) -> str:
    await go.wait()
    return "waiter: got the signal"


async def block_the_loop() -> None:
    time.sleep(0.15)   # a blocking call in a coroutine: every other task waits too


async def amain() -> None:
    go = asyncio.Event()
    a = asyncio.create_task(fetch("fetch-a", 0.05), name="fetch-a")
    b = asyncio.create_task(fetch("fetch-b", 0.10), name="fetch-b")
    w = asyncio.create_task(wait_for_go(go), name="waiter")
    await asyncio.sleep(0)   # let them start

    print("the tasks:")
    for t in sorted(asyncio.all_tasks(), key=lambda t: t.get_name()):
        print(f"  {t.get_name():8} {t.get_coro().__name__:12} {'done' if t.done() else 'pending'}")
    w.print_stack(file=sys.stderr)

    go.set()
    for result in await asyncio.gather(a, b, w):
        print(result)
    print("tasks left:", len(asyncio.all_tasks()), "(main itself)")

    print("a step that blocks the loop for 150 ms (debug mode reports it on stderr)")
    await asyncio.create_task(block_the_loop(), name="blocker")
    print("done")


asyncio.run(amain(), debug=True)
