// Lesson 11 — cancellation you can rely on: timeout, wait_for, shield, task_group, cancel counts.
//
// Holes: await_within, shield_cancel, child_done.
// Test names, in all the files of tests/11-cancellation, start with the hole they pin, or a topic.
// What the tests of each need besides it (`make check` shows a test waiting for a hole that does
// not work rather than failing; `make test` checks this table against the exercise):
//   wait_for needs await_within, shield_cancel.
//   task_group needs child_done.
//   cancel_anywhere needs await_within, shield_cancel.
//   timeout, shield, cancel, http_timeouts need no hole.
// Semantic tests run the same scenario as an asyncio program (CPython is the oracle: 3.12 or
// newer where asyncio changed since 3.11) and compare what both print, line for line. The C++
// side runs on the virtual clock; the Python side sleeps for real, so the delays are short.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/cpython.hpp"
#include "support/no_leaks.hpp"
#include "support/printing.hpp"
#include "support/trace.hpp"

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

using log_t = aio_test::log_t;
constexpr aio::clock_mode virtual_time = aio::clock_mode::virtual_time;

std::string yes_no(bool b) { return b ? "True" : "False"; }

// The loop's time since `start`, in seconds with one decimal, as Python's round(t, 1) prints.
std::string seconds_since(aio::time_point start) {
    const double s = std::chrono::duration<double>(aio::get_running_loop().time() - start).count();
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", s);
    return text;
}

aio::coroutine<> sleep_in_block(log_t* log, aio::duration how_long) {
    try {
        co_await aio::sleep(how_long);
        log->push_back("block finished");
    } catch (const aio::cancelled_error&) {
        log->push_back("block cancelled");
        throw;
    }
}

aio::coroutine<> expires(log_t* log) {
    const aio::time_point start = aio::get_running_loop().time();
    auto deadline = aio::timeout(100ms);
    try {
        co_await aio::async_with(deadline, [log]() { return sleep_in_block(log, 10s); });
    } catch (const aio::timeout_error&) {
        log->push_back("timeout_error at " + seconds_since(start) + "; expired: " +
                       yes_no(deadline.expired()));
    }
    auto roomy = aio::timeout(1s);
    co_await aio::async_with(roomy, [log]() { return sleep_in_block(log, 100ms); });
    log->push_back("in time; expired: " + yes_no(roomy.expired()));
}

constexpr const char* block_py = R"py(
import asyncio

async def sleep_in_block(how_long):
    try:
        await asyncio.sleep(how_long)
        print("block finished")
    except asyncio.CancelledError:
        print("block cancelled")
        raise
)py";

aio::coroutine<> nested(log_t* log) {
    auto outer = aio::timeout(500ms);
    auto body = [log, &outer]() -> aio::coroutine<> {
        auto inner = aio::timeout(100ms);
        try {
            co_await aio::async_with(inner, [log]() { return sleep_in_block(log, 10s); });
        } catch (const aio::timeout_error&) {
            log->push_back("inner timed out; outer expired: " + yes_no(outer.expired()));
        }
        co_await sleep_in_block(log, 100ms);
    };
    co_await aio::async_with(outer, body);
    log->push_back("outer expired: " + yes_no(outer.expired()));
}

// The block swallows one cancel() from outside, then the deadline passes too: two requests,
// one of them not the timeout's, so the cancellation must go out as itself.
aio::coroutine<> stubborn(log_t* log) {
    auto deadline = aio::timeout(200ms);
    auto body = [log]() -> aio::coroutine<> {
        try {
            co_await aio::sleep(10s);
        } catch (const aio::cancelled_error&) {
            log->push_back("caught the first cancel");
        }
        co_await sleep_in_block(log, 10s);
    };
    try {
        co_await aio::async_with(deadline, body);
    } catch (const aio::timeout_error&) {
        log->push_back("wrongly a timeout_error");
    }
}

aio::coroutine<> outside_cancel(log_t* log) {
    auto worker = aio::create_task(stubborn(log));
    co_await aio::sleep(100ms);
    worker.cancel();
    try {
        co_await worker;
    } catch (const aio::cancelled_error&) {
        log->push_back("worker cancelled: " + yes_no(worker.cancelled()) +
                       ", cancelling: " + std::to_string(worker.cancelling()));
    }
}

// The block takes the cancellation and finishes normally: no timeout_error, but expired().
aio::coroutine<> swallowed(log_t* log) {
    auto deadline = aio::timeout(100ms);
    auto body = [log]() -> aio::coroutine<> {
        try {
            co_await aio::sleep(10s);
        } catch (const aio::cancelled_error&) {
            log->push_back("swallowed");
        }
    };
    co_await aio::async_with(deadline, body);
    log->push_back("after the block; expired: " + yes_no(deadline.expired()));
}

aio::coroutine<> counts_after(aio::coroutine<> (*scenario)(log_t*), log_t* log) {
    auto worker = aio::create_task(scenario(log));
    co_await worker;
    log->push_back("cancelling: " + std::to_string(worker.cancelling()));
}

} // namespace

TEST_CASE("timeout: at the deadline the block is cancelled, and the timeout turns that into "
          "timeout_error; a block in time is left alone, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(counts_after(expires, &log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(block_py) + R"py(
async def expires():
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        async with asyncio.timeout(0.1) as deadline:
            await sleep_in_block(10)
    except TimeoutError:
        print(f"timeout_error at {loop.time() - start:.1f}; expired:", deadline.expired())
    async with asyncio.timeout(1) as roomy:
        await sleep_in_block(0.1)
    print("in time; expired:", roomy.expired())

async def main():
    worker = asyncio.create_task(expires())
    await worker
    print("cancelling:", worker.cancelling())

asyncio.run(main())
)py"));
}

TEST_CASE("timeout: nested timeouts — the inner one fires, the outer one is not disturbed, "
          "as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(counts_after(nested, &log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(block_py) + R"py(
async def nested():
    async with asyncio.timeout(0.5) as outer:
        try:
            async with asyncio.timeout(0.1):
                await sleep_in_block(10)
        except TimeoutError:
            print("inner timed out; outer expired:", outer.expired())
        await sleep_in_block(0.1)
    print("outer expired:", outer.expired())

async def main():
    worker = asyncio.create_task(nested())
    await worker
    print("cancelling:", worker.cancelling())

asyncio.run(main())
)py"));
}

TEST_CASE("timeout: a cancel() from outside goes through a timeout untouched, even when the "
          "deadline passes too, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(outside_cancel(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(block_py) + R"py(
async def stubborn():
    try:
        async with asyncio.timeout(0.2):
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                print("caught the first cancel")
            await sleep_in_block(10)
    except TimeoutError:
        print("wrongly a timeout_error")

async def main():
    worker = asyncio.create_task(stubborn())
    await asyncio.sleep(0.1)
    worker.cancel()
    try:
        await worker
    except asyncio.CancelledError:
        print(f"worker cancelled: {worker.cancelled()}, cancelling: {worker.cancelling()}")

asyncio.run(main())
)py"));
}

TEST_CASE("timeout: a block that swallows the cancellation ends normally: no timeout_error, "
          "but expired(), and the count taken back, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(counts_after(swallowed, &log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio

async def swallowed():
    async with asyncio.timeout(0.1) as deadline:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            print("swallowed")
    print("after the block; expired:", deadline.expired())

async def main():
    worker = asyncio.create_task(swallowed())
    await worker
    print("cancelling:", worker.cancelling())

asyncio.run(main())
)py"));
}

TEST_CASE("timeout: a deadline already past lets the block start, and cancels it at its first "
          "await; reschedule() moves the deadline, as in CPython") {
    no_leaks check;
    auto body = [](log_t* log) -> aio::coroutine<> {
        auto past = aio::timeout(-1s);
        auto starts = [log]() -> aio::coroutine<> {
            log->push_back("the block starts");
            co_await sleep_in_block(log, 10s);
        };
        try {
            co_await aio::async_with(past, starts);
        } catch (const aio::timeout_error&) {
            log->push_back("timeout_error");
        }
        auto moved = aio::timeout(100ms);
        auto later = [log, &moved]() -> aio::coroutine<> {
            moved.reschedule(aio::get_running_loop().time() + 1s);
            co_await sleep_in_block(log, 200ms);
            moved.reschedule(std::nullopt);
            co_await sleep_in_block(log, 2s);
        };
        co_await aio::async_with(moved, later);
        log->push_back("rescheduled; expired: " + yes_no(moved.expired()) +
                       "; when: " + (moved.when() ? "a time" : "None"));
    };
    log_t log;
    aio::run(body(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(block_py) + R"py(
async def main():
    async def starts():
        print("the block starts")
        await sleep_in_block(10)
    try:
        async with asyncio.timeout(-1):
            await starts()
    except TimeoutError:
        print("timeout_error")
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(0.1) as moved:
        moved.reschedule(loop.time() + 1)
        await sleep_in_block(0.2)
        moved.reschedule(None)
        await sleep_in_block(2)
    print(f"rescheduled; expired: {moved.expired()}; when: {'a time' if moved.when() else 'None'}")

asyncio.run(main())
)py"));
}

TEST_CASE("timeout: misuse is a clear std::logic_error — reschedule() before entering or after "
          "leaving, entering twice") {
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        auto deadline = aio::timeout(1s);
        CHECK_THROWS_WITH_AS(deadline.reschedule(std::nullopt),
                             "aio::timeout::reschedule: the timeout has not been entered",
                             std::logic_error);
        auto nothing = []() -> aio::coroutine<> { co_return; };
        co_await aio::async_with(deadline, nothing);
        CHECK_THROWS_WITH_AS(deadline.reschedule(std::nullopt),
                             "aio::timeout::reschedule: the timeout is finished: it cannot change any more",
                             std::logic_error);
        CHECK_THROWS_WITH_AS(co_await aio::async_with(deadline, nothing),
                             "aio::timeout: already entered (a timeout is used once)",
                             std::logic_error);
        auto early = aio::timeout(-1s);
        auto swallow = []() -> aio::coroutine<> {
            try {
                co_await aio::sleep(1s);
            } catch (const aio::cancelled_error&) {
            }
        };
        co_await aio::async_with(early, swallow);
        CHECK_THROWS_WITH_AS(early.reschedule(std::nullopt),
                             "aio::timeout::reschedule: the timeout is expired: it cannot change any more",
                             std::logic_error);
        CHECK(aio::get_running_loop().scheduled_timers() == 0);   // no timer left behind
    };
    aio::run(body(), virtual_time);
}

TEST_CASE("timeout: a task kept by a handle after aio::run failed, abandoned inside a timeout "
          "block, leaves the dead loop alone when its frame goes") {
    no_leaks check;
    log_t log;
    auto in_block = [](log_t* out) -> aio::coroutine<> {
        auto deadline = aio::timeout(1h);
        co_await aio::async_with(deadline, [out]() { return sleep_in_block(out, 2h); });
    };
    aio::task<> kept;
    auto main = [](aio::task<>* kept, log_t* out, decltype(in_block) block) -> aio::coroutine<> {
        *kept = aio::create_task(block(out));
        aio::get_running_loop().call_soon([] { throw std::runtime_error("a callback failed"); });
        co_await aio::sleep(1s);
    };
    CHECK_THROWS_WITH_AS(aio::run(main(&kept, &log, in_block), virtual_time), "a callback failed",
                         std::runtime_error);
    // The loop is gone; the frame goes now, and the timeout's timer went with the loop (under
    // ASan, cancelling it here would be a heap-use-after-free).
    kept = {};
    CHECK(log.empty());
}
