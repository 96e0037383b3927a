// Lesson 09's example: fetch a page with a client session (example.py is the aiohttp original).
// Run as `example URL`; make run starts a local server and passes its URL.
#include <aio/aio.hpp>

#include <iostream>
#include <string>

aio::coroutine<std::string> fetch_page(std::string url) {
    aio::http::client_session session;                          // async with ClientSession() as session:
    aio::http::response response = co_await session.get(url);   //     async with session.get(url) as response:
    std::cout << response.status << " " << response.headers.get("Content-Type") << "\n";
    co_return response.body;                                    //         return await response.text()
}

aio::coroutine<> main_coro(std::string base) {
    std::string page = co_await fetch_page(base);
    std::cout << page;
    std::string moved = co_await fetch_page(base + "old");      // a redirect, followed
    std::cout << (moved.size() == page.size() ? "True" : "False") << "\n";
    std::string missing = co_await fetch_page(base + "nowhere");   // an error status is a response
    std::cout << missing;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " URL   (make run LESSON=09 starts a server for it)\n";
        return 2;
    }
    aio::run(main_coro(argv[1]));
}
