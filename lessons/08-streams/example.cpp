// Lesson 08: streams — the C++ port of example.py (an echo server and its clients).
#include <aio/aio.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string without_newline(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

aio::coroutine<> handle_echo(aio::stream conn) {
    for (;;) {
        std::string line = co_await conn.read_line();
        if (line.empty()) break;
        std::printf("server: received '%s', sending it back\n", without_newline(line).c_str());
        co_await conn.write(upper(line));
    }
    std::printf("server: the client closed the connection\n");
    conn.close();
}

aio::coroutine<> client(std::uint16_t port, std::vector<std::string> messages) {
    aio::stream conn = co_await aio::open_connection("127.0.0.1", port);
    for (const std::string& text : messages) {
        std::printf("client: sending '%s'\n", text.c_str());
        co_await conn.write(text + "\n");
        std::string reply = co_await conn.read_line();
        std::printf("client: received '%s'\n", without_newline(reply).c_str());
    }
    conn.close();
}

aio::coroutine<> main_coro() {
    aio::server server = co_await aio::start_server(handle_echo, "127.0.0.1", 0);
    std::uint16_t port = server.port();
    std::printf("server: listening\n");
    std::vector<std::string> messages{"hello", "world"};   // named: g++ 12 cannot take a
    co_await client(port, messages);                        // braced list inside co_await
    co_await aio::sleep(50ms);   // let the handler see the end of the stream
    server.close();
    try {
        co_await aio::open_connection("127.0.0.1", port);
    } catch (const std::system_error& e) {
        if (e.code() == std::errc::connection_refused)
            std::printf("client: the server is closed, connection refused\n");
    }
}

int main() { aio::run(main_coro()); }
