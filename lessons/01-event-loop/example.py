"""Lesson 01: the event loop with callbacks only; the asyncio original of example.cpp.

A client and an "echo server" talk over a socket pair. Nothing here is a coroutine: the loop
calls our functions when a socket becomes readable, when a timer is due, or soon.
"""
import asyncio
import socket


def main() -> None:
    loop = asyncio.new_event_loop()
    client, server = socket.socketpair()
    client.setblocking(False)
    server.setblocking(False)

    def on_server_readable() -> None:
        data = server.recv(1024)
        if not data:
            print("server: the client hung up")
            loop.remove_reader(server.fileno())
            loop.stop()
            return
        print(f"server: got {data.decode()!r}, echoing it in upper case")
        server.send(data.upper())

    def on_client_readable() -> None:
        print(f"client: got {client.recv(1024).decode()!r}")

    def send(text: str) -> None:
        print(f"client: sending {text!r}")
        client.send(text.encode())

    def hang_up() -> None:
        print("client: hanging up")
        loop.remove_reader(client.fileno())
        client.close()

    loop.add_reader(server.fileno(), on_server_readable)
    loop.add_reader(client.fileno(), on_client_readable)
    loop.call_later(0.020, send, "ping")
    loop.call_later(0.040, send, "hello")
    loop.call_later(0.060, hang_up)
    never = loop.call_later(0.010, print, "this never prints: the timer is cancelled")
    never.cancel()
    loop.call_soon(print, "call_soon: first")
    loop.call_soon(print, "call_soon: second")

    print("running the loop")
    loop.run_forever()
    print("the loop stopped")
    server.close()
    loop.close()


main()
