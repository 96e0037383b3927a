// Lesson 06: async generators — the C++ port of example.py.
#include <aio/aio.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

// Yields 0, 1, ... n-1, one every `period`.
aio::async_generator<int> ticker(int n, aio::duration period) {
    for (int i = 0; i < n; ++i) {
        co_await aio::sleep(period);
        co_yield i;
    }
}

const std::map<int, std::vector<std::string>> pages = {
    {1, {"apple", "banana"}}, {2, {"cherry", "date"}}, {3, {"elderberry"}}};

struct page {
    std::vector<std::string> items;
    int next;   // 0: no next page
};

// Pretends to fetch one page of results from a server.
aio::coroutine<page> fetch_page(int number) {
    co_await aio::sleep(10ms);
    std::printf("  (fetched page %d)\n", number);
    co_return page{pages.at(number), pages.count(number + 1) ? number + 1 : 0};
}

// Python's `finally:` — a destructor runs however the body ends: at its end, when aclose()
// throws generator_exit at the co_yield, or when the generator is destroyed.
struct say_cleaned_up {
    ~say_cleaned_up() { std::printf("  all_items: cleaned up\n"); }
};

// Yields every item of every page, fetching a page only when the consumer needs it.
aio::async_generator<std::string> all_items() {
    say_cleaned_up finally;
    int number = 1;
    while (number != 0) {
        page p = co_await fetch_page(number);
        number = p.next;
        for (std::string& item : p.items) co_yield std::move(item);
    }
}

aio::coroutine<> main_coro() {
    aio::async_generator<int> ticks = ticker(3, 20ms);
    while (auto tick = co_await ticks.next()) std::printf("tick %d\n", *tick);

    std::printf("every item:\n");
    aio::async_generator<std::string> every = all_items();
    while (auto item = co_await every.next()) std::printf("  %s\n", item->c_str());

    std::printf("only until 'cherry':\n");
    aio::async_generator<std::string> items = all_items();
    while (auto item = co_await items.next()) {
        std::printf("  %s\n", item->c_str());
        if (*item == "cherry") break;
    }
    co_await items.aclose();
    std::printf("done\n");
}

int main() { aio::run(main_coro()); }
