// Lesson 05: sleep — the C++ port of example.py (the course's first example).
#include <aio/aio.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

aio::coroutine<std::string> fetch_data(std::string name, aio::duration how_long) {
    std::printf("%s: start fetching data\n", name.c_str());
    try {
        co_await aio::sleep(how_long);
    } catch (const aio::cancelled_error&) {
        std::printf("%s: cancelled while fetching, cleaning up\n", name.c_str());
        throw;
    }
    std::printf("%s: data fetched\n", name.c_str());
    co_return "data from " + name;
}

// Whole seconds since `start`, rounded as Python's round() does for these values.
long seconds_since(aio::time_point start) {
    std::chrono::duration<double> elapsed = aio::get_running_loop().time() - start;
    return std::lround(elapsed.count());
}

aio::coroutine<> main_coro() {
    aio::time_point start = aio::get_running_loop().time();

    aio::task<std::string> task = aio::create_task(fetch_data("first", 2s));
    std::printf("main: doing other work while it fetches\n");
    co_await aio::sleep(0s);
    std::printf("main: yielded once; the task has started\n");
    std::string data = co_await task;
    std::printf("main: got '%s' after %ld s\n", data.c_str(), seconds_since(start));

    auto [a, b] = co_await aio::gather(fetch_data("a", 200ms), fetch_data("b", 100ms));
    std::printf("main: gathered '%s' and '%s'\n", a.c_str(), b.c_str());

    aio::task<std::string> slow = aio::create_task(fetch_data("slow", 1h));
    co_await aio::sleep(100ms);
    slow.cancel();
    try {
        co_await slow;
    } catch (const aio::cancelled_error&) {
        std::printf("main: the slow fetch was cancelled; %ld s in all\n", seconds_since(start));
    }
}

int main() { aio::run(main_coro()); }
