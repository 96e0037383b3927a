# Lesson 09's example: fetch a page with aiohttp's ClientSession (the seed's second program).
# Run as `python3 example.py URL`; make run starts a local server and passes its URL.
import asyncio
import sys

import aiohttp


async def fetch_page(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            print(response.status, response.headers["Content-Type"])
            return await response.text()


async def main():
    base = sys.argv[1]
    page = await fetch_page(base)
    print(page, end="")
    moved = await fetch_page(base + "old")   # a redirect, followed
    print(len(moved) == len(page))
    missing = await fetch_page(base + "nowhere")   # an error status is a response
    print(missing, end="")


asyncio.run(main())
