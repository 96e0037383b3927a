// Lesson 06 — async generators: co_yield and co_await in one body, next(), aclose().
//
// Holes: yield_value, next.
// Test names start with the hole they pin, or a topic. What the tests of each need besides
// it (`make check` shows a test waiting for a hole that does not work rather than failing;
// `make test` checks this table against the exercise):
//   yield_value needs next.
//   next needs yield_value.
//   aclose needs yield_value, next.
//   async_generator needs yield_value, next.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/capture_stderr.hpp"
#include "support/cpython.hpp"
#include "support/counted.hpp"
#include "support/no_leaks.hpp"
#include "support/printing.hpp"
#include "support/trace.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using log_t = aio_test::log_t;   // a vector of strings that also goes into make check's trace
constexpr aio::clock_mode virtual_time = aio::clock_mode::virtual_time;

aio::async_generator<int> count_to(int n, log_t* log) {
    log->push_back("body starts");
    for (int i = 1; i <= n; ++i) co_yield i;
    log->push_back("body ends");
}

aio::async_generator<int> ticker(int n, aio::duration period) {
    for (int i = 0; i < n; ++i) {
        co_await aio::sleep(period);
        co_yield i;
    }
}

aio::async_generator<int> fails_after(int n) {
    for (int i = 0; i < n; ++i) co_yield i;
    throw std::runtime_error("source broke");
}

// Holds a counted object and logs how it ends: normally, closed, or destroyed.
aio::async_generator<int> with_cleanup(log_t* log) {
    counted held(1);
    try {
        for (int i = 0;; ++i) co_yield i;
    } catch (const aio::generator_exit&) {
        log->push_back("generator_exit at the yield");
        throw;
    }
}

template <typename T>
aio::coroutine<std::vector<T>> collect(aio::async_generator<T> gen) {
    std::vector<T> out;
    while (auto v = co_await gen.next()) out.push_back(*v);
    co_return out;
}

aio::async_generator<int> squares(aio::async_generator<int> source) {
    while (auto v = co_await source.next()) co_yield *v * *v;
}

aio::async_generator<int> only_even(aio::async_generator<int> source) {
    while (auto v = co_await source.next())
        if (*v % 2 == 0) co_yield *v;
}

aio::async_generator<int> numbers(int n) {
    for (int i = 1; i <= n; ++i) co_yield i;
}

} // namespace

TEST_CASE("yield_value: values come out in order, then empty optionals for ever") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        auto gen = count_to(3, log);
        std::string seen;
        while (auto v = co_await gen.next()) seen += std::to_string(*v) + " ";
        auto after = co_await gen.next();
        auto again = co_await gen.next();
        seen += after.has_value() || again.has_value() ? "more" : "end";
        co_return seen;
    };
    CHECK(aio::run(main(&log)) == "1 2 3 end");
    CHECK(log == log_t{"body starts", "body ends"});
}

TEST_CASE("next: the body is lazy: it starts at the first next()") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::size_t> {
        auto gen = count_to(1, log);
        std::size_t before = log->size();
        co_await gen.next();
        co_return before;
    };
    CHECK(aio::run(main(&log)) == 0);
    REQUIRE_FALSE(log.empty());
    CHECK(log.front() == "body starts");
}

TEST_CASE("next: a generator may await between items (virtual clock)") {
    no_leaks check;
    auto main = []() -> aio::coroutine<std::vector<long>> {
        aio::time_point start = aio::get_running_loop().time();
        std::vector<long> at;
        auto gen = ticker(3, 100ms);
        while (auto v = co_await gen.next()) at.push_back((aio::get_running_loop().time() - start) / 1ms);
        co_return at;
    };
    CHECK(aio::run(main(), virtual_time) == std::vector<long>{100, 200, 300});
}

TEST_CASE("next: an exception thrown in the body comes out of next(), once") {
    no_leaks check;
    auto main = []() -> aio::coroutine<std::string> {
        auto gen = fails_after(2);
        std::string seen;
        try {
            while (auto v = co_await gen.next()) seen += std::to_string(*v) + " ";
        } catch (const std::runtime_error& e) {
            seen += e.what();
        }
        auto after = co_await gen.next();
        seen += after ? " more" : " then the end";
        co_return seen;
    };
    CHECK(aio::run(main()) == "0 1 source broke then the end");
}

TEST_CASE("next: 1,000,000 values that need no suspension keep the stack flat") {
    no_leaks check;
    auto main = []() -> aio::coroutine<long> {
        auto gen = numbers(1'000'000);
        long sum = 0;
        while (auto v = co_await gen.next()) sum += *v;
        co_return sum;
    };
    CHECK(aio::run(main()) == 1'000'000L * 1'000'001L / 2);
}

TEST_CASE("next: a second next() while one is pending is an error") {
    no_leaks check;
    auto main = []() -> aio::coroutine<std::string> {
        auto gen = ticker(2, 1s);
        aio::task<std::optional<int>> first = aio::create_task([](aio::async_generator<int>* g) -> aio::coroutine<std::optional<int>> {
            auto v = co_await g->next();
            co_return v;
        }(&gen));
        co_await aio::sleep(0s);   // the first next() is now waiting in the body's sleep
        std::string seen;
        try {
            co_await gen.next();
        } catch (const std::logic_error&) {
            seen = "already running";
        }
        std::optional<int> v = co_await first;
        co_return seen + ", first got " + std::to_string(v.value_or(-1));
    };
    CHECK(aio::run(main(), virtual_time) == "already running, first got 0");
}

TEST_CASE("next: one generator consumed by two tasks in turn") {
    no_leaks check;
    auto take = [](aio::async_generator<int>* g, int n) -> aio::coroutine<std::vector<int>> {
        std::vector<int> got;
        for (int i = 0; i < n; ++i)
            if (auto v = co_await g->next()) got.push_back(*v);
        co_return got;
    };
    auto main = [](decltype(take) tk) -> aio::coroutine<std::string> {
        auto gen = ticker(5, 10ms);
        std::vector<int> a = co_await aio::create_task(tk(&gen, 2));
        std::vector<int> b = co_await aio::create_task(tk(&gen, 3));
        co_return std::to_string(a.size()) + std::to_string(a.back()) + " " + std::to_string(b.front()) +
            std::to_string(b.back());
    };
    CHECK(aio::run(main(take), virtual_time) == "21 24");
}

TEST_CASE("async_generator: a pipeline of three generators (source -> map -> filter)") {
    no_leaks check;
    auto main = []() -> aio::coroutine<std::vector<int>> {
        std::vector<int> out = co_await collect(only_even(squares(numbers(6))));
        co_return out;
    };
    CHECK(aio::run(main()) == std::vector<int>{4, 16, 36});
}

TEST_CASE("aclose: breaking out early and closing runs the body's cleanup") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        auto gen = with_cleanup(log);
        int last = -1;
        while (auto v = co_await gen.next()) {
            last = *v;
            if (last == 2) break;
        }
        co_await gen.aclose();
        auto after = co_await gen.next();
        co_return std::to_string(last) + (after ? " more" : " closed");
    };
    CHECK(aio::run(main(&log)) == "2 closed");
    CHECK(log == log_t{"generator_exit at the yield"});
}

TEST_CASE("aclose: the body may await after catching generator_exit, then finish") {
    no_leaks check;
    log_t log;
    auto polite = [](log_t* log) -> aio::async_generator<int> {
        bool closing = false;
        try {
            co_yield 1;
        } catch (const aio::generator_exit&) {
            closing = true;   // no co_await inside a handler: note it, act after
        }
        if (closing) {
            co_await aio::sleep(50ms);   // an asynchronous goodbye
            log->push_back("said goodbye");
        }
    };
    auto main = [](decltype(polite) p, log_t* log) -> aio::coroutine<long> {
        aio::time_point start = aio::get_running_loop().time();
        auto gen = p(log);
        co_await gen.next();
        co_await gen.aclose();
        co_return (aio::get_running_loop().time() - start) / 1ms;
    };
    CHECK(aio::run(main(polite, &log), virtual_time) == 50);
    CHECK(log == log_t{"said goodbye"});
}

TEST_CASE("aclose: a generator that yields again instead of stopping is an error") {
    no_leaks check;
    auto stubborn = []() -> aio::async_generator<int> {
        for (;;) {
            try {
                co_yield 1;
            } catch (const aio::generator_exit&) {
            }
        }
    };
    auto main = [](decltype(stubborn) s) -> aio::coroutine<std::string> {
        auto gen = s();
        co_await gen.next();
        bool error = false;
        try {
            co_await gen.aclose();
        } catch (const std::runtime_error&) {
            error = true;
        }
        auto after = co_await gen.next();
        co_return std::string(error ? "error" : "no error") + (after ? ", not closed" : ", and closed");
    };
    CHECK(aio::run(main(stubborn)) == "error, and closed");
}

TEST_CASE("aclose: closing a generator that never started, or that ended, is a no-op") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<bool> {
        auto never = count_to(3, log);
        co_await never.aclose();   // its body never runs
        auto ended = count_to(0, log);
        co_await ended.next();
        co_await ended.aclose();
        auto v = co_await never.next();
        co_return v.has_value();
    };
    CHECK(aio::run(main(&log)) == false);
    CHECK(log == log_t{"body starts", "body ends"});   // only `ended` ran
}

TEST_CASE("aclose: destroying an unfinished generator frees its frame and what it holds") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<int> {
        int alive_inside = 0;
        {
            auto gen = with_cleanup(log);
            co_await gen.next();
            alive_inside = counted::alive;
        }   // destroyed at its co_yield: destructors run, no generator_exit (nothing can await)
        co_return alive_inside;
    };
    CHECK(aio::run(main(&log)) >= 1);
    CHECK(log.empty());
}

TEST_CASE("async_generator: cancelling the consumer cancels the await inside the body") {
    no_leaks check;
    log_t log;
    auto slow = [](log_t* log) -> aio::async_generator<int> {
        counted held(1);
        try {
            co_await aio::sleep(1h);
        } catch (const aio::cancelled_error&) {
            log->push_back("body cancelled");
            throw;
        }
        co_yield 1;
    };
    auto consumer = [](decltype(slow) s, log_t* log) -> aio::coroutine<> {
        auto gen = s(log);
        co_await gen.next();
    };
    auto main = [](decltype(slow) s, decltype(consumer) c, log_t* log) -> aio::coroutine<std::string> {
        aio::task<> t = aio::create_task(c(s, log));
        co_await aio::sleep(1s);
        t.cancel();
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
            co_return "consumer cancelled";
        }
        co_return "not cancelled";
    };
    CHECK(aio::run(main(slow, consumer, &log), virtual_time) == "consumer cancelled");
    CHECK(log == log_t{"body cancelled"});
}

namespace {

// The generator the tests below destroy while a next() of it is pending.
std::unique_ptr<aio::async_generator<int>> doomed;

aio::async_generator<int> ticks(log_t* log, bool reset_itself, bool before_sleeping) {
    if (reset_itself && before_sleeping) doomed.reset();   // running inline, on the consumer's stack
    co_await aio::sleep(1s);
    if (reset_itself && !before_sleeping) doomed.reset();
    log->push_back("body resumed");
    co_yield 1;
    log->push_back("never here");
}

// Yields what another generator yields: destroying it leaves the inner one mid-next().
aio::async_generator<int> relay(aio::async_generator<int> inner, log_t* log) {
    while (auto v = co_await inner.next()) {
        log->push_back("relayed " + std::to_string(*v));
        co_yield *v;
    }
}

aio::coroutine<> consume(log_t* log) {
    std::optional<int> v = co_await doomed->next();
    log->push_back("got " + std::to_string(v.value_or(-1)));
}

aio::coroutine<> destroy_under_next(log_t* log) {
    for (int scenario = 0; scenario < 4; ++scenario) {
        if (scenario == 3)
            doomed = std::make_unique<aio::async_generator<int>>(relay(ticks(log, false, false), log));
        else
            doomed = std::make_unique<aio::async_generator<int>>(ticks(log, scenario > 0, scenario == 1));
        aio::task<> consumer = aio::create_task(consume(log));
        co_await aio::sleep(0s);
        if (scenario == 0 || scenario == 3) {
            // Another callback drops it in the very step its timer falls due: the body's
            // wake-up is already queued when it goes.
            aio::get_running_loop().call_later(1s, [log] {
                log->push_back("reset");
                doomed.reset();
            });
        }
        co_await consumer;
        log->push_back(doomed ? "still there" : "gone");
    }
}

} // namespace

TEST_CASE("async_generator: destroyed under a pending next(), it finishes that next() first, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(destroy_under_next(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio
doomed = None

async def ticks(reset_itself, before_sleeping):
    global doomed
    if reset_itself and before_sleeping:
        doomed = None
    await asyncio.sleep(1)
    if reset_itself and not before_sleeping:
        doomed = None
    print("body resumed")
    yield 1
    print("never here")

async def relay(inner):
    async for v in inner:
        print("relayed", v)
        yield v

async def consume():
    v = await doomed.__anext__()
    print("got", v)

async def main():
    global doomed
    for scenario in range(4):
        doomed = relay(ticks(False, False)) if scenario == 3 else ticks(scenario > 0, scenario == 1)
        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0)
        if scenario in (0, 3):
            def drop():
                global doomed
                print("reset")
                doomed = None
            asyncio.get_running_loop().call_later(1, drop)
        await consumer
        print("still there" if doomed else "gone")

asyncio.run(main())
)py"));
}

TEST_CASE("async_generator: moving a generator under a pending next() is refused, as asyncio's 'already running'") {
    no_leaks check;
    auto main = []() -> aio::coroutine<std::string> {
        aio::async_generator<int> gen = ticker(2, 1h);
        aio::task<std::optional<int>> consumer = aio::create_task(
            [](aio::async_generator<int>* g) -> aio::coroutine<std::optional<int>> {
                auto first = co_await g->next();
                co_return first;
            }(&gen));
        co_await aio::sleep(1s);
        std::string seen;
        try {
            aio::async_generator<int> stolen = std::move(gen);
            seen = "moved";
        } catch (const std::logic_error& e) {
            seen = e.what();
        }
        aio::async_generator<int> other;
        try {
            gen = std::move(other);   // assigning over it would destroy the running body
            seen += "; assigned";
        } catch (const std::logic_error&) {
            seen += "; assignment refused";
        }
        std::optional<int> first = co_await consumer;   // the generator still works
        co_return seen + "; then " + std::to_string(first.value_or(-1));
    };
    CHECK(aio::run(main(), virtual_time) ==
          "async_generator: cannot move a generator while a next() of it is pending (it is already "
          "running); assignment refused; then 0");
}

TEST_CASE("async_generator: generator_exit is not a std::exception; an empty generator is an error") {
    static_assert(!std::is_base_of_v<std::exception, aio::generator_exit>);
    no_leaks check;
    auto main = []() -> aio::coroutine<bool> {
        aio::async_generator<int> empty;
        try {
            co_await empty.next();
        } catch (const std::logic_error&) {
            co_return true;
        }
        co_return false;
    };
    CHECK(aio::run(main()));
}
