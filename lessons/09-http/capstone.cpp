// Lesson 09's capstone: fetch 100 pages from a local server, concurrently, never more than 10
// connections at a time: 10 workers under one gather share a session and a list of pages.
// (capstone.py is the same program with aiohttp.) Run as `capstone URL`.
#include <aio/aio.hpp>

#include <algorithm>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

constexpr int pages = 100;
constexpr int connections = 10;

// Each worker makes one request at a time, so it needs one connection, kept alive and reused
// for every page it takes: 10 workers, at most 10 connections.
aio::coroutine<> worker(aio::http::client_session& session, std::string base, int& next,
                        std::vector<std::string>& bodies) {
    while (next < pages) {
        int n = next++;   // no await between the test and the take: no other worker can interleave
        aio::http::response response = co_await session.get(base + "page/" + std::to_string(n));
        if (response.status != 200)
            throw std::runtime_error("page " + std::to_string(n) + ": status " + std::to_string(response.status));
        bodies[n] = std::move(response.body);
    }
}

aio::coroutine<> main_coro(std::string base) {
    std::vector<std::string> bodies(pages);
    int next = 0;
    aio::http::client_session session;
    std::vector<aio::coroutine<>> workers;
    for (int i = 0; i < connections; ++i) workers.push_back(worker(session, base, next, bodies));
    co_await aio::gather(std::move(workers));
    std::size_t lines = 0, bytes = 0;
    for (const std::string& body : bodies) {
        lines += std::count(body.begin(), body.end(), '\n');
        bytes += body.size();
    }
    std::cout << "fetched " << pages << " pages over " << connections << " connections: " << lines
              << " lines, " << bytes << " bytes\n";
    std::cout << bodies[42];
    if (session.idle_connections() > connections) throw std::logic_error("more connections than workers");
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " URL   (make run LESSON=09 starts a server for it)\n";
        return 2;
    }
    aio::run(main_coro(argv[1]));
}
