"""Lesson 03: await and asyncio.run; the asyncio original of example.cpp."""
import asyncio


async def add(a: int, b: int) -> int:
    print(f"  add({a}, {b})")
    return a + b


async def parse(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"not a number: {text!r}")
    return int(text)


async def total(texts: list[str]) -> int:
    result = 0
    for text in texts:
        try:
            n = await parse(text)
        except ValueError as e:
            print(f"  skipping, {e}")
            continue
        result = await add(result, n)
    return result


async def one() -> int:
    return 1


async def count(n: int) -> int:
    """n awaits that all finish without suspending: the stack must not grow."""
    s = 0
    for _ in range(n):
        s += await one()
    return s


async def main() -> int:
    print("main: start")
    t = await total(["1", "2", "x", "39"])
    print(f"main: total = {t}")
    print(f"main: {await count(1_000_000)} awaits later, still standing")
    return t


print(f"asyncio.run returned {asyncio.run(main())}")
