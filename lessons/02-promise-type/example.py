"""Lesson 02: driving a coroutine by hand; the Python original of example.cpp.

An event loop drives coroutines with coro.send(None): each call runs the body up to its next
suspension; the end shows up as StopIteration carrying the return value.
"""


class Pause:
    """Awaiting this suspends once: the bare yield hands control back to whoever called send()."""

    def __await__(self):
        yield


async def countdown(name: str, n: int) -> str:
    print(f"{name}: started")
    while n > 0:
        print(f"{name}: {n}")
        n -= 1
        await Pause()
    print(f"{name}: lift-off")
    return f"{name} has flown"


async def broken() -> int:
    print("broken: started")
    await Pause()
    raise ValueError("something went wrong")


def drive(coro):
    """Resume the coroutine until it finishes, and return its result."""
    steps = 0
    while True:
        try:
            coro.send(None)
        except StopIteration as stop:
            print(f"driver: finished after {steps} suspension(s)")
            return stop.value
        steps += 1
        print(f"driver: suspended ({steps})")


rocket = countdown("rocket", 3)
print("driver: created the coroutine; nothing has run yet")
print(f"driver: the result is {drive(rocket)!r}")
try:
    drive(broken())
except ValueError as e:
    print(f"driver: the coroutine raised ValueError: {e}")
never = countdown("never", 1)
never.close()
print("driver: dropped a coroutine that never ran; its frame is gone")
