// Lesson 12 — threads: to_thread, run_in_executor, call_soon_threadsafe, getaddrinfo, files.
//
// Holes: post, work, run_on_thread.
// Test names, in all the files of tests/12-threads, start with the hole they pin, or a topic.
// What the tests of each need besides it (`make check` shows a test waiting for a hole that does
// not work rather than failing; `make test` checks this table against the exercise):
//   to_thread needs post, work, run_on_thread.
//   run_in_executor needs post, work, run_on_thread.
//   getaddrinfo needs post, work, run_on_thread.
//   open_file needs post, work, run_on_thread.
//   call_soon_threadsafe needs post.
//   thread_pool needs work.
//   thread_check needs no hole.
// A test that awaits a thread first checks that threads answer at all (support/threads.hpp), so
// that a missing hole fails it at once instead of hanging it. Ordering tests run the scenario as
// an asyncio program too and compare what both print: threads block on gates that the loop
// opens, never on time, so the output does not depend on how fast anything runs.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/counted.hpp"
#include "support/cpython.hpp"
#include "support/fds.hpp"
#include "support/no_leaks.hpp"
#include "support/threads.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using aio_test::require_thread_answers;

namespace {

using log_t = std::vector<std::string>;

// Ticks while a thread waits for the third tick: the loop ran other tasks during the call.
aio::coroutine<> ticking(log_t* log) {
    std::latch three_ticks(1);
    auto ticker = [](log_t* out, std::latch* gate) -> aio::coroutine<> {
        for (int i = 1; i <= 3; ++i) {
            out->push_back("tick " + std::to_string(i));
            co_await aio::sleep(0s);
        }
        gate->count_down();
    };
    aio::task<> t = aio::create_task(ticker(log, &three_ticks));
    // (A capturing lambda is named before the co_await: g++ 12 destroys such a temporary twice.)
    auto wait_for_ticks = [&three_ticks] {
        three_ticks.wait();
        return std::string("the thread saw 3 ticks");
    };
    std::string said = co_await aio::to_thread(wait_for_ticks);
    log->push_back(said);
    co_await t;
}

} // namespace

TEST_CASE("to_thread: the loop runs other tasks while a thread works, as in CPython") {
    require_thread_answers();
    no_leaks check;
    log_t log;
    aio::run(ticking(&log));
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio, threading

async def main():
    three_ticks = threading.Event()
    async def ticker():
        for i in range(1, 4):
            print("tick", i)
            await asyncio.sleep(0)
        three_ticks.set()
    t = asyncio.create_task(ticker())
    def wait_for_ticks():
        three_ticks.wait()
        return "the thread saw 3 ticks"
    print(await asyncio.to_thread(wait_for_ticks))
    await t

asyncio.run(main())
)py"));
}

TEST_CASE("to_thread: the result comes back on the loop's thread; the function ran on another") {
    require_thread_answers();
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        const std::thread::id loop_thread = std::this_thread::get_id();
        std::thread::id ran_on = co_await aio::to_thread([] { return std::this_thread::get_id(); });
        CHECK(ran_on != loop_thread);
        CHECK(std::this_thread::get_id() == loop_thread);
        int sum = co_await aio::to_thread([](int a, int b) { return a + b; }, 40, 2);
        CHECK(sum == 42);
    };
    aio::run(body());
}

TEST_CASE("to_thread: an exception of the function is thrown at the await, as in CPython") {
    require_thread_answers();
    no_leaks check;
    log_t log;
    auto body = [](log_t* out) -> aio::coroutine<> {
        try {
            co_await aio::to_thread([]() -> int { throw std::invalid_argument("bad input 7"); });
            out->push_back("no exception");
        } catch (const std::invalid_argument& e) {
            out->push_back(std::string("caught ValueError: ") + e.what());
        }
        co_await aio::to_thread([] {});   // a void function
        out->push_back("void call done");
    };
    aio::run(body(&log));
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio

def bad():
    raise ValueError("bad input 7")

async def main():
    try:
        await asyncio.to_thread(bad)
        print("no exception")
    except ValueError as e:
        print("caught ValueError:", e)
    await asyncio.to_thread(lambda: None)
    print("void call done")

asyncio.run(main())
)py"));
}

TEST_CASE("to_thread: move-only functions and arguments; the arguments are the thread's own copies") {
    require_thread_answers();
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        auto owned = std::make_unique<int>(5);
        auto add = [p = std::move(owned)](std::unique_ptr<int> q) { return *p + *q; };
        int got = co_await aio::to_thread(std::move(add), std::make_unique<int>(6));
        CHECK(got == 11);
        std::string text = "copied";
        std::string back = co_await aio::to_thread([](std::string s) { return s + "!"; }, text);
        CHECK(back == "copied!");
        CHECK(text == "copied");
        {   // counted: every copy the call made is gone once the await is over
            counted c;
            int n = co_await aio::to_thread([](counted) { return counted::alive; }, c);
            CHECK(n >= 2);
        }
    };
    const int before = counted::alive;
    aio::run(body());
    CHECK(counted::alive == before);
}

TEST_CASE("to_thread: cancelling the await abandons a running call; the thread cannot be stopped, "
          "and the loop joins it before it goes, as in CPython") {
    require_thread_answers();
    no_leaks check;
    log_t log;   // written by the loop's thread, and by the worker once the loop waits for it
    std::mutex log_mutex;
    auto say = [&](std::string s) {
        std::lock_guard lock(log_mutex);
        log.push_back(std::move(s));
    };
    auto body = [](auto say) -> aio::coroutine<> {
        auto started = std::make_shared<std::latch>(1);
        auto release = std::make_shared<std::latch>(1);
        aio::task<int> call = aio::create_task(aio::to_thread([=] {
            started->count_down();
            release->wait();
            say("slow finished on its thread");
            return 1;
        }));
        auto wait_until_started = [=] { started->wait(); };
        co_await aio::to_thread(wait_until_started);
        call.cancel();
        try {
            co_await call;
            say("not cancelled");
        } catch (const aio::cancelled_error&) {
            say("cancelled");
        }
        release->count_down();
    };
    aio::run(body(say));
    say("after run");
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio, threading

async def main():
    started, release = threading.Event(), threading.Event()
    def slow():
        started.set()
        release.wait()
        print("slow finished on its thread")
        return 1
    call = asyncio.create_task(asyncio.to_thread(slow))
    await asyncio.to_thread(started.wait)
    call.cancel()
    try:
        await call
        print("not cancelled")
    except asyncio.CancelledError:
        print("cancelled")
    release.set()

asyncio.run(main())
print("after run")
)py"));
}

TEST_CASE("run_in_executor: a call still queued when it is cancelled never runs, as in CPython") {
    require_thread_answers();
    no_leaks check;
    log_t log;
    std::mutex log_mutex;
    auto say = [&](std::string s) {
        std::lock_guard lock(log_mutex);
        log.push_back(std::move(s));
    };
    auto body = [](auto say) -> aio::coroutine<> {
        aio::thread_pool one(1);
        auto release = std::make_shared<std::latch>(1);
        aio::event_loop& loop = aio::get_running_loop();
        aio::task<> first = loop.run_in_executor(one, [=] { release->wait(); say("first ran"); });
        aio::task<> second = loop.run_in_executor(one, [=] { say("second ran"); });
        co_await aio::sleep(0s);   // both submitted: the second waits behind the first
        co_await aio::sleep(0s);
        second.cancel();
        try {
            co_await second;
        } catch (const aio::cancelled_error&) {
            say("second cancelled");
        }
        release->count_down();
        co_await first;
        one.shutdown();
        say("pool shut down");
    };
    aio::run(body(say));
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio, threading
from concurrent.futures import ThreadPoolExecutor

async def main():
    one = ThreadPoolExecutor(1)
    release = threading.Event()
    loop = asyncio.get_running_loop()
    def first_job():
        release.wait()
        print("first ran")
    first = loop.run_in_executor(one, first_job)
    second = loop.run_in_executor(one, lambda: print("second ran"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    second.cancel()
    try:
        await second
    except asyncio.CancelledError:
        print("second cancelled")
    release.set()
    await first
    one.shutdown()
    print("pool shut down")

asyncio.run(main())
)py"));
}

TEST_CASE("run_in_executor: the job is submitted at the call, as in CPython: the pool may go "
          "before the task runs (its destructor runs the job)") {
    require_thread_answers();
    no_leaks check;
    log_t log;
    auto body = [](log_t* log) -> aio::coroutine<> {
        aio::event_loop& loop = aio::get_running_loop();
        aio::task<int> answer;
        {
            aio::thread_pool pool(1);   // Python's `with ThreadPoolExecutor(1) as pool:`
            answer = loop.run_in_executor(pool, [](int n) { return n * 6; }, 7);
        }
        // The job ran on its thread, but the loop has not taken the answer yet.
        log->push_back(answer.done() ? "True" : "False");
        int got = co_await answer;
        log->push_back(std::to_string(got));
    };
    aio::run(body(&log));
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio
from concurrent.futures import ThreadPoolExecutor

async def main():
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1) as pool:
        answer = loop.run_in_executor(pool, lambda n: n * 6, 7)
    print(answer.done())
    print(await answer)

asyncio.run(main())
)py"));
}

TEST_CASE("to_thread: at the end of aio::run the loop runs on while its executor's threads are "
          "joined: a function still running may call the loop and wait for it, as in CPython") {
    require_thread_answers();
    no_leaks check;
    auto answered = std::make_shared<std::atomic<bool>>(false);
    auto body = [](std::shared_ptr<std::atomic<bool>> answered) -> aio::coroutine<> {
        aio::event_loop& loop = aio::get_running_loop();
        auto started = std::make_shared<std::latch>(1);
        // Calls back into the loop and waits for that call, after main is over.
        auto call_back = [&loop, started, answered] {
            started->count_down();
            std::this_thread::sleep_for(20ms);   // main returns meanwhile
            auto ran = std::make_shared<std::promise<void>>();
            std::future<void> ran_future = ran->get_future();
            loop.call_soon_threadsafe([ran] { ran->set_value(); });
            // A loop that no longer runs would drop the call (the future breaks), or never run it.
            if (ran_future.wait_for(10s) == std::future_status::ready) {
                ran_future.get();
                answered->store(true);
            }
        };
        aio::create_task(aio::to_thread(call_back));
        auto wait_started = [started] { started->wait(); };
        co_await aio::to_thread(wait_started);
    };
    aio::run(body(answered));
    CHECK(lines_of({answered->load() ? "answered True" : "answered False"}) == cpython_prints(R"py(
import asyncio, threading, time

answered = False

async def main():
    loop = asyncio.get_running_loop()
    started = threading.Event()
    def call_back():
        global answered
        started.set()
        time.sleep(0.02)
        ran = threading.Event()
        loop.call_soon_threadsafe(ran.set)
        if ran.wait(10):
            answered = True
    asyncio.create_task(asyncio.to_thread(call_back))
    await asyncio.to_thread(started.wait)

asyncio.run(main())
print("answered", answered)
)py"));
}

TEST_CASE("run_in_executor: on the default executor, a task whose result is the function's") {
    require_thread_answers();
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        aio::event_loop& loop = aio::get_running_loop();
        aio::task<std::string> t = loop.run_in_executor([](int n) { return std::string(n, 'x'); }, 3);
        CHECK(!t.done());
        std::string got = co_await t;
        CHECK(got == "xxx");
        CHECK(loop.default_executor().max_workers() == aio::thread_pool::default_size());
    };
    aio::run(body());
}

TEST_CASE("to_thread: the loop is not idle while a call is out (run_until_idle waits for it, "
          "also on the virtual clock, which does not jump past it)") {
    require_thread_answers();
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        aio::event_loop& loop = aio::get_running_loop();
        const aio::time_point start = loop.time();
        // A timer 1 h ahead: with the call out, the virtual clock must wait for the thread.
        aio::task<> late = aio::create_task([]() -> aio::coroutine<> { co_await aio::sleep(1h); }());
        co_await aio::to_thread([] { std::this_thread::sleep_for(20ms); });
        CHECK(loop.time() - start < 1h);
        late.cancel();
    };
    aio::run(body(), aio::clock_mode::virtual_time);
}

// Counts the calls' tasks down as they end; the last one out lets the threads go on.
class last_one_out {
public:
    last_one_out(std::shared_ptr<std::atomic<int>> left, std::shared_ptr<std::latch> release)
        : left_(std::move(left)), release_(std::move(release)) {}
    ~last_one_out() {
        if (left_->fetch_sub(1) == 1) release_->count_down();
    }
    last_one_out(const last_one_out&) = delete;
    last_one_out& operator=(const last_one_out&) = delete;

private:
    std::shared_ptr<std::atomic<int>> left_;
    std::shared_ptr<std::latch> release_;
};

struct call_counts {
    std::atomic<int> started{0}, ran{0};
};

aio::coroutine<> blocked_call(std::shared_ptr<std::atomic<int>> left, std::shared_ptr<std::latch> release,
                              call_counts* counts) {
    last_one_out guard(left, release);
    auto job = [=] {
        counts->started.fetch_add(1);
        release->wait();
        counts->ran.fetch_add(1);
    };
    co_await aio::to_thread(job);
}

TEST_CASE("to_thread: a program that ends with work still on the pool neither hangs nor leaks: "
          "tasks cancelled at exit drop their queued calls, the running ones finish first") {
    require_thread_answers();
    no_leaks check;
    const int fds = open_fd_count();
    call_counts counts;
    std::size_t threads = 0;
    auto body = [](call_counts* count, std::size_t* workers) -> aio::coroutine<> {
        auto left = std::make_shared<std::atomic<int>>(100);
        auto release = std::make_shared<std::latch>(1);
        for (int i = 0; i < 100; ++i)   // more calls than threads: most of them wait in the queue
            aio::create_task(blocked_call(left, release, count));
        co_await aio::sleep(0s);   // each task has run its first step: 100 calls submitted
        *workers = aio::get_running_loop().default_executor().workers();
        // Until every thread holds a call (a few ms at most; 5 s is a broken pool).
        for (int i = 0; i < 5000 && count->started.load() < static_cast<int>(*workers); ++i)
            co_await aio::sleep(1ms);
        REQUIRE(count->started.load() == static_cast<int>(*workers));
        // main returns: aio::run cancels the 100 tasks; when the last has ended, the calls
        // running on threads are let go, and the loop joins those threads.
    };
    aio::run(body(&counts, &threads));
    CHECK(threads == aio::thread_pool::default_size());
    CHECK(counts.ran.load() == static_cast<int>(threads));   // the queued ones never ran
    CHECK(open_fd_count() == fds);
}

TEST_CASE("to_thread: a task cancelled before its await never submits the call") {
    require_thread_answers();
    no_leaks check;
    std::atomic<bool> ran{false};
    auto body = [](std::atomic<bool>* flag) -> aio::coroutine<> {
        aio::task<> t = aio::create_task(aio::to_thread([flag] { flag->store(true); }));
        t.cancel();   // before its first step
        bool cancelled = false;
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
            cancelled = true;
        }
        CHECK(cancelled);
    };
    aio::run(body(&ran));
    CHECK(!ran.load());
}

TEST_CASE("to_thread: wait_for abandons a call that takes too long; the loop goes on") {
    require_thread_answers();
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        auto release = std::make_shared<std::latch>(1);
        bool timed_out = false;
        try {
            auto blocked = [=] { release->wait(); };
            co_await aio::wait_for(aio::to_thread(blocked), 10ms);
        } catch (const aio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        release->count_down();
        int seven = co_await aio::to_thread([] { return 7; });
        CHECK(seven == 7);
    };
    aio::run(body());
}
