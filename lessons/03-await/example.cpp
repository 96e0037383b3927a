// Lesson 03: await and aio::run — the C++ port of example.py.
#include <aio/aio.hpp>

#include <cctype>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

aio::coroutine<int> add(int a, int b) {
    std::printf("  add(%d, %d)\n", a, b);
    co_return a + b;
}

aio::coroutine<int> parse(std::string text) {
    for (char c : text)
        if (!std::isdigit(static_cast<unsigned char>(c)))
            throw std::invalid_argument("not a number: '" + text + "'");
    co_return std::stoi(text);
}

aio::coroutine<int> total(std::vector<std::string> texts) {
    int result = 0;
    for (const std::string& text : texts) {
        int n = 0;
        try {
            n = co_await parse(text);
        } catch (const std::invalid_argument& e) {
            std::printf("  skipping, %s\n", e.what());
            continue;
        }
        result = co_await add(result, n);
    }
    co_return result;
}

aio::coroutine<int> one() { co_return 1; }

// n awaits that all finish without suspending: the stack must not grow.
aio::coroutine<int> count(int n) {
    int s = 0;
    for (int i = 0; i < n; ++i) {
        int v = co_await one();
        s += v;
    }
    co_return s;
}

aio::coroutine<int> main_coro() {
    std::printf("main: start\n");
    std::vector<std::string> texts{"1", "2", "x", "39"};
    int t = co_await total(texts);
    std::printf("main: total = %d\n", t);
    int n = co_await count(1'000'000);
    std::printf("main: %d awaits later, still standing\n", n);
    co_return t;
}

int main() { std::printf("asyncio.run returned %d\n", aio::run(main_coro())); }
