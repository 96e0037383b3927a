// Lesson 11: aio::wait_for (runtime/aio/wait_for.hpp). The hole table is in timeout_test.cpp.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/cpython.hpp"
#include "support/no_leaks.hpp"
#include "support/printing.hpp"
#include "support/trace.hpp"

#include <chrono>
#include <string>

using namespace std::chrono_literals;

namespace {

using log_t = aio_test::log_t;
constexpr aio::clock_mode virtual_time = aio::clock_mode::virtual_time;

// Work that needs an await to clean up: wait_for must not answer before the cleanup is done.
aio::coroutine<int> slow_work(log_t* log, aio::duration how_long) {
    log->push_back("work starts");
    try {
        co_await aio::sleep(how_long);
    } catch (const aio::cancelled_error&) {
        log->push_back("work cancelled, cleaning up");
        throw;
    }
    log->push_back("work done");
    co_return 42;
}

aio::coroutine<int> cleanup_then_rethrow(log_t* log) {
    bool cancelled = false;
    try {
        co_await aio::sleep(10s);
    } catch (const aio::cancelled_error&) {
        cancelled = true;
    }
    if (cancelled) {
        log->push_back("work cancelled, cleaning up");
        co_await aio::sleep(100ms);   // the cleanup itself awaits
        log->push_back("cleanup finished");
        throw aio::cancelled_error();
    }
    co_return 0;
}

aio::coroutine<int> answers_anyway(log_t* log) {
    try {
        co_await aio::sleep(10s);
    } catch (const aio::cancelled_error&) {
        log->push_back("work swallows the cancellation");
    }
    co_return 7;
}

aio::coroutine<> scenarios(log_t* log) {
    int v = co_await aio::wait_for(slow_work(log, 100ms), 1s);
    log->push_back("in time: " + std::to_string(v));
    try {
        co_await aio::wait_for(cleanup_then_rethrow(log), 100ms);
    } catch (const aio::timeout_error&) {
        log->push_back("timeout_error, after the cleanup");
    }
    v = co_await aio::wait_for(answers_anyway(log), 100ms);
    log->push_back("answered anyway: " + std::to_string(v));
    try {
        co_await aio::wait_for(slow_work(log, 0s), 0s);
    } catch (const aio::timeout_error&) {
        log->push_back("limit 0: timeout_error, the work never started");
    }
    auto done = aio::create_task(slow_work(log, 0s));
    co_await aio::sleep(0s);
    co_await aio::sleep(0s);
    v = co_await aio::wait_for(done, 0s);
    log->push_back("limit 0, a finished task: " + std::to_string(v));
}

aio::coroutine<> caller_cancelled(log_t* log) {
    auto waiting = [](log_t* out) -> aio::coroutine<> {
        try {
            co_await aio::wait_for(slow_work(out, 10s), 5s);
        } catch (const aio::timeout_error&) {
            out->push_back("wrongly a timeout_error");
        }
    };
    auto caller = aio::create_task(waiting(log));
    co_await aio::sleep(100ms);
    caller.cancel();
    try {
        co_await caller;
    } catch (const aio::cancelled_error&) {
        log->push_back("caller cancelled: " + std::string(caller.cancelled() ? "True" : "False"));
    }
}

constexpr const char* work_py = R"py(
import asyncio

async def slow_work(how_long):
    print("work starts")
    try:
        await asyncio.sleep(how_long)
    except asyncio.CancelledError:
        print("work cancelled, cleaning up")
        raise
    print("work done")
    return 42

async def cleanup_then_rethrow():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("work cancelled, cleaning up")
        await asyncio.sleep(0.1)
        print("cleanup finished")
        raise
    return 0

async def answers_anyway():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("work swallows the cancellation")
    return 7
)py";

} // namespace

TEST_CASE("await_within: the result in time; at the limit timeout_error once the work has cleaned up; "
          "a value the work returns anyway; limit 0 never starts the work, as in CPython 3.12") {
    no_leaks check;
    log_t log;
    aio::run(scenarios(&log), virtual_time);
    CHECK(lines_of(log) == cpython312_prints(std::string(work_py) + R"py(
async def main():
    v = await asyncio.wait_for(slow_work(0.1), 1)
    print("in time:", v)
    try:
        await asyncio.wait_for(cleanup_then_rethrow(), 0.1)
    except TimeoutError:
        print("timeout_error, after the cleanup")
    v = await asyncio.wait_for(answers_anyway(), 0.1)
    print("answered anyway:", v)
    try:
        await asyncio.wait_for(slow_work(0), 0)
    except TimeoutError:
        print("limit 0: timeout_error, the work never started")
    done = asyncio.create_task(slow_work(0))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    v = await asyncio.wait_for(done, 0)
    print("limit 0, a finished task:", v)

asyncio.run(main())
)py"));
}

TEST_CASE("await_within: a cancel() of the caller is a cancellation, not a timeout, and the work is "
          "cancelled with it, as in CPython 3.12") {
    no_leaks check;
    log_t log;
    aio::run(caller_cancelled(&log), virtual_time);
    CHECK(lines_of(log) == cpython312_prints(std::string(work_py) + R"py(
async def waiting():
    try:
        await asyncio.wait_for(slow_work(10), 5)
    except TimeoutError:
        print("wrongly a timeout_error")

async def main():
    caller = asyncio.create_task(waiting())
    await asyncio.sleep(0.1)
    caller.cancel()
    try:
        await caller
    except asyncio.CancelledError:
        print("caller cancelled:", caller.cancelled())

asyncio.run(main())
)py"));
}

TEST_CASE("wait_for: a task cancelled at the limit has finished when timeout_error arrives; no "
          "timer is left behind either way") {
    no_leaks check;
    auto body = [](log_t* log) -> aio::coroutine<> {
        auto work = aio::create_task(slow_work(log, 10s));
        try {
            co_await aio::wait_for(work, 100ms);
        } catch (const aio::timeout_error&) {
            log->push_back("timeout_error; work done: " + std::string(work.done() ? "yes" : "no"));
        }
        CHECK(work.cancelled());
        CHECK(aio::get_running_loop().scheduled_timers() == 0);
        const int v = co_await aio::wait_for(slow_work(log, 10ms), 1h);
        CHECK(v == 42);
        CHECK(aio::get_running_loop().scheduled_timers() == 0);   // the hour's timer is gone
    };
    log_t log;
    aio::run(body(&log), virtual_time);
    CHECK(log == log_t{"work starts", "work cancelled, cleaning up", "timeout_error; work done: yes",
                       "work starts", "work done"});
}

namespace {

aio::coroutine<int> cleans_up_slowly(log_t* log) {
    bool cancelled = false;
    try {
        co_await aio::sleep(1s);
    } catch (const aio::cancelled_error&) {
        cancelled = true;
    }
    if (cancelled) log->push_back("work cancelled, cleaning up for 0.5 s");
    co_await aio::sleep(500ms);
    log->push_back("work returns 42 anyway");
    co_return 42;
}

aio::coroutine<> waits_zero(aio::task<int> w, log_t* log) {
    try {
        int r = co_await aio::wait_for(w, 0s);
        log->push_back("outer got " + std::to_string(r));
    } catch (const aio::cancelled_error&) {
        log->push_back("outer cancelled");
        throw;
    }
}

aio::coroutine<int> starts_and_returns(log_t* log) {
    log->push_back("work starts");
    co_await aio::sleep(50ms);
    log->push_back("work done");
    co_return 42;
}

aio::coroutine<> zero_limits(log_t* log) {
    auto w = aio::create_task(cleans_up_slowly(log));
    co_await aio::sleep(0s);   // the work is in its sleep
    auto t = aio::create_task(waits_zero(w, log));
    co_await aio::sleep(100ms);
    t.cancel();
    co_await aio::gather(aio::return_exceptions, t);
    log->push_back("outer task cancelled: " + std::string(t.cancelled() ? "True" : "False"));
    co_await aio::sleep(1s);   // the work finishes its cleanup, undisturbed
    aio::coroutine<int> later = aio::wait_for(starts_and_returns(log), 0s);   // nothing runs yet
    co_await aio::sleep(100ms);
    try {
        int r = co_await std::move(later);
        log->push_back("got " + std::to_string(r));
    } catch (const aio::timeout_error&) {
        log->push_back("TimeoutError");
    }
}

} // namespace

TEST_CASE("wait_for: with a limit of 0 the work starts only when awaited (and is cancelled "
          "first), and a cancel of the caller leaves the work's cleanup alone, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(zero_limits(&log), virtual_time);
    CHECK(lines_of(log) == cpython312_prints(R"py(
import asyncio

async def cleans_up_slowly():
    try:
        await asyncio.sleep(1)
    except asyncio.CancelledError:
        print("work cancelled, cleaning up for 0.5 s")
    await asyncio.sleep(0.5)
    print("work returns 42 anyway")
    return 42

async def waits_zero(w):
    try:
        r = await asyncio.wait_for(w, 0)
        print("outer got", r)
    except asyncio.CancelledError:
        print("outer cancelled")
        raise

async def starts_and_returns():
    print("work starts")
    await asyncio.sleep(0.05)
    print("work done")
    return 42

async def main():
    w = asyncio.create_task(cleans_up_slowly())
    await asyncio.sleep(0)
    t = asyncio.create_task(waits_zero(w))
    await asyncio.sleep(0.1)
    t.cancel()
    await asyncio.gather(t, return_exceptions=True)
    print("outer task cancelled:", t.cancelled())
    await asyncio.sleep(1)
    later = asyncio.wait_for(starts_and_returns(), 0)
    await asyncio.sleep(0.1)
    try:
        r = await later
        print("got", r)
    except TimeoutError:
        print("TimeoutError")

asyncio.run(main())
)py"));
}
