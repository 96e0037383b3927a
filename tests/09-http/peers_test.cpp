// Lesson 09 against real peers, each started by its test and stopped by PID: python3's
// http.server and nginx serving our client; curl and aiohttp's client talking to our server.
// Loopback only. The peers are Debian packages that `make deps` installs (python3, nginx-light,
// curl, python3-aiohttp): a missing one fails the test, with its name.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/no_leaks.hpp"
#include "support/process.hpp"

#include <string>

using namespace std::chrono_literals;

namespace {

// 1 MiB of bytes that are not all alike: a body read in many pieces must come back in order.
std::string big_body() {
    std::string s(1 << 20, '\0');
    std::uint32_t x = 12345;
    for (char& c : s) c = static_cast<char>((x = x * 1103515245 + 12345) >> 24);
    return s;
}

std::string base(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port) + "/"; }

aio::coroutine<aio::http::response> greet(aio::http::request r) {
    aio::http::response out;
    out.body = "hello " + r.method + " " + r.target + " [" + r.body + "]\n";
    co_return out;
}

} // namespace

TEST_CASE("peers: python3's http.server serves files and redirects to client_session") {
    no_leaks check;
    temp_dir site;
    site.write("hello.txt", "hello from http.server\n");
    site.write("big.bin", big_body());
    site.write("sub/inner.txt", "inner\n");
    const std::uint16_t port = free_port();
    child_process server({"python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1",
                          "--directory", site.path.string()},
                         (site.path / "server.log").string());
    wait_for_port(port, server, "python3 -m http.server");
    auto main = [](std::string base) -> aio::coroutine<> {
        aio::http::client_session session;
        aio::http::response hello = co_await session.get(base + "hello.txt");
        CHECK(hello.status == 200);
        CHECK(hello.body == "hello from http.server\n");
        CHECK(hello.headers.get("Server").find("SimpleHTTP") != std::string::npos);
        aio::http::response big = co_await session.get(base + "big.bin");
        CHECK(big.body == big_body());
        aio::http::response dir = co_await session.get(base + "sub");   // 301 to /sub/
        CHECK(dir.status == 200);
        CHECK(dir.url == base + "sub/");
        CHECK(dir.body.find("inner.txt") != std::string::npos);
        aio::http::response missing = co_await session.get(base + "nothing");
        CHECK(missing.status == 404);
    };
    aio::run(main(base(port)));
}

TEST_CASE("peers: nginx serves our client, one kept-alive connection for many requests") {
    no_leaks check;
    temp_dir site;
    site.write("www/index.html", "<h1>nginx</h1>\n");
    site.write("www/big.bin", big_body());
    const std::uint16_t port = free_port();
    const std::string conf = site.write("nginx.conf",
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid " + (site.path / "nginx.pid").string() + ";\n"
        "error_log " + (site.path / "error.log").string() + ";\nevents { worker_connections 64; }\n"
        "http {\n  access_log off;\n  client_body_temp_path " + site.path.string() + ";\n"
        "  proxy_temp_path " + site.path.string() + ";\n  fastcgi_temp_path " + site.path.string() + ";\n"
        "  uwsgi_temp_path " + site.path.string() + ";\n  scgi_temp_path " + site.path.string() + ";\n"
        "  server {\n    listen 127.0.0.1:" + std::to_string(port) + ";\n    root " + (site.path / "www").string() + ";\n"
        "    location = /moved { return 301 /index.html; }\n  }\n}\n");
    child_process nginx({"/usr/sbin/nginx", "-c", conf, "-p", site.path.string()}, (site.path / "nginx.out").string());
    wait_for_port(port, nginx, "nginx");
    auto main = [](std::string base) -> aio::coroutine<> {
        aio::http::client_session session;
        for (int i = 0; i < 3; ++i) {
            aio::http::response index = co_await session.get(base + "index.html");
            CHECK(index.status == 200);
            CHECK(index.body == "<h1>nginx</h1>\n");
            CHECK(index.headers.get("Server").find("nginx") != std::string::npos);
        }
        CHECK(session.idle_connections() == 1);
        aio::http::response big = co_await session.get(base + "big.bin");
        CHECK(big.body == big_body());
        aio::http::response moved = co_await session.get(base + "moved");
        CHECK(moved.url == base + "index.html");
        CHECK(moved.body == "<h1>nginx</h1>\n");
        aio::http::response missing = co_await session.get(base + "missing");
        CHECK(missing.status == 404);
        CHECK(missing.body.find("404 Not Found") != std::string::npos);   // nginx's own error page
        CHECK(session.idle_connections() == 1);
    };
    aio::run(main(base(port)));
}

TEST_CASE("peers: curl talks to our server, keep-alive, POST and HEAD included") {
    no_leaks check;
    temp_dir scratch;
    const std::string out = (scratch.path / "curl.out").string();
    auto main = [](std::string out) -> aio::coroutine<int> {
        aio::server server = co_await aio::http::serve(greet, "127.0.0.1", 0);
        const std::string url = base(server.port());
        // Two URLs on one command line: curl reuses the connection and says so with -v.
        child_process curl({"curl", "-sS", "-v", "--http1.1", "--max-time", "20", url + "one", url + "two",
                            "--next", "-sS", "--data-binary", "posted", url + "form",
                            "--next", "-sS", "-I", url + "head"}, out);
        co_return co_await exit_of(curl);
    };
    CHECK(aio::run(main(out)) == 0);
    const std::string said = read_file(out);
    CHECK(said.find("hello GET /one []") != std::string::npos);
    CHECK(said.find("hello GET /two []") != std::string::npos);
    CHECK(said.find("Re-using existing connection") != std::string::npos);
    CHECK(said.find("hello POST /form [posted]") != std::string::npos);
    CHECK(said.find("HTTP/1.1 200 OK") != std::string::npos);
    CHECK(said.find("Content-Length: 20") != std::string::npos);   // HEAD: the length, no body
    CHECK(said.find("hello HEAD") == std::string::npos);
}

TEST_CASE("peers: aiohttp's client talks to our server") {
    no_leaks check;
    temp_dir scratch;
    const std::string script = scratch.write("client.py",
        "import asyncio, sys\nimport aiohttp\n"
        "async def main(base):\n"
        "    async with aiohttp.ClientSession() as s:\n"
        "        for path in ('a', 'b'):\n"
        "            async with s.get(base + path) as r:\n"
        "                print(r.status, r.headers['Content-Type'], await r.text(), end='')\n"
        "        async with s.post(base + 'p', data=b'x' * 100000) as r:\n"
        "            print(r.status, len(await r.text()))\n"
        "asyncio.run(main(sys.argv[1]))\n");
    const std::string out = (scratch.path / "aiohttp.out").string();
    auto main = [](std::string script, std::string out) -> aio::coroutine<int> {
        aio::server server = co_await aio::http::serve(greet, "127.0.0.1", 0);
        child_process client({"/usr/bin/python3", script, base(server.port())}, out);
        co_return co_await exit_of(client);
    };
    CHECK(aio::run(main(script, out)) == 0);
    CHECK(read_file(out) ==
          "200 text/plain; charset=utf-8 hello GET /a []\n"
          "200 text/plain; charset=utf-8 hello GET /b []\n"
          "200 100017\n");
}
