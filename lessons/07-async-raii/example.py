"""Lesson 07: async context managers; the asyncio original of example.cpp."""
import asyncio
from contextlib import AsyncExitStack, asynccontextmanager


class Connection:
    """A pretend network connection whose close needs a round trip."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def __aenter__(self) -> "Connection":
        await asyncio.sleep(0.01)
        print(f"{self.name}: connected")
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        await asyncio.sleep(0.01)  # say goodbye to the server
        print(f"{self.name}: closed {'after ' + repr(str(exc)) if exc else 'cleanly'}")
        return False


@asynccontextmanager
async def transaction(name: str):
    print(f"{name}: begin")
    try:
        yield name
    except ValueError as e:
        print(f"{name}: rollback, because {e}")
        raise
    await asyncio.sleep(0.01)
    print(f"{name}: commit")


async def say(text: str) -> None:
    print(text)


async def main() -> None:
    async with Connection("db") as conn:
        print(f"using {conn.name}")

    try:
        async with Connection("cache"):
            raise ValueError("lost the key")
    except ValueError as e:
        print(f"main: caught {e}")

    async with transaction("t1") as t:
        print(f"{t}: insert a row")
    try:
        async with transaction("t2"):
            raise ValueError("constraint violated")
    except ValueError:
        print("main: t2 failed")

    async with AsyncExitStack() as stack:
        servers = [Connection(f"server{i}") for i in range(3)]
        for server in servers:
            await stack.enter_async_context(server)
        stack.push_async_callback(say, "the stack says goodbye first: last in, first out")
        print(f"talking to {len(servers)} servers")
    print("done")


asyncio.run(main())
