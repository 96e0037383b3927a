// Lesson 10: aio::event (runtime/aio/event.hpp). The hole table is in lock_test.cpp.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/cpython.hpp"
#include "support/no_leaks.hpp"
#include "support/printing.hpp"
#include "support/trace.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

using log_t = aio_test::log_t;
constexpr aio::clock_mode virtual_time = aio::clock_mode::virtual_time;

aio::coroutine<> listener(std::string name, aio::event* ev, log_t* log) {
    log->push_back(name + " waits");
    try {
        co_await ev->wait();
    } catch (const aio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
    log->push_back(name + " woke; is_set: " + (ev->is_set() ? "True" : "False"));
}

aio::coroutine<> set_wakes_all(log_t* log) {
    aio::event ev;
    auto a = aio::create_task(listener("a", &ev, log));
    auto b = aio::create_task(listener("b", &ev, log));
    auto c = aio::create_task(listener("c", &ev, log));
    co_await aio::sleep(0s);
    b.cancel();      // b leaves before the set
    co_await aio::sleep(0s);
    ev.set();
    ev.clear();      // a and c were woken: they return all the same
    log->push_back("set and cleared");
    co_await aio::gather(aio::return_exceptions, a, b, c);
    ev.set();
    auto d = aio::create_task(listener("d", &ev, log));   // the flag is set: no wait
    co_await d;
    auto e = aio::create_task(listener("e", &ev, log));
    co_await aio::sleep(0s);
    ev.set();        // already set: wakes nobody new, changes nothing
    e.cancel();      // e found the flag set and finished: nothing to cancel
    co_await aio::gather(aio::return_exceptions, e);
    log->push_back(std::string("e cancelled: ") + (e.cancelled() ? "True" : "False"));
}

aio::coroutine<> woken_then_cancelled(log_t* log) {
    aio::event ev;
    auto a = aio::create_task(listener("a", &ev, log));
    co_await aio::sleep(0s);
    ev.set();
    a.cancel();   // woken, then cancelled before it runs: the cancellation wins
    co_await aio::gather(aio::return_exceptions, a);
    log->push_back(std::string("a cancelled: ") + (a.cancelled() ? "True" : "False"));
}

} // namespace

TEST_CASE("event_set: set() wakes every task waiting, in order, and later waits return at once, "
          "as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(set_wakes_all(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio

async def listener(name, ev):
    print(name, "waits")
    try:
        await ev.wait()
    except asyncio.CancelledError:
        print(name, "cancelled")
        raise
    print(name, "woke; is_set:", ev.is_set())

async def main():
    ev = asyncio.Event()
    a, b, c = [asyncio.create_task(listener(n, ev)) for n in "abc"]
    await asyncio.sleep(0)
    b.cancel()
    await asyncio.sleep(0)
    ev.set()
    ev.clear()
    print("set and cleared")
    await asyncio.gather(a, b, c, return_exceptions=True)
    ev.set()
    d = asyncio.create_task(listener("d", ev))
    await d
    e = asyncio.create_task(listener("e", ev))
    await asyncio.sleep(0)
    ev.set()
    e.cancel()
    await asyncio.gather(e, return_exceptions=True)
    print("e cancelled:", e.cancelled())

asyncio.run(main())
)py"));
}

TEST_CASE("event: a waiter woken by set() and cancelled before it runs ends cancelled, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(woken_then_cancelled(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio

async def listener(name, ev):
    print(name, "waits")
    try:
        await ev.wait()
    except asyncio.CancelledError:
        print(name, "cancelled")
        raise
    print(name, "woke; is_set:", ev.is_set())

async def main():
    ev = asyncio.Event()
    a = asyncio.create_task(listener("a", ev))
    await asyncio.sleep(0)
    ev.set()
    a.cancel()
    await asyncio.gather(a, return_exceptions=True)
    print("a cancelled:", a.cancelled())

asyncio.run(main())
)py"));
}

TEST_CASE("event: 50,000 waiters cancelled leave nothing behind; set() still "
          "wakes the one that waits") {
    no_leaks check;
    auto body = []() -> aio::coroutine<bool> {
        aio::event ev;
        log_t log;
        for (int i = 0; i < 50'000; ++i) {
            auto t = aio::create_task(listener("x", &ev, &log));
            co_await aio::sleep(0s);
            t.cancel();
            co_await aio::gather(aio::return_exceptions, t);
        }
        auto last = aio::create_task(listener("last", &ev, &log));
        co_await aio::sleep(0s);
        ev.set();
        co_await last;
        co_return log.back() == "last woke; is_set: True";
    };
    CHECK(aio::run(body(), virtual_time));
}

TEST_CASE("event: destroyed right after set(), the tasks it woke return normally, as in CPython") {
    no_leaks check;
    // A woken wait() has nothing left to do with the event, so nothing may tie it to it.
    auto body = [](log_t* log) -> aio::coroutine<> {
        auto ev = std::make_unique<aio::event>();
        auto wait_only = [](std::string name, aio::event* e, log_t* out) -> aio::coroutine<> {
            co_await e->wait();
            out->push_back(name + " woke");
        };
        auto a = aio::create_task(wait_only("a", ev.get(), log));
        auto b = aio::create_task(wait_only("b", ev.get(), log));
        co_await aio::sleep(0s);
        ev->set();
        ev.reset();
        log->push_back("event gone");
        co_await aio::gather(a, b);
    };
    log_t log;
    aio::run(body(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio

async def wait_only(name, ev):
    await ev.wait()
    print(name, "woke")

async def main():
    ev = asyncio.Event()
    a = asyncio.create_task(wait_only("a", ev))
    b = asyncio.create_task(wait_only("b", ev))
    await asyncio.sleep(0)
    ev.set()
    del ev
    print("event gone")
    await asyncio.gather(a, b)

asyncio.run(main())
)py"));
}

TEST_CASE("event: destroyed while a task waits, the task gets a std::logic_error") {
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        auto ev = std::make_unique<aio::event>();
        log_t log;
        auto t = aio::create_task(listener("a", ev.get(), &log));
        co_await aio::sleep(0s);
        ev.reset();
        CHECK_THROWS_WITH_AS(co_await t, "aio::event destroyed while a task waited on it",
                             std::logic_error);
    };
    aio::run(body(), virtual_time);
}
