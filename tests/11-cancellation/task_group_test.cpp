// Lesson 11: aio::task_group and exception_group (runtime/aio/task_group.hpp). The hole table
// is in timeout_test.cpp.
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

// Sleeps `ms` milliseconds, then fails with `error` (unless empty) or returns `ms`.
aio::coroutine<int> job(std::string name, int ms, std::string error, log_t* log) {
    try {
        co_await aio::sleep(std::chrono::milliseconds(ms));
    } catch (const aio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
    if (!error.empty()) {
        log->push_back(name + " fails");
        throw std::runtime_error(error);
    }
    log->push_back(name + " done");
    co_return ms;
}

// What a block that waits long would say when the group cancels it.
aio::coroutine<> long_body(log_t* log) {
    try {
        co_await aio::sleep(10s);
    } catch (const aio::cancelled_error&) {
        log->push_back("body cancelled");
        throw;
    }
}

void log_group(const aio::exception_group& group, log_t* log) {
    log->push_back(std::string("exception_group: ") + group.what());
    for (const std::exception_ptr& e : group.exceptions()) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            log->push_back(std::string("  ") + x.what());
        }
    }
}

constexpr const char* job_py = R"py(
import asyncio

async def job(name, ms, error, log=None):
    try:
        await asyncio.sleep(ms / 1000)
    except asyncio.CancelledError:
        print(name, "cancelled")
        raise
    if error:
        print(name, "fails")
        raise RuntimeError(error)
    print(name, "done")
    return ms

async def long_body():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("body cancelled")
        raise

def log_group(group):
    n = len(group.exceptions)
    print(f"exception_group: unhandled errors in a task_group ({n} sub-exception{'s' if n > 1 else ''})")
    for e in group.exceptions:
        print(" ", e)
)py";

aio::coroutine<> all_succeed(log_t* log) {
    aio::task_group group;
    aio::task<int> a, b;
    auto body = [&]() -> aio::coroutine<> {
        a = group.create_task(job("a", 200, "", log));
        b = group.create_task(job("b", 100, "", log));
        log->push_back("body ends");
        co_return;
    };
    co_await aio::async_with(group, body);
    log->push_back("after the group: " + std::to_string(a.result() + b.result()));
}

// Fails while it is being stopped: a second failure, after the first.
aio::coroutine<int> breaks_when_stopped(log_t* log) {
    bool stopped = false;
    try {
        co_await aio::sleep(10s);
    } catch (const aio::cancelled_error&) {
        stopped = true;
    }
    if (stopped) {
        log->push_back("b cancelled, and fails");
        throw std::runtime_error("b broke while stopping");
    }
    co_return 0;
}

// (One task besides the failing one: asyncio cancels a group's tasks in the order of a set.)
aio::coroutine<> one_fails(log_t* log) {
    aio::task_group group;
    auto body = [&]() -> aio::coroutine<> {
        group.create_task(job("a", 100, "a broke", log));
        group.create_task(breaks_when_stopped(log));
        co_await long_body(log);
    };
    try {
        co_await aio::async_with(group, body);
    } catch (const aio::exception_group& e) {
        log_group(e, log);
    }
}

aio::coroutine<> body_fails(log_t* log) {
    aio::task_group group;
    auto body = [&]() -> aio::coroutine<> {
        group.create_task(job("a", 300, "", log));
        group.create_task(job("b", 100, "b broke", log));
        co_await aio::sleep(200ms);
        throw std::runtime_error("the body broke");
    };
    try {
        co_await aio::async_with(group, body);
    } catch (const aio::exception_group& e) {
        log_group(e, log);
    }
}

aio::coroutine<> grouped(log_t* log) {
    aio::task_group group;
    auto body = [&]() -> aio::coroutine<> {
        group.create_task(job("a", 100, "", log));
        group.create_task(job("b", 1000, "", log));
        co_await long_body(log);
    };
    co_await aio::async_with(group, body);
}

aio::coroutine<> cancelled_from_outside(log_t* log) {
    auto worker = aio::create_task(grouped(log));
    co_await aio::sleep(200ms);
    worker.cancel();
    co_await aio::gather(aio::return_exceptions, worker);
    log->push_back("worker cancelled: " + std::string(worker.cancelled() ? "True" : "False") +
                   ", cancelling: " + std::to_string(worker.cancelling()));
}

aio::coroutine<> within_timeout(log_t* log) {
    auto deadline = aio::timeout(200ms);
    try {
        co_await aio::async_with(deadline, [log]() { return grouped(log); });
    } catch (const aio::timeout_error&) {
        log->push_back("timeout_error");
    }
}

aio::coroutine<> counts_after(aio::coroutine<> (*scenario)(log_t*), log_t* log) {
    auto worker = aio::create_task(scenario(log));
    co_await worker;
    log->push_back("cancelling: " + std::to_string(worker.cancelling()));
}

} // namespace

TEST_CASE("child_done: a group waits for all its tasks; the results are in their handles, as in "
          "CPython") {
    no_leaks check;
    log_t log;
    aio::run(all_succeed(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(job_py) + R"py(
async def main():
    async with asyncio.TaskGroup() as group:
        a = group.create_task(job("a", 200, ""))
        b = group.create_task(job("b", 100, ""))
        print("body ends")
    print("after the group:", a.result() + b.result())

asyncio.run(main())
)py"));
}

TEST_CASE("child_done: the first failure cancels the other tasks and the block; every failure "
          "comes out in one exception_group, in order, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(counts_after(one_fails, &log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(job_py) + R"py(
async def breaks_when_stopped():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("b cancelled, and fails")
        raise RuntimeError("b broke while stopping")
    return 0

async def one_fails():
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(job("a", 100, "a broke"))
            group.create_task(breaks_when_stopped())
            await long_body()
    except ExceptionGroup as e:
        log_group(e)

async def main():
    worker = asyncio.create_task(one_fails())
    await worker
    print("cancelling:", worker.cancelling())

asyncio.run(main())
)py"));
}

TEST_CASE("child_done: the block's own exception joins the group's, last, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(counts_after(body_fails, &log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(job_py) + R"py(
async def body_fails():
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(job("a", 300, ""))
            group.create_task(job("b", 100, "b broke"))
            await asyncio.sleep(0.2)
            raise RuntimeError("the body broke")
    except ExceptionGroup as e:
        log_group(e)

async def main():
    worker = asyncio.create_task(body_fails())
    await worker
    print("cancelling:", worker.cancelling())

asyncio.run(main())
)py"));
}

TEST_CASE("task_group: a cancel() from outside cancels every task and goes on as cancelled_error, "
          "as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(cancelled_from_outside(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(job_py) + R"py(
async def grouped():
    async with asyncio.TaskGroup() as group:
        group.create_task(job("a", 100, ""))
        group.create_task(job("b", 1000, ""))
        await long_body()

async def main():
    worker = asyncio.create_task(grouped())
    await asyncio.sleep(0.2)
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    print(f"worker cancelled: {worker.cancelled()}, cancelling: {worker.cancelling()}")

asyncio.run(main())
)py"));
}

TEST_CASE("task_group: a timeout around a group stops it and is a timeout_error, not an "
          "exception_group, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(counts_after(within_timeout, &log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(job_py) + R"py(
async def grouped():
    async with asyncio.TaskGroup() as group:
        group.create_task(job("a", 100, ""))
        group.create_task(job("b", 1000, ""))
        await long_body()

async def within_timeout():
    try:
        async with asyncio.timeout(0.2):
            await grouped()
    except TimeoutError:
        print("timeout_error")

async def main():
    worker = asyncio.create_task(within_timeout())
    await worker
    print("cancelling:", worker.cancelling())

asyncio.run(main())
)py"));
}

TEST_CASE("task_group: a task that fails while the group waits at its end stops the others; the "
          "group's own cancel() is taken back") {
    no_leaks check;
    auto scenario = [](log_t* log) -> aio::coroutine<> {
        aio::task_group group;
        auto body = [&]() -> aio::coroutine<> {
            group.create_task(job("a", 100, "a broke", log));
            group.create_task(job("b", 300, "", log));
            co_return;   // the group waits at its end when a fails
        };
        try {
            co_await aio::async_with(group, body);
        } catch (const aio::exception_group& e) {
            log_group(e, log);
        }
        co_await aio::sleep(10ms);   // not cancelled: the group took its request back
        log->push_back("the task goes on");
    };
    log_t log;
    aio::run(counts_after(scenario, &log), virtual_time);
    CHECK(log == log_t{"a fails", "b cancelled",
                       "exception_group: unhandled errors in a task_group (1 sub-exception)",
                       "  a broke", "the task goes on", "cancelling: 0"});
}

TEST_CASE("task_group: create_task before the group is entered, after it finished, or while it "
          "shuts down is a clear std::logic_error") {
    no_leaks check;
    auto body = [](log_t* log) -> aio::coroutine<> {
        aio::task_group group;
        CHECK_THROWS_WITH_AS(group.create_task(job("x", 1, "", log)),
                             "aio::task_group::create_task: the group has not been entered (use "
                             "async_with)",
                             std::logic_error);
        auto inside = [&]() -> aio::coroutine<> {
            group.create_task(job("a", 100, "a broke", log));
            try {
                co_await aio::sleep(1s);
            } catch (const aio::cancelled_error&) {
                CHECK_THROWS_WITH_AS(group.create_task(job("y", 1, "", log)),
                                     "aio::task_group::create_task: the group is shutting down",
                                     std::logic_error);
                throw;
            }
        };
        CHECK_THROWS_AS(co_await aio::async_with(group, inside), aio::exception_group);
        CHECK_THROWS_WITH_AS(group.create_task(job("z", 1, "", log)),
                             "aio::task_group::create_task: the group has finished",
                             std::logic_error);
        auto nothing = []() -> aio::coroutine<> { co_return; };
        CHECK_THROWS_WITH_AS(co_await aio::async_with(group, nothing),
                             "aio::task_group: already entered (a group is used once)",
                             std::logic_error);
    };
    log_t log;
    aio::run(body(&log), virtual_time);
    CHECK(log == log_t{"a fails"});
}
