"""Lesson 06: async generators; the asyncio original of example.cpp."""
import asyncio


async def ticker(n: int, period: float):
    """Yields 0, 1, ... n-1, one every `period` seconds."""
    for i in range(n):
        await asyncio.sleep(period)
        yield i


PAGES = {1: ["apple", "banana"], 2: ["cherry", "date"], 3: ["elderberry"]}


async def fetch_page(number: int) -> tuple[list[str], int]:
    """Pretends to fetch one page of results from a server; 0 means no next page."""
    await asyncio.sleep(0.01)
    print(f"  (fetched page {number})")
    return PAGES[number], number + 1 if number + 1 in PAGES else 0


async def all_items():
    """Yields every item of every page, fetching a page only when the consumer needs it."""
    page = 1
    try:
        while page != 0:
            items, page = await fetch_page(page)
            for item in items:
                yield item
    finally:
        print("  all_items: cleaned up")


async def main() -> None:
    async for tick in ticker(3, 0.02):
        print(f"tick {tick}")

    print("every item:")
    async for item in all_items():
        print(f"  {item}")

    print("only until 'cherry':")
    items = all_items()
    async for item in items:
        print(f"  {item}")
        if item == "cherry":
            break
    await items.aclose()
    print("done")


asyncio.run(main())
