// Lesson 10: aio::semaphore and aio::bounded_semaphore (runtime/aio/semaphore.hpp). The hole
// table is in lock_test.cpp.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/cpython.hpp"
#include "support/no_leaks.hpp"
#include "support/printing.hpp"
#include "support/trace.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

using log_t = aio_test::log_t;
constexpr aio::clock_mode virtual_time = aio::clock_mode::virtual_time;

std::string yes_no(bool b) { return b ? "True" : "False"; }

aio::coroutine<> slot_user(std::string name, aio::semaphore* s, aio::duration work, log_t* log) {
    log->push_back(name + " wants a slot; locked: " + yes_no(s->locked()));
    try {
        co_await s->acquire();
    } catch (const aio::cancelled_error&) {
        log->push_back(name + " cancelled while waiting");
        throw;
    }
    log->push_back(name + " has a slot");
    co_await aio::sleep(work);
    s->release();
    log->push_back(name + " gave it back");
}

constexpr const char* slot_user_py = R"py(
import asyncio

async def slot_user(name, s, work):
    print(name, "wants a slot; locked:", s.locked())
    try:
        await s.acquire()
    except asyncio.CancelledError:
        print(name, "cancelled while waiting")
        raise
    print(name, "has a slot")
    await asyncio.sleep(work)
    s.release()
    print(name, "gave it back")
)py";

aio::coroutine<> fair_slots(log_t* log) {
    aio::semaphore s(2);
    std::vector<aio::task<>> users;
    for (int i = 0; i < 5; ++i)
        users.push_back(aio::create_task(slot_user(std::string(1, char('a' + i)), &s,
                                                   aio::duration(50ms * (i + 1)), log)));
    co_await aio::sleep(75ms);   // a is done: its slot was reserved for c at once
    log->push_back("locked: " + yes_no(s.locked()));
    co_await s.acquire();        // main queues behind d and e, although c has not run
    log->push_back("main has a slot");
    s.release();
    co_await aio::gather(std::move(users));
}

aio::coroutine<> woken_then_cancelled(log_t* log) {
    aio::semaphore s(1);
    co_await s.acquire();
    auto a = aio::create_task(slot_user("a", &s, aio::duration(10ms), log));
    auto b = aio::create_task(slot_user("b", &s, aio::duration(10ms), log));
    co_await aio::sleep(0s);
    s.release();   // the slot is reserved for a...
    a.cancel();    // ...which is cancelled before it runs: the slot goes on to b
    co_await aio::gather(aio::return_exceptions, a, b);
    log->push_back("a cancelled: " + yes_no(a.cancelled()) + "; locked: " + yes_no(s.locked()));
}

} // namespace

TEST_CASE("semaphore: at most n at a time, first come first served, the slot reserved for the "
          "waiter it wakes, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(fair_slots(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(slot_user_py) + R"py(
async def main():
    s = asyncio.Semaphore(2)
    users = [asyncio.create_task(slot_user("abcde"[i], s, 0.05 * (i + 1))) for i in range(5)]
    await asyncio.sleep(0.075)
    print("locked:", s.locked())
    await s.acquire()
    print("main has a slot")
    s.release()
    await asyncio.gather(*users)

asyncio.run(main())
)py"));
}

TEST_CASE("semaphore_pass_on: a waiter woken and then cancelled before it runs gives its slot to "
          "the next one, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(woken_then_cancelled(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(slot_user_py) + R"py(
async def main():
    s = asyncio.Semaphore(1)
    await s.acquire()
    a = asyncio.create_task(slot_user("a", s, 0.01))
    b = asyncio.create_task(slot_user("b", s, 0.01))
    await asyncio.sleep(0)
    s.release()
    a.cancel()
    await asyncio.gather(a, b, return_exceptions=True)
    print(f"a cancelled: {a.cancelled()}; locked: {s.locked()}")

asyncio.run(main())
)py"));
}

TEST_CASE("semaphore_pass_on: cancel churn — every waiter cancelled, woken or not, and the count "
          "comes out exact") {
    no_leaks check;
    auto body = []() -> aio::coroutine<std::ptrdiff_t> {
        aio::semaphore s(0);
        log_t log;
        for (int i = 0; i < 10'000; ++i) {
            auto a = aio::create_task(slot_user("a", &s, aio::duration(0), &log));
            auto b = aio::create_task(slot_user("b", &s, aio::duration(0), &log));
            co_await aio::sleep(0s);
            if (i % 2) s.release();   // every other round, a is woken first
            a.cancel();
            b.cancel();
            co_await aio::gather(aio::return_exceptions, a, b);
            if (i % 2) co_await s.acquire();   // the released slot must still be there
        }
        co_return s.value();
    };
    CHECK(aio::run(body(), virtual_time) == 0);
}

TEST_CASE("semaphore: a negative start value is std::invalid_argument") {
    CHECK_THROWS_WITH_AS(aio::semaphore(-1), "aio::semaphore: the start value must be >= 0, not -1",
                         std::invalid_argument);
    CHECK_THROWS_AS(aio::bounded_semaphore(-3), std::invalid_argument);
    CHECK_FALSE(aio::semaphore(0).value() != 0);
    CHECK(aio::semaphore(0).locked());
}

TEST_CASE("bounded_semaphore: a release above the start value is a clear std::logic_error; a plain "
          "semaphore may go above it") {
    aio::bounded_semaphore bounded(2);
    CHECK_THROWS_WITH_AS(bounded.release(),
                         "aio::bounded_semaphore::release: released more often than acquired "
                         "(the value would exceed 2)",
                         std::logic_error);
    CHECK(bounded.value() == 2);
    aio::semaphore plain(2);
    plain.release();
    CHECK(plain.value() == 3);
}

TEST_CASE("bounded_semaphore: async_with takes a slot around its body and gives it back") {
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        aio::bounded_semaphore s(1);
        auto inside = [&]() -> aio::coroutine<> {
            CHECK(s.locked());
            co_await aio::sleep(1s);
        };
        co_await aio::async_with(s, inside);
        CHECK(s.value() == 1);
        CHECK_FALSE(s.locked());
    };
    aio::run(body(), virtual_time);
}
