// Lesson 01: the event loop with callbacks only — the C++ port of example.py.
//
// A client and an "echo server" talk over a socket pair. Nothing here is a coroutine: the
// loop calls our lambdas when a socket becomes readable, when a timer is due, or soon.
#include <aio/aio.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

std::string receive(int fd) {
    char buf[1024];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, n) : std::string();
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

int main() {
    aio::event_loop loop;
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return 1;
    int client = fds[0], server = fds[1];

    loop.add_reader(server, [&] {
        std::string data = receive(server);
        if (data.empty()) {
            std::printf("server: the client hung up\n");
            loop.remove_reader(server);
            loop.stop();
            return;
        }
        std::printf("server: got '%s', echoing it in upper case\n", data.c_str());
        std::string reply = upper(data);
        ::send(server, reply.data(), reply.size(), 0);
    });
    loop.add_reader(client, [&] { std::printf("client: got '%s'\n", receive(client).c_str()); });

    auto send = [&](std::string text) {
        return [client, text] {
            std::printf("client: sending '%s'\n", text.c_str());
            ::send(client, text.data(), text.size(), 0);
        };
    };
    loop.call_later(20ms, send("ping"));
    loop.call_later(40ms, send("hello"));
    loop.call_later(60ms, [&] {
        std::printf("client: hanging up\n");
        loop.remove_reader(client);   // remove first, close after
        ::close(client);
    });
    aio::timer_handle never =
        loop.call_later(10ms, [] { std::printf("this never prints: the timer is cancelled\n"); });
    never.cancel();
    loop.call_soon([] { std::printf("call_soon: first\n"); });
    loop.call_soon([] { std::printf("call_soon: second\n"); });

    std::printf("running the loop\n");
    loop.run_forever();
    std::printf("the loop stopped\n");
    ::close(server);
}
