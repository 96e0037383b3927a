"""Lesson 10: coordination; the asyncio original of example.cpp.

A crawler's skeleton: a producer puts URLs into a bounded queue, three workers take them out and
"fetch" them (a sleep as long as the page's number says: nothing goes over the network), and the
producer waits whenever the queue is full. Then the same downloads once more, all started at
once, with a semaphore that lets two run at a time.
"""
import asyncio

PAGES = 8
WORKERS = 3
MAXSIZE = 2


def page_of(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def fetch_time(url: str) -> float:
    """How long the pretend download of a page takes: 100, 400 or 700 ms, by its number."""
    return (page_of(url) % 3 * 3 + 1) * 0.100


async def fetch(url: str) -> int:
    await asyncio.sleep(fetch_time(url))
    return 100 * page_of(url)   # the length of the body we pretend to have read


async def worker(name: str, queue: asyncio.Queue) -> None:
    while True:
        try:
            url = await queue.get()
        except asyncio.CancelledError:
            print(f"{name}: cancelled while waiting for work")
            raise
        print(f"{name}: fetching {url}")
        size = await fetch(url)
        print(f"{name}: page/{page_of(url)} done, {size} bytes")
        queue.task_done()


async def producer(queue: asyncio.Queue) -> None:
    for n in range(1, PAGES + 1):
        url = f"https://example.com/page/{n}"
        if queue.full():
            print(f"producer: queue full, page/{n} waits")
        await queue.put(url)
        print(f"producer: put page/{n} ({queue.qsize()} in the queue)")


async def limited_fetch(url: str, slots: asyncio.Semaphore) -> int:
    async with slots:
        print(f"start {url} ({'no slot left' if slots.locked() else 'a slot left'})")
        size = await fetch(url)
        print(f"done  {url}")
        return size


async def main() -> None:
    queue = asyncio.Queue(maxsize=MAXSIZE)
    workers = [asyncio.create_task(worker(f"worker-{i}", queue)) for i in range(1, WORKERS + 1)]
    await producer(queue)
    print("main: all pages put; waiting for join()")
    await queue.join()
    print("main: every page is done; cancelling the idle workers")
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)

    slots = asyncio.Semaphore(2)
    urls = [f"https://example.com/page/{n}" for n in range(1, 6)]
    sizes = await asyncio.gather(*(limited_fetch(url, slots) for url in urls))
    print(f"main: {sum(sizes)} bytes, never more than 2 downloads at a time")


asyncio.run(main())
