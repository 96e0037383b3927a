// Lesson 03 — await and aio::run: continuations, exceptions to the awaiter, a flat stack.
//
// Holes: run, await_suspend, final_awaiter, await_resume.
// Test names start with the hole they pin, or a topic. What the tests of each need besides
// it (`make check` shows a test waiting for a hole that does not work rather than failing;
// `make test` checks this table against the exercise):
//   run needs await_suspend, final_awaiter, await_resume.
//   await_suspend needs run, final_awaiter, await_resume.
//   final_awaiter needs run, await_suspend, await_resume.
//   await_resume needs run, await_suspend, final_awaiter.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/counted.hpp"
#include "support/no_leaks.hpp"
#include "support/printing.hpp"
#include "support/trace.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using log_t = aio_test::log_t;   // a vector of strings that also goes into make check's trace

// A test-only awaitable: suspends the awaiting coroutine and has the loop resume it after
// `delay`. (Lesson 05 turns this idea into aio::sleep.)
class resume_after {
public:
    explicit resume_after(aio::duration delay) : delay_(delay) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const {
        aio::get_running_loop().call_later(delay_, [h] { h.resume(); });
    }
    void await_resume() const noexcept {}

private:
    aio::duration delay_;
};

// An awaitable that suspends and is never resumed: a lost wake-up on purpose.
struct never_resumed {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const noexcept {}
};

aio::coroutine<int> add(int a, int b) { co_return a + b; }

aio::coroutine<int> add_later(int a, int b, aio::duration delay) {
    co_await resume_after(delay);
    co_return a + b;
}

aio::coroutine<int> sum_of_three() {
    int x = co_await add(1, 2);
    int y = co_await add(x, 3);
    co_return y;
}

aio::coroutine<int> throws_value_error() {
    throw std::invalid_argument("bad value");
    co_return 0;
}

aio::coroutine<> log_steps(log_t* log, std::string name, aio::duration delay) {
    log->push_back(name + " start");
    co_await resume_after(delay);
    log->push_back(name + " end");
}

aio::coroutine<> nothing() { co_return; }

aio::coroutine<int> middle_of_failing_chain() {
    int v = co_await throws_value_error();
    co_return v + 1;
}

aio::coroutine<int> outer_of_failing_chain() {
    int v = co_await middle_of_failing_chain();
    co_return v;
}

aio::coroutine<std::unique_ptr<int>> make_unique_five() { co_return std::make_unique<int>(5); }

aio::coroutine<int> unwrap_unique() {
    std::unique_ptr<int> p = co_await make_unique_five();
    co_return *p;
}

aio::coroutine<long> count_synchronous_awaits(long n) {
    long total = 0;
    for (long i = 0; i < n; ++i) {
        int one = co_await add(0, 1);
        total += one;
    }
    co_return total;
}

aio::coroutine<int> depth(int n, aio::duration delay) {
    if (n == 0) {
        co_await resume_after(delay);
        co_return 0;
    }
    int below = co_await depth(n - 1, delay);
    co_return below + 1;
}

aio::coroutine<int> waits_forever(counted c) {
    co_await never_resumed{};
    co_return c.value;
}

} // namespace

TEST_CASE("await_suspend: awaiting a coroutine gives its value") {
    no_leaks check;
    CHECK(aio::run(sum_of_three()) == 6);
}

TEST_CASE("await_suspend: a child that suspends resumes its awaiter when it finishes") {
    no_leaks check;
    auto main = []() -> aio::coroutine<int> {
        int v = co_await add_later(20, 22, 10ms);
        co_return v;
    };
    CHECK(aio::run(main(), aio::clock_mode::virtual_time) == 42);
}

TEST_CASE("await_suspend: awaiting runs the child at once, on the awaiter's turn") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        // A callback queued first: a child that started through the loop would come after it.
        aio::get_running_loop().call_soon([log] { log->push_back("callback"); });
        log->push_back("main start");
        co_await log_steps(log, "a", 10ms);
        log->push_back("main between");
        co_await log_steps(log, "b", 5ms);
        log->push_back("main end");
    };
    aio::run(main(&log), aio::clock_mode::virtual_time);
    CHECK(log == log_t{"main start", "a start", "callback", "a end",
                                          "main between", "b start", "b end", "main end"});
}

TEST_CASE("await_suspend: 10,000,000 synchronously completing awaits keep the stack flat") {
    // With symmetric transfer alone this overflows an 8 MiB stack on g++ 12 at -O0 (see lesson
    // 03's text); the bool await_suspend keeps it flat in every build mode.
    no_leaks check;
    CHECK(aio::run(count_synchronous_awaits(10'000'000)) == 10'000'000);
}

TEST_CASE("final_awaiter: a chain of 1,000 awaits resumes back up after one suspension") {
    no_leaks check;
    CHECK(aio::run(depth(1000, 1ms), aio::clock_mode::virtual_time) == 1000);
}

TEST_CASE("final_awaiter: the awaiter continues in the same step the child finishes in") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        // A timer that falls due in the same step as the child's, created after it: its callback
        // runs after the child's wake-up, and must also run after main's continuation — because
        // a finished child resumes its awaiter directly, not through the loop.
        aio::get_running_loop().call_soon([log] {
            aio::get_running_loop().call_later(10ms, [log] { log->push_back("callback"); });
        });
        co_await log_steps(log, "child", 10ms);
        log->push_back("main continues");
    };
    aio::run(main(&log), aio::clock_mode::virtual_time);
    CHECK(log == log_t{"child start", "child end", "main continues", "callback"});
}

TEST_CASE("await_resume: a child's exception reaches the awaiter, which can catch it") {
    no_leaks check;
    auto main = []() -> aio::coroutine<std::string> {
        try {
            co_await throws_value_error();
        } catch (const std::invalid_argument& e) {
            co_return std::string("caught: ") + e.what();
        }
        co_return "not caught";
    };
    CHECK(aio::run(main()) == "caught: bad value");
}

TEST_CASE("await_resume: an exception not caught travels up every awaiter to aio::run") {
    no_leaks check;
    CHECK_THROWS_WITH_AS(aio::run(outer_of_failing_chain()), "bad value", std::invalid_argument);
}

TEST_CASE("await_resume: a move-only value is moved out to the awaiter") {
    no_leaks check;
    CHECK(aio::run(unwrap_unique()) == 5);
}

TEST_CASE("await_suspend: awaiting an empty or already awaited coroutine is an error") {
    no_leaks check;
    auto main = []() -> aio::coroutine<std::string> {
        std::string errors;
        aio::coroutine<int> empty;
        try {
            co_await empty;
        } catch (const std::logic_error&) {
            errors += "empty ";
        }
        aio::coroutine<int> once = add(1, 1);
        int two = co_await once;
        try {
            co_await once;
        } catch (const std::logic_error&) {
            errors += "twice";
        }
        co_return errors + (two == 2 ? "" : " wrong");
    };
    CHECK(aio::run(main()) == "empty twice");
}

TEST_CASE("run: aio::run returns main's value, and coroutine<void> works too") {
    no_leaks check;
    CHECK(aio::run(add(2, 3)) == 5);
    CHECK_NOTHROW(aio::run(nothing()));
}

TEST_CASE("run: main runs inside a running loop, and the loop is gone afterwards") {
    no_leaks check;
    auto main = []() -> aio::coroutine<bool> {
        aio::event_loop& loop = aio::get_running_loop();
        co_return loop.is_running();
    };
    CHECK(aio::run(main()));
    CHECK_THROWS_AS(aio::get_running_loop(), std::runtime_error);
}

TEST_CASE("run: with the virtual clock, an hour passes at once and exactly") {
    no_leaks check;
    auto main = []() -> aio::coroutine<aio::duration> {
        aio::event_loop& loop = aio::get_running_loop();
        aio::time_point start = loop.time();
        co_await resume_after(1h);
        co_return loop.time() - start;
    };
    CHECK(aio::run(main(), aio::clock_mode::virtual_time) == 1h);
}

TEST_CASE("run: a main coroutine that can never be resumed is reported, and its frames freed") {
    no_leaks check;
    CHECK_THROWS_AS(aio::run(waits_forever(counted(3))), std::runtime_error);
}

TEST_CASE("run: aio::run inside a running loop is an error") {
    no_leaks check;
    auto main = []() -> aio::coroutine<bool> {
        try {
            aio::run(nothing());
        } catch (const std::runtime_error&) {
            co_return true;
        }
        co_return false;
    };
    CHECK(aio::run(main()));
}
