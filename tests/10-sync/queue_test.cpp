// Lesson 10: aio::queue, priority_queue, lifo_queue (runtime/aio/queue.hpp). The hole table is
// in lock_test.cpp.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/counted.hpp"
#include "support/cpython.hpp"
#include "support/no_leaks.hpp"
#include "support/printing.hpp"
#include "support/trace.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using log_t = aio_test::log_t;
constexpr aio::clock_mode virtual_time = aio::clock_mode::virtual_time;

std::string yes_no(bool b) { return b ? "True" : "False"; }

aio::coroutine<> producer(aio::queue<int>* q, int n, log_t* log) {
    for (int i = 0; i < n; ++i) {
        co_await q->put(i);
        log->push_back("put " + std::to_string(i) + ", qsize " + std::to_string(q->qsize()) +
                       ", full " + yes_no(q->full()));
    }
}

aio::coroutine<> consumer(std::string name, aio::queue<int>* q, log_t* log) {
    for (;;) {
        int item = co_await q->get();
        log->push_back(name + " got " + std::to_string(item));
        co_await aio::sleep(aio::duration(20ms * (item % 3 + 1)));
        q->task_done();
    }
}

aio::coroutine<> pipeline(log_t* log) {
    aio::queue<int> q(2);
    auto a = aio::create_task(consumer("a", &q, log));
    auto b = aio::create_task(consumer("b", &q, log));
    co_await producer(&q, 7, log);
    log->push_back("all put");
    co_await q.join();
    log->push_back("joined, qsize " + std::to_string(q.qsize()));
    a.cancel();
    b.cancel();
    co_await aio::gather(aio::return_exceptions, a, b);
}

aio::coroutine<> getter(std::string name, aio::queue<int>* q, log_t* log) {
    log->push_back(name + " waits for an item");
    try {
        int item = co_await q->get();
        log->push_back(name + " got " + std::to_string(item));
    } catch (const aio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
}

aio::coroutine<> putter(std::string name, aio::queue<int>* q, int item, log_t* log) {
    log->push_back(name + " waits for room");
    try {
        co_await q->put(item);
        log->push_back(name + " put " + std::to_string(item));
    } catch (const aio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
}

constexpr const char* waiters_py = R"py(
import asyncio

async def getter(name, q):
    print(name, "waits for an item")
    try:
        item = await q.get()
        print(name, "got", item)
    except asyncio.CancelledError:
        print(name, "cancelled")
        raise

async def putter(name, q, item):
    print(name, "waits for room")
    try:
        await q.put(item)
        print(name, "put", item)
    except asyncio.CancelledError:
        print(name, "cancelled")
        raise
)py";

aio::coroutine<> getter_woken_then_cancelled(log_t* log) {
    aio::queue<int> q;
    auto a = aio::create_task(getter("a", &q, log));
    auto b = aio::create_task(getter("b", &q, log));
    co_await aio::sleep(0s);
    q.put_nowait(1);   // wakes a...
    a.cancel();        // ...cancelled before it runs: b must be woken in its place
    co_await aio::gather(aio::return_exceptions, a, b);
    log->push_back("qsize " + std::to_string(q.qsize()));
}

aio::coroutine<> putter_woken_then_cancelled(log_t* log) {
    aio::queue<int> q(1);
    q.put_nowait(0);
    auto a = aio::create_task(putter("a", &q, 1, log));
    auto b = aio::create_task(putter("b", &q, 2, log));
    co_await aio::sleep(0s);
    log->push_back("took " + std::to_string(q.get_nowait()));   // wakes a...
    a.cancel();        // ...cancelled before it runs: b gets the free slot
    co_await aio::gather(aio::return_exceptions, a, b);
    const std::size_t size = q.qsize();
    log->push_back("qsize " + std::to_string(size) + ", next " + std::to_string(q.get_nowait()));
}

aio::coroutine<> barging(log_t* log) {
    aio::queue<int> q;
    auto a = aio::create_task(getter("a", &q, log));
    co_await aio::sleep(0s);
    q.put_nowait(7);   // wakes a, but the item is there for anyone:
    log->push_back("main took " + std::to_string(q.get_nowait()));   // main takes it first
    co_await aio::sleep(0s);   // a finds the queue empty and waits again
    q.put_nowait(8);
    co_await a;
}

} // namespace

TEST_CASE("queue: put() waits at maxsize, join() waits for every task_done(), as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(pipeline(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio

async def producer(q, n):
    for i in range(n):
        await q.put(i)
        print(f"put {i}, qsize {q.qsize()}, full {q.full()}")

async def consumer(name, q):
    while True:
        item = await q.get()
        print(name, "got", item)
        await asyncio.sleep(0.02 * (item % 3 + 1))
        q.task_done()

async def main():
    q = asyncio.Queue(2)
    a = asyncio.create_task(consumer("a", q))
    b = asyncio.create_task(consumer("b", q))
    await producer(q, 7)
    print("all put")
    await q.join()
    print("joined, qsize", q.qsize())
    a.cancel()
    b.cancel()
    await asyncio.gather(a, b, return_exceptions=True)

asyncio.run(main())
)py"));
}

TEST_CASE("queue_get: a getter woken and then cancelled before it runs wakes the next getter, as "
          "in CPython") {
    no_leaks check;
    log_t log;
    aio::run(getter_woken_then_cancelled(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(waiters_py) + R"py(
async def main():
    q = asyncio.Queue()
    a = asyncio.create_task(getter("a", q))
    b = asyncio.create_task(getter("b", q))
    await asyncio.sleep(0)
    q.put_nowait(1)
    a.cancel()
    await asyncio.gather(a, b, return_exceptions=True)
    print("qsize", q.qsize())

asyncio.run(main())
)py"));
}

TEST_CASE("queue_get: a wake-up is a hint — a task that takes the item first wins, the woken "
          "getter waits again, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(barging(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(waiters_py) + R"py(
async def main():
    q = asyncio.Queue()
    a = asyncio.create_task(getter("a", q))
    await asyncio.sleep(0)
    q.put_nowait(7)
    print("main took", q.get_nowait())
    await asyncio.sleep(0)
    q.put_nowait(8)
    await a

asyncio.run(main())
)py"));
}

TEST_CASE("queue: a putter woken and then cancelled before it runs gives the free slot to the "
          "next putter, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(putter_woken_then_cancelled(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(waiters_py) + R"py(
async def main():
    q = asyncio.Queue(1)
    q.put_nowait(0)
    a = asyncio.create_task(putter("a", q, 1))
    b = asyncio.create_task(putter("b", q, 2))
    await asyncio.sleep(0)
    print("took", q.get_nowait())
    a.cancel()
    await asyncio.gather(a, b, return_exceptions=True)
    print(f"qsize {q.qsize()}, next {q.get_nowait()}")

asyncio.run(main())
)py"));
}

TEST_CASE("queue: cancel churn — 40,000 cancelled gets and puts leave no waiter behind") {
    no_leaks check;
    auto body = []() -> aio::coroutine<std::string> {
        aio::queue<int> q(1);
        log_t log;
        for (int i = 0; i < 20'000; ++i) {
            auto g = aio::create_task(getter("g", &q, &log));
            co_await aio::sleep(0s);
            g.cancel();
            co_await aio::gather(aio::return_exceptions, g);
        }
        q.put_nowait(1);
        for (int i = 0; i < 20'000; ++i) {
            auto p = aio::create_task(putter("p", &q, 2, &log));
            co_await aio::sleep(0s);
            p.cancel();
            co_await aio::gather(aio::return_exceptions, p);
        }
        // A cancelled waiter left in a list would be a node of a destroyed frame when these
        // wake the next one (the sanitizer builds see the read), or, woken instead of skipped,
        // it would swallow the wake-up they wait for.
        auto p = aio::create_task(putter("last putter", &q, 3, &log));
        co_await aio::sleep(0s);
        const int first = q.get_nowait();
        co_await p;
        auto g = aio::create_task(getter("last getter", &q, &log));
        co_await g;
        co_return std::to_string(first) + " " + log.back();
    };
    CHECK(aio::run(body(), virtual_time) == "1 last getter got 3");
}

TEST_CASE("queue: task_done() more often than put() is a clear std::logic_error; join() on a "
          "queue with nothing unfinished returns at once") {
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        aio::queue<int> q;
        co_await q.join();
        q.put_nowait(1);
        CHECK(q.get_nowait() == 1);
        q.task_done();
        CHECK_THROWS_WITH_AS(q.task_done(),
                             "aio::queue::task_done: called more times than items were put",
                             std::logic_error);
        co_await q.join();
    };
    aio::run(body(), virtual_time);
}

TEST_CASE("queue: the _nowait calls throw queue_full / queue_empty; a negative maxsize is "
          "std::invalid_argument") {
    aio::queue<int> q(1);
    CHECK(q.maxsize() == 1);
    CHECK(q.empty());
    CHECK_THROWS_AS(q.get_nowait(), aio::queue_empty);
    q.put_nowait(1);
    CHECK(q.full());
    CHECK_THROWS_AS(q.put_nowait(2), aio::queue_full);
    CHECK_THROWS_WITH_AS(aio::queue<int>(-1), "aio::queue: maxsize must be >= 0 (0: no limit), not -1",
                         std::invalid_argument);
    aio::queue<int> unbounded;
    for (int i = 0; i < 10'000; ++i) unbounded.put_nowait(i);
    CHECK_FALSE(unbounded.full());
}

TEST_CASE("queue: shutdown() as Python 3.13 — blocked putters throw queue_shut_down, getters "
          "drain what is left first") {
    // CPython 3.11, the oracle installed here, has no Queue.shutdown: the expected log is
    // written out from 3.13's documented behaviour.
    no_leaks check;
    auto body = [](log_t* log) -> aio::coroutine<> {
        aio::queue<int> q(2);
        q.put_nowait(1);
        q.put_nowait(2);
        auto blocked = aio::create_task(putter("p", &q, 3, log));
        co_await aio::sleep(0s);
        q.shutdown();
        try {
            co_await blocked;
        } catch (const aio::queue_shut_down&) {
            log->push_back("p: queue_shut_down");
        }
        CHECK_THROWS_AS(q.put_nowait(4), aio::queue_shut_down);
        const int first = co_await q.get();   // one co_await per statement (lesson 03)
        log->push_back("got " + std::to_string(first));
        log->push_back("got " + std::to_string(q.get_nowait()));
        CHECK_THROWS_AS(q.get_nowait(), aio::queue_shut_down);   // drained: now it says so
        auto late = aio::create_task(getter("g", &q, log));
        CHECK_THROWS_AS(co_await late, aio::queue_shut_down);
    };
    log_t log;
    aio::run(body(&log), virtual_time);
    CHECK(log == log_t{"p waits for room", "p: queue_shut_down", "got 1", "got 2", "g waits for an item"});
}

TEST_CASE("queue: shutdown(immediate) wakes blocked getters at once, drops the items left and "
          "counts them done, so join() returns") {
    no_leaks check;
    auto body = [](log_t* log) -> aio::coroutine<> {
        aio::queue<int> empty_one;
        auto g = aio::create_task(getter("g", &empty_one, log));
        co_await aio::sleep(0s);
        empty_one.shutdown(true);
        CHECK_THROWS_AS(co_await g, aio::queue_shut_down);

        aio::queue<int> q;
        q.put_nowait(1);
        q.put_nowait(2);
        auto joiner = [&]() -> aio::coroutine<> {
            co_await q.join();
            log->push_back("joined");
        };
        auto j = aio::create_task(joiner());
        co_await aio::sleep(0s);
        log->push_back("shutting down");
        q.shutdown(true);
        CHECK(q.empty());
        co_await j;
        CHECK_THROWS_AS(q.get_nowait(), aio::queue_shut_down);
    };
    log_t log;
    aio::run(body(&log), virtual_time);
    CHECK(log == log_t{"g waits for an item", "shutting down", "joined"});
}

TEST_CASE("queue: move-only items pass through, and every item is destroyed exactly once") {
    no_leaks check;
    auto body = []() -> aio::coroutine<int> {
        aio::queue<std::unique_ptr<counted>> q(1);
        auto produce = [&]() -> aio::coroutine<> {
            for (int i = 0; i < 5; ++i) co_await q.put(std::make_unique<counted>());
        };
        auto p = aio::create_task(produce());
        int got = 0;
        for (int i = 0; i < 5; ++i) {
            std::unique_ptr<counted> item = co_await q.get();
            got += item != nullptr;
        }
        co_await p;
        q.put_nowait(std::make_unique<counted>());   // left in the queue: freed with it
        co_return got;
    };
    CHECK(aio::run(body(), virtual_time) == 5);
}

TEST_CASE("queue: destroyed while tasks wait in get() and join(), each gets a std::logic_error "
          "naming the queue") {
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        auto q = std::make_unique<aio::queue<int>>();
        q->put_nowait(1);
        CHECK(q->get_nowait() == 1);   // taken, not yet task_done(): join() waits
        log_t log;
        auto g = aio::create_task(getter("g", q.get(), &log));
        auto joining = [](aio::queue<int>* of) -> aio::coroutine<> { co_await of->join(); };
        auto j = aio::create_task(joining(q.get()));
        co_await aio::sleep(0s);
        q.reset();
        CHECK_THROWS_WITH_AS(co_await g, "aio::queue destroyed while a task waited on it",
                             std::logic_error);
        CHECK_THROWS_WITH_AS(co_await j, "aio::queue destroyed while a task waited on it",
                             std::logic_error);
    };
    aio::run(body(), virtual_time);
}

TEST_CASE("queue: destroyed after a put() woke a getter, or a get() a putter, or shutdown() "
          "both, before they ran: each gets a std::logic_error, never freed memory") {
    no_leaks check;
    // The woken get() and put() would look at the queue again when they run.
    auto body = []() -> aio::coroutine<> {
        log_t log;
        auto q = std::make_unique<aio::queue<int>>(1);
        auto g = aio::create_task(getter("g", q.get(), &log));
        co_await aio::sleep(0s);
        q->put_nowait(1);   // wakes g
        q.reset();
        CHECK_THROWS_WITH_AS(co_await g, "aio::queue destroyed while a task waited on it",
                             std::logic_error);

        q = std::make_unique<aio::queue<int>>(1);
        q->put_nowait(1);
        auto p = aio::create_task(putter("p", q.get(), 2, &log));
        co_await aio::sleep(0s);
        CHECK(q->get_nowait() == 1);   // wakes p
        q.reset();
        CHECK_THROWS_WITH_AS(co_await p, "aio::queue destroyed while a task waited on it",
                             std::logic_error);

        auto empty_one = std::make_unique<aio::queue<int>>(1);
        auto full_one = std::make_unique<aio::queue<int>>(1);
        full_one->put_nowait(1);
        g = aio::create_task(getter("g", empty_one.get(), &log));
        p = aio::create_task(putter("p", full_one.get(), 2, &log));
        co_await aio::sleep(0s);
        empty_one->shutdown();
        full_one->shutdown();
        empty_one.reset();
        full_one.reset();
        CHECK_THROWS_AS(co_await g, std::logic_error);
        CHECK_THROWS_AS(co_await p, std::logic_error);
    };
    aio::run(body(), virtual_time);
}

TEST_CASE("priority_queue: the smallest first; lifo_queue: the newest first, as in CPython") {
    no_leaks check;
    auto body = [](log_t* log) -> aio::coroutine<> {
        aio::priority_queue<std::pair<int, std::string>> pq;
        for (auto& job : std::vector<std::pair<int, std::string>>{
                 {3, "low"}, {1, "urgent"}, {2, "normal"}, {1, "also urgent"}})
            co_await pq.put(job);
        while (!pq.empty()) {
            auto [priority, name] = co_await pq.get();
            log->push_back(std::to_string(priority) + " " + name);
        }
        aio::lifo_queue<int> stack;
        for (int i = 0; i < 4; ++i) stack.put_nowait(i);
        while (!stack.empty()) log->push_back("lifo " + std::to_string(stack.get_nowait()));
    };
    log_t log;
    aio::run(body(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio

async def main():
    pq = asyncio.PriorityQueue()
    for job in [(3, "low"), (1, "urgent"), (2, "normal"), (1, "also urgent")]:
        await pq.put(job)
    while not pq.empty():
        priority, name = await pq.get()
        print(priority, name)
    stack = asyncio.LifoQueue()
    for i in range(4):
        stack.put_nowait(i)
    while not stack.empty():
        print("lifo", stack.get_nowait())

asyncio.run(main())
)py"));
}

TEST_CASE("lifo_queue: a blocked put() is woken by a get(), as every queue's") {
    no_leaks check;
    auto body = []() -> aio::coroutine<int> {
        aio::lifo_queue<int> q(1);
        q.put_nowait(1);
        auto late = [&]() -> aio::coroutine<> { co_await q.put(2); };
        auto p = aio::create_task(late());
        co_await aio::sleep(0s);
        CHECK_FALSE(p.done());
        const int first = co_await q.get();
        co_await p;
        co_return first * 10 + q.get_nowait();
    };
    CHECK(aio::run(body(), virtual_time) == 12);
}
