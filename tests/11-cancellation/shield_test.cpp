// Lesson 11: aio::shield (runtime/aio/shield.hpp). The hole table is in timeout_test.cpp.
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

aio::coroutine<std::string> save(log_t* log) {
    log->push_back("saving");
    co_await aio::sleep(200ms);
    log->push_back("saved");
    co_return "document saved";
}

aio::coroutine<> waiter(aio::task<std::string> work, log_t* log) {
    try {
        std::string result = co_await aio::shield(work);
        log->push_back("waiter got: " + result);
    } catch (const aio::cancelled_error&) {
        log->push_back("waiter cancelled");
        throw;
    }
}

aio::coroutine<> shielded(log_t* log) {
    auto work = aio::create_task(save(log));
    auto w = aio::create_task(waiter(work, log));
    co_await aio::sleep(100ms);
    w.cancel();
    co_await aio::gather(aio::return_exceptions, w);
    log->push_back("waiter cancelled: " + std::string(w.cancelled() ? "True" : "False") +
                   ", work done: " + (work.done() ? "True" : "False"));
    std::string result = co_await work;
    log->push_back("the work's result: " + result);
    auto again = aio::create_task(waiter(work, log));   // a finished task: no wait at all
    co_await again;
}

aio::coroutine<> inner_cancelled(log_t* log) {
    auto work = aio::create_task(save(log));
    auto w = aio::create_task(waiter(work, log));
    co_await aio::sleep(100ms);
    work.cancel();   // the work itself: the shield does not stop that
    co_await aio::gather(aio::return_exceptions, w);
    log->push_back("waiter cancelled: " + std::string(w.cancelled() ? "True" : "False"));
}

constexpr const char* save_py = R"py(
import asyncio

async def save():
    print("saving")
    await asyncio.sleep(0.2)
    print("saved")
    return "document saved"

async def waiter(work):
    try:
        result = await asyncio.shield(work)
        print("waiter got:", result)
    except asyncio.CancelledError:
        print("waiter cancelled")
        raise
)py";

} // namespace

TEST_CASE("shield_cancel: a cancelled awaiter gets cancelled_error at once while the work goes "
          "on; its result stays in its task, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(shielded(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(save_py) + R"py(
async def main():
    work = asyncio.create_task(save())
    w = asyncio.create_task(waiter(work))
    await asyncio.sleep(0.1)
    w.cancel()
    await asyncio.gather(w, return_exceptions=True)
    print(f"waiter cancelled: {w.cancelled()}, work done: {work.done()}")
    result = await work
    print("the work's result:", result)
    await asyncio.create_task(waiter(work))

asyncio.run(main())
)py"));
}

TEST_CASE("shield: a cancellation of the work itself still reaches the awaiter, as in CPython") {
    no_leaks check;
    log_t log;
    aio::run(inner_cancelled(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(std::string(save_py) + R"py(
async def main():
    work = asyncio.create_task(save())
    w = asyncio.create_task(waiter(work))
    await asyncio.sleep(0.1)
    work.cancel()
    await asyncio.gather(w, return_exceptions=True)
    print("waiter cancelled:", w.cancelled())

asyncio.run(main())
)py"));
}

TEST_CASE("shield: a coroutine becomes a task that runs to its end; an empty task is "
          "std::invalid_argument") {
    no_leaks check;
    auto body = [](log_t* log) -> aio::coroutine<> {
        auto shielding = [](log_t* out) -> aio::coroutine<> {
            std::string r = co_await aio::shield(save(out));
            out->push_back(r);
        };
        auto w = aio::create_task(shielding(log));
        co_await aio::sleep(100ms);
        w.cancel();
        co_await aio::gather(aio::return_exceptions, w);
        co_await aio::sleep(1s);   // the shielded coroutine still finishes
        CHECK_THROWS_WITH_AS(aio::shield(aio::task<int>()), "aio::shield: empty task",
                             std::invalid_argument);
    };
    log_t log;
    aio::run(body(&log), virtual_time);
    CHECK(log == log_t{"saving", "saved"});
}
