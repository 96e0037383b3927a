// Lesson 09's local web site, on aio::http::serve: the server that example.cpp and example.py
// (aiohttp), capstone.cpp and capstone.py fetch from. `make run LESSON=09` and `make test` start
// it, read the port it prints, and stop it by its PID when the programs are done.
//
//     /          a small HTML page
//     /old       a redirect (302) to /
//     /page/N    page N (0 <= N < 1000): N % 7 + 1 lines of text
//     anything else: 404
#include <aio/aio.hpp>

#include <chrono>
#include <iostream>
#include <string>

aio::coroutine<aio::http::response> site(aio::http::request request) {
    aio::http::response page;
    const std::string path = request.path();
    const std::string number = path.rfind("/page/", 0) == 0 ? path.substr(6) : "";
    if (path == "/") {
        page.headers.add("Content-Type", "text/html");
        page.body = "<!doctype html>\n<title>aio</title>\n<h1>Hello from a local server</h1>\n";
    } else if (path == "/old") {
        page.status = 302;
        page.headers.add("Location", "/");
    } else if (!number.empty() && number.size() <= 3 && number.find_first_not_of("0123456789") == std::string::npos) {
        const int n = std::stoi(number);
        page.headers.add("Content-Type", "text/plain");
        for (int line = 0; line <= n % 7; ++line)
            page.body += "page " + std::to_string(n) + ", line " + std::to_string(line) + "\n";
    } else {
        page.status = 404;
        page.headers.add("Content-Type", "text/plain");
        page.body = "not found\n";
    }
    co_return page;
}

aio::coroutine<> serve_until_killed() {
    aio::server server = co_await aio::http::serve(site, "127.0.0.1", 0);   // any free port
    std::cout << server.port() << std::endl;   // the first line: the port (flushed now)
    co_await aio::sleep(std::chrono::hours(24 * 365));
}

int main() { aio::run(serve_until_killed()); }
