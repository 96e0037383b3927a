// Lesson 10 — coordination: lock, event, semaphore, condition, queues (one file per header).
//
// Holes: event_set, lock_acquire, wake_up_first, semaphore_pass_on, condition_wait, queue_get.
// Test names, in all six files of tests/10-sync, start with the hole they pin, or a topic.
// What the tests of each need besides it (`make check` shows a test waiting for a hole that does
// not work rather than failing; `make test` checks this table against the exercise):
//   lock_acquire needs wake_up_first.
//   wake_up_first needs lock_acquire.
//   lock needs lock_acquire, wake_up_first.
//   condition_wait needs lock_acquire, wake_up_first.
//   condition needs lock_acquire, wake_up_first, condition_wait.
//   event needs event_set.
//   queue needs event_set, queue_get.
//   priority_queue needs queue_get.
//   lifo_queue needs queue_get.
//   semaphore, bounded_semaphore, connection_limits need no hole.
// Semantic tests run the same scenario as an asyncio program (CPython is the oracle) and compare
// what both print, line for line; every test uses the virtual clock.
// Some tests write a coroutine as a lambda that captures by reference: always a named local,
// awaited before its scope ends, so the closure outlives every frame it makes (lesson 02's CP.51
// pitfall is a closure that dies first).
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

std::string yes_no(bool b) { return b ? "True" : "False"; }

aio::coroutine<> holder(std::string name, aio::lock* lk, log_t* log) {
    log->push_back(name + " wants the lock");
    try {
        co_await lk->acquire();
    } catch (const aio::cancelled_error&) {
        log->push_back(name + " cancelled while waiting");
        throw;
    }
    log->push_back(name + " has it");
    co_await aio::sleep(0s);
    lk->release();
    log->push_back(name + " released; locked: " + yes_no(lk->locked()));
}

constexpr const char* holder_py = R"py(
import asyncio

async def holder(name, lock):
    print(name, "wants the lock")
    try:
        await lock.acquire()
    except asyncio.CancelledError:
        print(name, "cancelled while waiting")
        raise
    print(name, "has it")
    await asyncio.sleep(0)
    lock.release()
    print(name, "released; locked:", lock.locked())
)py";

aio::coroutine<> no_barging(log_t* log) {
    aio::lock lk;
    co_await lk.acquire();
    auto a = aio::create_task(holder("a", &lk, log));
    auto b = aio::create_task(holder("b", &lk, log));
    auto c = aio::create_task(holder("c", &lk, log));
    co_await aio::sleep(0s);   // all three queue up
    lk.release();
    log->push_back("main released; locked: " + yes_no(lk.locked()));
    co_await lk.acquire();     // a was woken but has not run: main queues behind a, b and c
    log->push_back("main has it again");
    lk.release();
    co_await aio::gather(a, b, c);
}

aio::coroutine<> woken_then_cancelled(log_t* log) {
    aio::lock lk;
    co_await lk.acquire();
    auto a = aio::create_task(holder("a", &lk, log));
    auto b = aio::create_task(holder("b", &lk, log));
    co_await aio::sleep(0s);
    lk.release();   // a is woken...
    a.cancel();     // ...and cancelled before it runs: it must wake b in its place
    try {
        co_await a;
    } catch (const aio::cancelled_error&) {
        log->push_back("a cancelled; locked: " + yes_no(lk.locked()));
    }
    co_await b;
    log->push_back("locked at the end: " + yes_no(lk.locked()));
}

aio::coroutine<> cancelled_first_in_line(log_t* log) {
    aio::lock lk;
    co_await lk.acquire();
    auto a = aio::create_task(holder("a", &lk, log));
    auto b = aio::create_task(holder("b", &lk, log));
    auto c = aio::create_task(holder("c", &lk, log));
    co_await aio::sleep(0s);
    a.cancel();     // a is cancelled, still first in line until it runs...
    lk.release();   // ...so this wakes nobody; a, leaving, wakes b
    log->push_back("main released; locked: " + yes_no(lk.locked()));
    try {
        co_await a;
    } catch (const aio::cancelled_error&) {
        log->push_back("a is cancelled");
    }
    co_await aio::gather(b, c);
}

// A cancelled waiter still in the list does not make a newcomer queue behind it.
aio::coroutine<> cancelled_do_not_count(log_t* log) {
    aio::lock lk;
    co_await lk.acquire();
    auto a = aio::create_task(holder("a", &lk, log));
    co_await aio::sleep(0s);
    a.cancel();     // a is cancelled, and has not run yet
    lk.release();   // the first waiter is done: nobody is woken
    co_await lk.acquire();   // nobody alive is queued: main takes it at once
    log->push_back("main has it again; a done: " + yes_no(a.done()));
    lk.release();
    co_await aio::gather(aio::return_exceptions, a);
    log->push_back("locked at the end: " + yes_no(lk.locked()));
}

} // namespace

TEST_CASE("lock_acquire: waiters get the lock first in, first out, and a newcomer cannot barge "
          "past a woken waiter, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(no_barging(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(holder_py) + R"py(
async def main():
    lock = asyncio.Lock()
    await lock.acquire()
    tasks = [asyncio.create_task(holder(n, lock)) for n in "abc"]
    await asyncio.sleep(0)
    lock.release()
    print("main released; locked:", lock.locked())
    await lock.acquire()
    print("main has it again")
    lock.release()
    await asyncio.gather(*tasks)

asyncio.run(main())
)py"));
}

TEST_CASE("lock_acquire: waiters that are cancelled do not count — a newcomer takes a free lock "
          "at once past them, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(cancelled_do_not_count(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(holder_py) + R"py(
async def main():
    lock = asyncio.Lock()
    await lock.acquire()
    a = asyncio.create_task(holder("a", lock))
    await asyncio.sleep(0)
    a.cancel()
    lock.release()
    await lock.acquire()
    print("main has it again; a done:", a.done())
    lock.release()
    await asyncio.gather(a, return_exceptions=True)
    print("locked at the end:", lock.locked())

asyncio.run(main())
)py"));
}

TEST_CASE("lock_acquire: a free lock is taken at once, without a loop step") {
    no_leaks check;
    auto body = []() -> aio::coroutine<int> {
        aio::lock lk;
        int steps = 0;
        aio::get_running_loop().call_soon([&steps] { ++steps; });
        co_await lk.acquire();
        CHECK(lk.locked());
        lk.release();
        CHECK_FALSE(lk.locked());
        co_return steps;
    };
    CHECK(aio::run(body(), virtual_time) == 0);
}

TEST_CASE("wake_up_first: a waiter woken and then cancelled before it runs passes the lock on, "
          "as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(woken_then_cancelled(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(holder_py) + R"py(
async def main():
    lock = asyncio.Lock()
    await lock.acquire()
    a = asyncio.create_task(holder("a", lock))
    b = asyncio.create_task(holder("b", lock))
    await asyncio.sleep(0)
    lock.release()
    a.cancel()
    try:
        await a
    except asyncio.CancelledError:
        print("a cancelled; locked:", lock.locked())
    await b
    print("locked at the end:", lock.locked())

asyncio.run(main())
)py"));
}

TEST_CASE("wake_up_first: a cancelled waiter first in line hands the release on when it leaves, "
          "as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(cancelled_first_in_line(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(holder_py) + R"py(
async def main():
    lock = asyncio.Lock()
    await lock.acquire()
    a, b, c = [asyncio.create_task(holder(n, lock)) for n in "abc"]
    await asyncio.sleep(0)
    a.cancel()
    lock.release()
    print("main released; locked:", lock.locked())
    try:
        await a
    except asyncio.CancelledError:
        print("a is cancelled")
    await asyncio.gather(b, c)

asyncio.run(main())
)py"));
}

TEST_CASE("lock: release() of a lock that is not locked is a clear std::logic_error") {
    aio::lock lk;
    CHECK_THROWS_WITH_AS(lk.release(), "aio::lock::release: the lock is not acquired",
                         std::logic_error);
}

TEST_CASE("lock: async_with holds the lock around its body, and releases it when the body throws") {
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        aio::lock lk;
        auto inside = [&]() -> aio::coroutine<> {
            CHECK(lk.locked());
            co_await aio::sleep(1s);
            throw std::runtime_error("boom");
        };
        CHECK_THROWS_WITH_AS(co_await aio::async_with(lk, inside), "boom", std::runtime_error);
        CHECK_FALSE(lk.locked());
    };
    aio::run(body(), virtual_time);
}

// Each cancelled acquire costs two C++ throws (~3 µs in release, ten times that under the
// sanitizers): 200,000 keep this test within make check's 10 s per test in every build mode.
TEST_CASE("lock: 200,000 cancelled acquires leave no waiter behind; the lock still works") {
    no_leaks check;
    auto body = []() -> aio::coroutine<int> {
        aio::lock lk;
        co_await lk.acquire();   // held by us throughout: every acquire below must wait
        int cancelled = 0;
        constexpr int rounds = 200'000;
        auto stubborn = [&]() -> aio::coroutine<> {
            for (int i = 0; i < rounds; ++i) {
                try {
                    co_await lk.acquire();
                    FAIL("acquired a held lock");
                } catch (const aio::cancelled_error&) {
                    ++cancelled;
                }
            }
        };
        auto victim = aio::create_task(stubborn());
        while (!victim.done()) {
            co_await aio::sleep(0s);   // the victim is waiting again by now
            victim.cancel();
        }
        lk.release();
        // Nothing may be left queued: a newcomer takes the free lock at once.
        auto take_and_give_back = [&]() -> aio::coroutine<> {
            co_await lk.acquire();
            lk.release();
        };
        auto newcomer = aio::create_task(take_and_give_back());
        co_await aio::sleep(0s);
        CHECK(newcomer.done());
        co_return cancelled;
    };
    CHECK(aio::run(body(), virtual_time) == 200'000);
}

TEST_CASE("lock: destroyed while a task waits for it, the task gets a std::logic_error, never a "
          "dangling wake-up") {
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        auto lk = std::make_unique<aio::lock>();
        co_await lk->acquire();
        auto waiting = [](aio::lock* l) -> aio::coroutine<> { co_await l->acquire(); };
        auto t = aio::create_task(waiting(lk.get()));
        co_await aio::sleep(0s);
        lk.reset();
        CHECK_THROWS_WITH_AS(co_await t, "aio::lock destroyed while a task waited on it",
                             std::logic_error);
    };
    aio::run(body(), virtual_time);
}

TEST_CASE("lock: destroyed after a task waiting for it was cancelled, the task still gets the "
          "std::logic_error, and its cancellation stays requested") {
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        auto lk = std::make_unique<aio::lock>();
        co_await lk->acquire();
        auto waiting = [](aio::lock* l) -> aio::coroutine<std::string> {
            std::string what = "no error";
            try {
                co_await l->acquire();
            } catch (const std::logic_error& e) {
                what = e.what();
            }
            try {
                co_await aio::sleep(0s);
            } catch (const aio::cancelled_error&) {
                what += "; then cancelled";
            }
            co_return what;
        };
        auto t = aio::create_task(waiting(lk.get()));
        co_await aio::sleep(0s);
        t.cancel();   // the waiter is cancelled and queued to run...
        lk.reset();   // ...and its lock goes first: the cancel handler must not touch it
        CHECK(co_await t == "aio::lock destroyed while a task waited on it; then cancelled");
    };
    aio::run(body(), virtual_time);
}
