// Lesson 05 — sleep: timers for coroutines, sleep(0) as a yield, cancellation that cleans up.
//
// Holes: schedule_wakeup, cancel_sleep.
// Test names start with the hole they pin, or a topic. What the tests of each need besides
// it (`make check` shows a test waiting for a hole that does not work rather than failing;
// `make test` checks this table against the exercise):
//   cancel_sleep needs schedule_wakeup.
// Every test uses the virtual clock unless it says so: an hour of sleep takes microseconds, and
// always the same way.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/counted.hpp"
#include "support/no_leaks.hpp"
#include "support/printing.hpp"
#include "support/trace.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using log_t = aio_test::log_t;   // a vector of strings that also goes into make check's trace
constexpr aio::clock_mode virtual_time = aio::clock_mode::virtual_time;

aio::duration since(aio::time_point start) { return aio::get_running_loop().time() - start; }

aio::coroutine<> nap(log_t* log, std::string name, aio::duration d) {
    co_await aio::sleep(d);
    log->push_back(name);
}

aio::coroutine<> ping_pong(log_t* log, std::string name, int times) {
    for (int i = 0; i < times; ++i) {
        log->push_back(name + std::to_string(i));
        co_await aio::sleep(0s);
    }
}

aio::coroutine<> sleep_with_cleanup(log_t* log, aio::duration d) {
    counted held(1);
    try {
        co_await aio::sleep(d);
    } catch (const aio::cancelled_error&) {
        log->push_back("cleanup");
        throw;
    }
    log->push_back("woke up");
}

} // namespace

TEST_CASE("schedule_wakeup: sleep(1h) on the virtual clock passes exactly an hour, at once") {
    no_leaks check;
    auto main = []() -> aio::coroutine<aio::duration> {
        aio::time_point start = aio::get_running_loop().time();
        co_await aio::sleep(1h);
        co_return since(start);
    };
    CHECK(aio::run(main(), virtual_time) == 1h);
}

TEST_CASE("schedule_wakeup: sleepers wake in deadline order, equal deadlines in sleeping order") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<aio::duration> {
        aio::time_point start = aio::get_running_loop().time();
        co_await aio::gather(nap(log, "c", 30ms), nap(log, "a", 10ms), nap(log, "b1", 20ms),
                             nap(log, "b2", 20ms), nap(log, "b3", 20ms));
        co_return since(start);
    };
    CHECK(aio::run(main(&log), virtual_time) == 30ms);   // they slept at the same time
    CHECK(log == log_t{"a", "b1", "b2", "b3", "c"});
}

TEST_CASE("schedule_wakeup: sleep(0s) yields exactly one loop step") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        co_await aio::gather(ping_pong(log, "a", 3), ping_pong(log, "b", 3));
    };
    aio::run(main(&log), virtual_time);
    CHECK(log == log_t{"a0", "b0", "a1", "b1", "a2", "b2"});
}

TEST_CASE("schedule_wakeup: sleep(0s) lets callbacks already scheduled run first") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        aio::get_running_loop().call_soon([log] { log->push_back("callback"); });
        co_await aio::sleep(0s);
        log->push_back("after sleep(0)");
        co_return;
    };
    aio::run(main(&log), virtual_time);
    CHECK(log == log_t{"callback", "after sleep(0)"});
}

TEST_CASE("schedule_wakeup: sleep(0s) sets no timer: it wakes in the very next step") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        aio::event_loop& loop = aio::get_running_loop();
        loop.call_soon([log, &loop] { loop.call_soon([log] { log->push_back("two steps later"); }); });
        co_await aio::sleep(0s);
        log->push_back("after sleep(0)");
        co_await aio::sleep(0s);   // let the second callback run before the loop stops
    };
    aio::run(main(&log), virtual_time);
    CHECK(log == log_t{"after sleep(0)", "two steps later"});
}

TEST_CASE("schedule_wakeup: a delay too long for the clock sleeps 200 years, not zero") {
    no_leaks check;
    auto main = []() -> aio::coroutine<bool> {
        aio::time_point start = aio::get_running_loop().time();
        co_await aio::sleep(std::chrono::hours::max());
        co_await aio::sleep(std::chrono::duration<double>(1e300));
        co_return since(start) >= std::chrono::hours(24 * 365 * 200);   // and no overflow (UBSan)
    };
    CHECK(aio::run(main(), virtual_time));
}

TEST_CASE("schedule_wakeup: a negative delay is a sleep(0), as in asyncio") {
    no_leaks check;
    auto main = []() -> aio::coroutine<aio::duration> {
        aio::time_point start = aio::get_running_loop().time();
        co_await aio::sleep(-5s);
        co_return since(start);
    };
    CHECK(aio::run(main(), virtual_time) == 0s);
}

TEST_CASE("schedule_wakeup: any chrono duration works, fractions round up") {
    no_leaks check;
    auto main = []() -> aio::coroutine<aio::duration> {
        aio::time_point start = aio::get_running_loop().time();
        co_await aio::sleep(std::chrono::duration<double>(1.5));
        co_await aio::sleep(std::chrono::duration<double, std::nano>(0.25));
        co_return since(start);
    };
    CHECK(aio::run(main(), virtual_time) == 1500ms + 1ns);
}

TEST_CASE("schedule_wakeup: on the real clock a sleep never ends early") {
    no_leaks check;
    auto main = []() -> aio::coroutine<std::chrono::steady_clock::duration> {
        auto start = std::chrono::steady_clock::now();
        co_await aio::sleep(20ms);
        co_return std::chrono::steady_clock::now() - start;
    };
    CHECK(aio::run(main()) >= 20ms);
}

TEST_CASE("schedule_wakeup: a sleeping task lets the others run meanwhile") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        aio::task<> sleeper = aio::create_task(nap(log, "sleeper woke", 1s));
        co_await aio::sleep(0s);
        log->push_back("main runs while it sleeps");
        co_await sleeper;
    };
    aio::run(main(&log), virtual_time);
    CHECK(log == log_t{"main runs while it sleeps", "sleeper woke"});
}

TEST_CASE("schedule_wakeup: sleep needs a running loop") {
    no_leaks check;
    auto lonely = []() -> aio::coroutine<> { co_await aio::sleep(1s); };
    aio::coroutine<> c = lonely();
    CHECK_NOTHROW(c.resume());   // the exception is kept for result()
    REQUIRE(c.done());
    CHECK_THROWS_AS(c.result(), std::runtime_error);
}

TEST_CASE("cancel_sleep: cancelling a sleeping task wakes it with cancelled_error at once") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        aio::time_point start = aio::get_running_loop().time();
        aio::task<> t = aio::create_task(sleep_with_cleanup(log, 1h));
        co_await aio::sleep(1s);
        CHECK(aio::get_running_loop().scheduled_timers() == 1);
        t.cancel();
        CHECK(aio::get_running_loop().scheduled_timers() == 0);   // its timer is gone already
        log->push_back("cancel() returned");   // the task runs in a later step, not inside cancel()
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
            co_return "cancelled after " + std::to_string(since(start) / 1s) + " s";
        }
        co_return "not cancelled";
    };
    CHECK(aio::run(main(&log), virtual_time) == "cancelled after 1 s");
    CHECK(log == log_t{"cancel() returned", "cleanup"});
}

TEST_CASE("cancel_sleep: 100,000 cancelled sleeps leave no timer behind") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::size_t> {
        std::vector<aio::task<>> sleepers;
        for (int i = 0; i < 100'000; ++i) sleepers.push_back(aio::create_task(nap(log, "x", 1h + i * 1ms)));
        co_await aio::sleep(0s);   // they all start, and sleep
        std::size_t peak = aio::get_running_loop().scheduled_timers();
        for (aio::task<>& t : sleepers) t.cancel();
        CHECK(aio::get_running_loop().scheduled_timers() == 0);   // gone at cancel(), not when due
        co_await aio::gather(aio::return_exceptions, std::move(sleepers));
        CHECK(peak >= 100'000);
        co_return aio::get_running_loop().scheduled_timers();
    };
    CHECK(aio::run(main(&log), virtual_time) == 0);
    CHECK(log.empty());
}

TEST_CASE("cancel_sleep: a cancel after the timer fired, before the task ran, still wins") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        aio::task<> t = aio::create_task(sleep_with_cleanup(log, 10ms));
        co_await aio::sleep(0s);   // t starts and sets its timer
        // Our timer is created after t's (same deadline): it runs right after t's timer fired
        // and queued t's wake-up, and cancels t before that wake-up runs.
        aio::get_running_loop().call_later(10ms, [t]() mutable { t.cancel(); });
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
            co_return "cancelled";
        }
        co_return "not cancelled";
    };
    CHECK(aio::run(main(&log), virtual_time) == "cancelled");
    CHECK(log == log_t{"cleanup"});
}

TEST_CASE("cancel_sleep: a cancel just before the due timer runs, in the same step, resumes once") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        aio::task<> t;
        // Created before t's timer, same deadline: runs first in the step where both fall due.
        aio::get_running_loop().call_later(10ms, [&t] { t.cancel(); });
        t = aio::create_task(nap(log, "woke up", 10ms));
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
            co_return "cancelled";
        }
        co_return "not cancelled";
    };
    CHECK(aio::run(main(&log), virtual_time) == "cancelled");
    CHECK(log.empty());
}

TEST_CASE("cancel_sleep: a task cancelled before its sleep ends never sleeps at all") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        aio::time_point start = aio::get_running_loop().time();
        aio::task<> t = aio::create_task(sleep_with_cleanup(log, 1h));
        t.cancel();   // before it starts: the body never runs
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
        }
        co_return std::to_string(since(start) / 1ms) + " ms";
    };
    CHECK(aio::run(main(&log), virtual_time) == "0 ms");
    CHECK(log.empty());
}

TEST_CASE("cancel_sleep: sleeping tasks left at the end of aio::run are cancelled and cleaned up") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        aio::create_task(sleep_with_cleanup(log, 1h));
        aio::create_task(sleep_with_cleanup(log, 2h));
        co_await aio::sleep(1s);
    };
    aio::run(main(&log), virtual_time);
    CHECK(log == log_t{"cleanup", "cleanup"});
}

TEST_CASE("cancel_sleep: a task that swallows its cancellation can sleep again") {
    no_leaks check;
    auto stubborn = []() -> aio::coroutine<aio::duration> {
        aio::time_point start = aio::get_running_loop().time();
        try {
            co_await aio::sleep(1h);
        } catch (const aio::cancelled_error&) {
        }
        co_await aio::sleep(5s);
        co_return since(start);
    };
    auto main = [](decltype(stubborn) s) -> aio::coroutine<aio::duration> {
        aio::task<aio::duration> t = aio::create_task(s());
        co_await aio::sleep(1s);
        t.cancel();
        aio::duration d = co_await t;
        co_return d;
    };
    CHECK(aio::run(main(stubborn), virtual_time) == 6s);
}

TEST_CASE("cancel_sleep: a sleeping task kept by a handle after aio::run failed leaves the dead loop alone") {
    no_leaks check;
    log_t log;
    // First, what this needs: cancelling a sleep takes its timer back at once.
    auto timers_left_by_cancel = [](log_t* log) -> aio::coroutine<std::size_t> {
        aio::task<> t = aio::create_task(sleep_with_cleanup(log, 1h));
        co_await aio::sleep(0s);
        t.cancel();
        std::size_t left = aio::get_running_loop().scheduled_timers();
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
        }
        co_return left;
    };
    REQUIRE(aio::run(timers_left_by_cancel(&log), virtual_time) == 0);
    log.clear();
    aio::task<> kept;
    auto main = [](aio::task<>* kept, log_t* log) -> aio::coroutine<> {
        *kept = aio::create_task(sleep_with_cleanup(log, 1h));
        aio::get_running_loop().call_soon([] { throw std::runtime_error("a callback failed"); });
        co_await aio::sleep(1s);
    };
    CHECK_THROWS_WITH_AS(aio::run(main(&kept, &log), virtual_time), "a callback failed",
                         std::runtime_error);
    CHECK(kept.cancelled());
    // The loop is gone; the frame, still sleeping in it, goes now. Its timer was taken back
    // while the loop existed (under ASan, touching the dead loop here is a heap-use-after-free).
    kept = {};
    CHECK(log.empty());   // destroyed, not resumed: no catch block runs, destructors do
}
