// Lesson 11: task.cancel(message), cancelling() and uncancel() (runtime/aio/task.hpp). The hole
// table is in timeout_test.cpp.
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

aio::coroutine<> inner(log_t* log) {
    try {
        co_await aio::sleep(10s);
    } catch (const aio::cancelled_error& e) {
        log->push_back(std::string("inner sees: ") + e.what());
        throw;
    }
}

aio::coroutine<> outer(aio::task<> t, log_t* log) {
    try {
        co_await t;
    } catch (const aio::cancelled_error& e) {
        log->push_back(std::string("outer sees: ") + e.what());
        throw;
    }
}

aio::coroutine<> messages(log_t* log) {
    auto i = aio::create_task(inner(log));
    auto o = aio::create_task(outer(i, log));
    co_await aio::sleep(0s);
    o.cancel("bye");
    try {
        co_await o;
    } catch (const aio::cancelled_error& e) {
        log->push_back(std::string("main sees: ") + e.what() + ", cancelling " +
                       std::to_string(o.cancelling()) + " " + std::to_string(i.cancelling()));
    }
    auto counted = aio::create_task(inner(log));
    co_await aio::sleep(0s);
    counted.cancel();
    counted.cancel();
    log->push_back("requested twice: " + std::to_string(counted.cancelling()));
    log->push_back("uncancel: " + std::to_string(counted.uncancel()));
    co_await aio::gather(aio::return_exceptions, counted);
    log->push_back("uncancel: " + std::to_string(counted.uncancel()) + ", again: " +
                   std::to_string(counted.uncancel()));
}

} // namespace

TEST_CASE("cancel: cancel(message) reaches every task it cancels, and whoever awaits them; "
          "cancelling() counts requests, uncancel() takes one back, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(messages(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio

async def inner():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError as e:
        print("inner sees:", str(e) or "aio::cancelled_error: the task was cancelled")
        raise

async def outer(t):
    try:
        await t
    except asyncio.CancelledError as e:
        print("outer sees:", e)
        raise

async def main():
    i = asyncio.create_task(inner())
    o = asyncio.create_task(outer(i))
    await asyncio.sleep(0)
    o.cancel("bye")
    try:
        await o
    except asyncio.CancelledError as e:
        print(f"main sees: {e}, cancelling {o.cancelling()} {i.cancelling()}")
    counted = asyncio.create_task(inner())
    await asyncio.sleep(0)
    counted.cancel()
    counted.cancel()
    print("requested twice:", counted.cancelling())
    print("uncancel:", counted.uncancel())
    await asyncio.gather(counted, return_exceptions=True)
    print(f"uncancel: {counted.uncancel()}, again: {counted.uncancel()}")

asyncio.run(main())
)py"));
}

TEST_CASE("cancel: without a message, cancelled_error says what it is; a finished task cannot be "
          "cancelled, with a message or without, and exception() rethrows its cancellation") {
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        log_t log;
        auto t = aio::create_task(inner(&log));
        co_await aio::sleep(0s);
        t.cancel();
        co_await aio::gather(aio::return_exceptions, t);
        CHECK(log == log_t{"inner sees: aio::cancelled_error: the task was cancelled"});
        CHECK_FALSE(t.cancel("too late"));
        CHECK_FALSE(t.cancel());
        CHECK(t.cancelling() == 1);
        auto u = aio::create_task(inner(&log));
        co_await aio::sleep(0s);
        u.cancel("with a reason");
        co_await aio::gather(aio::return_exceptions, u);
        std::string seen = "nothing thrown";
        try {
            (void)u.exception();
        } catch (const aio::cancelled_error& e) {
            seen = e.what();
        }
        CHECK(seen == "with a reason");
    };
    aio::run(body(), virtual_time);
}

TEST_CASE("cancel: a message belongs to its request — a later cancellation (a timeout's) comes "
          "without it, as in CPython") {
    no_leaks check;
    auto body = [](log_t* log) -> aio::coroutine<> {
        auto first = [](log_t* out) -> aio::coroutine<> {
            try {
                co_await aio::sleep(1s);
            } catch (const aio::cancelled_error& e) {
                out->push_back(std::string("1st: ") + e.what());
            }
            auto deadline = aio::timeout(50ms);
            auto block = [out]() -> aio::coroutine<> {
                try {
                    co_await aio::sleep(1s);
                } catch (const aio::cancelled_error& e) {
                    out->push_back(std::string("2nd (the timeout's): ") + e.what());
                    throw;
                }
            };
            try {
                co_await aio::async_with(deadline, block);
            } catch (const aio::timeout_error&) {
                out->push_back("timeout");
            }
        };
        auto me = aio::create_task(first(log));
        co_await aio::sleep(10ms);
        me.cancel("stop the first sleep");
        me.uncancel();
        co_await me;
    };
    log_t log;
    aio::run(body(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio

async def first():
    try:
        await asyncio.sleep(1)
    except asyncio.CancelledError as e:
        print("1st:", e)
    try:
        async with asyncio.timeout(0.05):
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError as e:
                print("2nd (the timeout's):", str(e) or "aio::cancelled_error: the task was cancelled")
                raise
    except TimeoutError:
        print("timeout")

async def main():
    me = asyncio.create_task(first())
    await asyncio.sleep(0.01)
    me.cancel("stop the first sleep")
    me.uncancel()
    await me

asyncio.run(main())
)py"));
}
