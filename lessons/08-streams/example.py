"""Lesson 08: streams; the asyncio original of example.cpp (an echo server and its clients)."""
import asyncio


async def handle_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        print(f"server: received {line.decode().rstrip()!r}, sending it back")
        writer.write(line.upper())
        await writer.drain()
    print("server: the client closed the connection")
    writer.close()
    await writer.wait_closed()


async def client(port: int, messages: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for text in messages:
        print(f"client: sending {text!r}")
        writer.write(f"{text}\n".encode())
        await writer.drain()
        reply = await reader.readline()
        print(f"client: received {reply.decode().rstrip()!r}")
    writer.close()
    await writer.wait_closed()


async def main() -> None:
    server = await asyncio.start_server(handle_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print("server: listening")
    await client(port, ["hello", "world"])
    await asyncio.sleep(0.05)  # let the handler see the end of the stream
    server.close()
    await server.wait_closed()
    try:
        await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        print("client: the server is closed, connection refused")


asyncio.run(main())
