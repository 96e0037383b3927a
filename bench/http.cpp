// bench/http.cpp — a hello-world HTTP/1.1 keep-alive server on 127.0.0.1:PORT, answering every
// request with the same 13-byte body "hello, world\n". Same workload as
// ../shared/peers/{asio/http.cpp, py/http_*.py, nginx.conf}, loaded with wrk by run.sh.
//   usage: http PORT
// It is lesson 09's aio::http::serve, as a user would write it: no shortcut for the benchmark.
#include <aio/aio.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

aio::coroutine<aio::http::response> hello(aio::http::request) {
    aio::http::response r;
    r.body = "hello, world\n";   // Content-Type: the server's default, text/plain
    co_return r;
}

aio::coroutine<> serve(std::uint16_t port) {
    aio::server server = co_await aio::http::serve(hello, "127.0.0.1", port);
    co_await aio::sleep(std::chrono::hours::max());   // until killed
}

int main(int argc, char** argv) {
    int port = argc > 1 ? std::atoi(argv[1]) : 0;
    if (port <= 0 || port > 65535) {
        std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    aio::run(serve(static_cast<std::uint16_t>(port)));
}
