# Lesson 09's capstone: fetch 100 pages from a local server, concurrently, never more than 10
# connections at a time: 10 workers under one gather share a session and a list of pages.
# Run as `python3 capstone.py URL`; make run starts the server and passes its URL.
import asyncio
import sys

import aiohttp

PAGES = 100
CONNECTIONS = 10


async def worker(session, base, todo, bodies):
    for n in todo:   # one iterator shared by all the workers: each page is taken once
        async with session.get(f"{base}page/{n}") as response:
            if response.status != 200:
                raise RuntimeError(f"page {n}: status {response.status}")
            bodies[n] = await response.text()


async def main():
    base = sys.argv[1]
    bodies = [""] * PAGES
    todo = iter(range(PAGES))
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session, base, todo, bodies) for _ in range(CONNECTIONS)))
    lines = sum(body.count("\n") for body in bodies)
    print(f"fetched {PAGES} pages over {CONNECTIONS} connections: {lines} lines, "
          f"{sum(len(body) for body in bodies)} bytes")
    print(bodies[42], end="")


asyncio.run(main())
