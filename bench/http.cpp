// bench/http.cpp — a hello-world HTTP/1.1 keep-alive server on 127.0.0.1:PORT, answering every
// request with the same 13-byte body "hello, world\n". Same workload as
// ../shared/peers/{asio/http.cpp, py/http_*.py, nginx.conf}, loaded with wrk by run.sh.
//   usage: http PORT
// Built on lesson 08's streams; lesson 09's HTTP server will take its place.
#include <aio/aio.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

aio::coroutine<> serve_connection(aio::stream conn) {
    static const std::string reply =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n";
    try {
        for (;;) {
            for (;;) {   // a request: lines up to an empty one (wrk sends no body)
                std::string line = co_await conn.read_line();
                if (line.empty()) co_return;   // the client closed the connection
                if (line == "\r\n" || line == "\n") break;
            }
            co_await conn.write(reply);
        }
    } catch (const std::system_error&) {
        // reset by the client when wrk stops: nothing to report
    }
}

aio::coroutine<> serve(std::uint16_t port) {
    aio::server server = co_await aio::start_server(serve_connection, "127.0.0.1", port);
    co_await aio::sleep(std::chrono::hours::max());   // until killed
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    aio::run(serve(static_cast<std::uint16_t>(std::atoi(argv[1]))));
}
