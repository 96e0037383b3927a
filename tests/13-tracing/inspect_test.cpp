// Lesson 13 — seeing the loop: all_tasks, task names, await chains, task dumps (aio/inspect.hpp).
//
// Holes: stack_of, slow_steps, task_step_begun.
// Test names, in all the files of tests/13-tracing, start with the hole they pin, or a topic.
// What the tests of each need besides it (`make check` shows a test waiting for a hole that does
// not work rather than failing; `make test` checks this table against the exercise):
//   dump_tasks needs stack_of.
//   all_tasks, task_names, never_awaited, trace need no hole.
// Names and states are compared with CPython's all_tasks() and get_name(); the text of an await
// chain is aio's own (asyncio prints source lines, which C++ cannot read out of a frame), so its
// tests pin each line.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/capture_stderr.hpp"
#include "support/counted.hpp"
#include "support/cpython.hpp"
#include "support/no_leaks.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr aio::clock_mode virtual_time = aio::clock_mode::virtual_time;

aio::coroutine<int> sleeper(aio::duration d) {
    co_await aio::sleep(d);
    co_return 1;
}

std::vector<std::string> sorted_names(const std::vector<aio::any_task>& tasks) {
    std::vector<std::string> names;
    for (const aio::any_task& t : tasks) names.push_back(t.get_name());
    std::sort(names.begin(), names.end());
    return names;
}

std::string lines(const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items) text += item + "\n";
    return text;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

// ---- all_tasks ---------------------------------------------------------------------------------

TEST_CASE("all_tasks: the running loop's unfinished tasks, main's included — as asyncio lists them") {
    no_leaks check;
    std::vector<std::string> log;
    auto body = [&]() -> aio::coroutine<> {
        auto a = aio::create_task(sleeper(10ms), "a");
        auto b = aio::create_task(sleeper(20ms), "b");
        auto quick = aio::create_task(sleeper(0ms), "quick");
        co_await aio::sleep(5ms);   // quick is done by now: not listed
        log.push_back("after 5 ms: " + std::to_string(aio::all_tasks().size()) + " tasks");
        for (const std::string& name : sorted_names(aio::all_tasks()))
            if (name == "a" || name == "b" || name == "quick") log.push_back("  " + name);
        co_await a;
        co_await b;
        co_await quick;
        log.push_back("at the end: " + std::to_string(aio::all_tasks().size()) + " task");
    };
    aio::run(body(), virtual_time);
    CHECK(lines(log) == cpython_prints(R"py(
import asyncio
async def sleeper(d):
    await asyncio.sleep(d)
    return 1
async def main():
    a = asyncio.create_task(sleeper(0.01), name="a")
    b = asyncio.create_task(sleeper(0.02), name="b")
    quick = asyncio.create_task(sleeper(0), name="quick")
    await asyncio.sleep(0.005)
    print(f"after 5 ms: {len(asyncio.all_tasks())} tasks")
    for name in sorted(t.get_name() for t in asyncio.all_tasks()):
        if name in ("a", "b", "quick"):
            print("  " + name)
    await a; await b; await quick
    print(f"at the end: {len(asyncio.all_tasks())} task")
asyncio.run(main())
)py"));
}

TEST_CASE("all_tasks: oldest first; only the given loop's; without a running loop, an error") {
    no_leaks check;
    aio::event_loop other(virtual_time);
    auto elsewhere = aio::create_task(sleeper(1s), other);
    std::vector<std::string> names;
    auto body = [&]() -> aio::coroutine<> {
        auto first = aio::create_task(sleeper(1ms), "first");
        auto second = aio::create_task(sleeper(1ms), "second");
        for (const aio::any_task& t : aio::all_tasks()) names.push_back(t.get_name());
        co_await first;
        co_await second;
    };
    aio::run(body(), virtual_time);
    REQUIRE(names.size() == 3);   // main, first, second; not the task of the other loop
    CHECK(names[1] == "first");
    CHECK(names[2] == "second");
    CHECK(aio::all_tasks(other).size() == 1);
    CHECK_THROWS_AS(aio::all_tasks(), std::runtime_error);
    other.run_until_idle();
    CHECK(elsewhere.done());
}

TEST_CASE("all_tasks: an any_task keeps its task's frame alive, as a task<T> does, and lets it go") {
    no_leaks check;
    std::vector<aio::any_task> kept;
    auto body = [&]() -> aio::coroutine<> {
        auto t = aio::create_task([](counted) -> aio::coroutine<int> { co_return 7; }(counted(1)), "holder");
        kept = aio::all_tasks();
        co_await aio::sleep(0s);
    };
    aio::run(body(), virtual_time);
    REQUIRE(kept.size() == 2);
    const aio::any_task& holder = kept[1];
    CHECK(holder.get_name() == "holder");
    CHECK(holder.done());
    CHECK_FALSE(holder.cancelled());
    CHECK(counted::alive == 1);   // the finished frame, with its argument, is still there
    aio::any_task copy = holder;
    CHECK(copy == holder);
    kept.clear();
    CHECK(counted::alive == 1);   // the copy holds it
    copy = aio::any_task();
    CHECK(counted::alive == 0);
}

TEST_CASE("all_tasks: cancel() through an any_task cancels the task") {
    no_leaks check;
    bool cancelled = false;
    auto body = [&]() -> aio::coroutine<> {
        auto t = aio::create_task(sleeper(1h), "long");
        co_await aio::sleep(0s);
        for (aio::any_task& each : aio::all_tasks())
            if (each.get_name() == "long") CHECK(each.cancel());
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
            cancelled = true;
        }
    };
    aio::run(body(), virtual_time);
    CHECK(cancelled);
}

// ---- names -------------------------------------------------------------------------------------

TEST_CASE("task_names: Task-<n> by default, numbered in creation order; a given name; set_name") {
    no_leaks check;
    auto body = [&]() -> aio::coroutine<> {
        auto a = aio::create_task(sleeper(0s));
        auto b = aio::create_task(sleeper(0s));
        const std::string an = a.get_name(), bn = b.get_name();
        REQUIRE(an.rfind("Task-", 0) == 0);
        REQUIRE(bn.rfind("Task-", 0) == 0);
        CHECK(std::stoul(bn.substr(5)) == std::stoul(an.substr(5)) + 1);
        auto c = aio::create_task(sleeper(0s), "fetch");
        CHECK(c.get_name() == "fetch");
        c.set_name("renamed");
        CHECK(c.get_name() == "renamed");
        CHECK(aio::task<int>().get_name() == "");
        co_await a;
        co_await b;
        co_await c;
        CHECK(c.get_name() == "renamed");   // a finished task keeps its name
    };
    aio::run(body(), virtual_time);
}

TEST_CASE("task_names: any_task::coroutine_name() is the function of the task's top coroutine") {
    no_leaks check;
    std::string name;
    auto body = [&]() -> aio::coroutine<> {
        auto t = aio::create_task(sleeper(0s));
        name = aio::any_task(t).coroutine_name();
        co_await t;
    };
    aio::run(body(), virtual_time);
    CHECK(name == "sleeper");
}

// ---- stack_of ----------------------------------------------------------------------------------

namespace {
aio::coroutine<> innermost(aio::event& e) {
    co_await e.wait();
}
aio::coroutine<> middle(aio::event& e) {
    co_await innermost(e);
}
aio::coroutine<> top(aio::event& e) {
    co_await middle(e);
}
aio::coroutine<> locked(aio::lock& l) {
    co_await l.acquire();
    l.release();
}
} // namespace

TEST_CASE("stack_of: a suspended task's chain, top coroutine first, innermost last, then its await") {
    no_leaks check;
    std::string text;
    auto body = [&]() -> aio::coroutine<> {
        aio::event e;
        auto t = aio::create_task(top(e), "deep");
        co_await aio::sleep(0s);
        text = t.stack();
        e.set();
        co_await t;
    };
    aio::run(body(), virtual_time);
    const std::string file = "inspect_test.cpp";
    CHECK(text.rfind("Stack for task 'deep' (most recent call last):\n", 0) == 0);
    const auto at_top = text.find("  top (" + file + ":");
    const auto at_middle = text.find("  middle (" + file + ":");
    const auto at_inner = text.find("  innermost (" + file + ":");
    const auto at_await = text.find("  awaiting aio::event\n");
    CHECK(at_top != std::string::npos);
    CHECK(at_middle != std::string::npos);
    CHECK(at_inner != std::string::npos);
    CHECK(at_await != std::string::npos);
    CHECK(at_top < at_middle);
    CHECK(at_middle < at_inner);
    CHECK(at_inner < at_await);
    CHECK(std::count(text.begin(), text.end(), '\n') == 5);   // the title, three coroutines, the await
}

TEST_CASE("stack_of: what a task awaits: a sleep, a lock, another task (by name)") {
    no_leaks check;
    std::string sleeping, waiting_for_lock, waiting_for_task;
    auto body = [&]() -> aio::coroutine<> {
        aio::lock l;
        co_await l.acquire();
        auto s = aio::create_task(sleeper(1s), "sleeping");
        auto w = aio::create_task(locked(l), "locked");
        auto outer = aio::create_task([](aio::task<int> inner) -> aio::coroutine<int> { co_return co_await inner; }(s),
                                      "outer");
        co_await aio::sleep(0s);
        sleeping = s.stack();
        waiting_for_lock = w.stack();
        waiting_for_task = outer.stack();
        l.release();
        co_await outer;
        co_await w;
    };
    aio::run(body(), virtual_time);
    CHECK(contains(sleeping, "  sleeper ("));
    CHECK(contains(sleeping, "  awaiting aio::sleeper\n"));
    CHECK(contains(waiting_for_lock, "  locked ("));
    CHECK(contains(waiting_for_lock, "  awaiting aio::lock\n"));
    CHECK(contains(waiting_for_task, "  awaiting task 'sleeping'\n"));
}

TEST_CASE("stack_of: a task not started yet, one that runs, and finished ones say so") {
    no_leaks check;
    std::string before, running, returned, failed, cancelled;
    auto body = [&]() -> aio::coroutine<> {
        auto self = aio::create_task([](std::string* out) -> aio::coroutine<> {
            co_await aio::sleep(0s);
            for (const aio::any_task& t : aio::all_tasks())
                if (t.get_name() == "self") *out = t.stack();
        }(&running), "self");
        before = self.stack();
        co_await self;
        returned = self.stack();
        auto bad = aio::create_task([]() -> aio::coroutine<> {
            throw std::runtime_error("boom");
            co_return;
        }(), "bad");
        try {
            co_await bad;
        } catch (const std::runtime_error&) {
        }
        failed = bad.stack();
        auto long_one = aio::create_task(sleeper(1h), "long");
        co_await aio::sleep(0s);
        long_one.cancel();
        try {
            co_await long_one;
        } catch (const aio::cancelled_error&) {
        }
        cancelled = long_one.stack();
    };
    aio::run(body(), virtual_time);
    CHECK(before.rfind("Stack for task 'self' (not started yet):\n  operator() (", 0) == 0);
    CHECK(contains(running, "(most recent call last):\n"));
    CHECK(contains(running, "  (running, or woken and about to run)\n"));
    CHECK(returned == "No stack for task 'self' (finished)\n");
    CHECK(failed == "No stack for task 'bad' (failed)\n");
    CHECK(cancelled == "No stack for task 'long' (cancelled)\n");
}

TEST_CASE("stack_of: print_stack() writes the same text to stderr") {
    no_leaks check;
    std::string expected, printed;
    auto body = [&]() -> aio::coroutine<> {
        auto t = aio::create_task(sleeper(1s), "printed");
        co_await aio::sleep(0s);
        expected = t.stack();
        capture_stderr err;
        t.print_stack();
        aio::any_task(t).print_stack();
        printed = err.text();
        co_await t;
    };
    aio::run(body(), virtual_time);
    CHECK(printed == expected + expected);
}

// ---- dump_tasks --------------------------------------------------------------------------------

TEST_CASE("dump_tasks: every unfinished task of the thread, each with its chain, on stderr") {
    no_leaks check;
    std::string text;
    std::size_t count = 0;
    auto body = [&]() -> aio::coroutine<> {
        aio::event e;
        auto a = aio::create_task(top(e), "waits");
        auto b = aio::create_task(sleeper(1s), "sleeps");
        co_await aio::sleep(0s);
        capture_stderr err;
        count = aio::dump_tasks();
        text = err.text();
        e.set();
        co_await a;
        co_await b;
    };
    aio::run(body(), virtual_time);
    CHECK(count == 3);   // main too
    CHECK(text.rfind("aio: 3 unfinished tasks on this thread\n", 0) == 0);
    CHECK(contains(text, "Stack for task 'waits' (most recent call last):\n"));
    CHECK(contains(text, "  awaiting aio::event\n"));
    CHECK(contains(text, "Stack for task 'sleeps' (most recent call last):\n"));
    CHECK(contains(text, "  awaiting aio::sleeper\n"));
}

TEST_CASE("dump_tasks: SIGQUIT makes the loop dump its tasks at its next step, and go on") {
    no_leaks check;
    std::string text;
    int after = 0;
    auto body = [&]() -> aio::coroutine<> {
        auto b = aio::create_task(sleeper(1s), "asleep");
        co_await aio::sleep(0s);
        capture_stderr err;
        ::raise(SIGQUIT);                // the handler only takes note...
        CHECK(err.text().empty());       // ...nothing is printed inside it
        capture_stderr again;
        co_await aio::sleep(0s);         // the next step prints
        text = again.text();
        co_await b;
        after = 1;
    };
    aio::run(body(), virtual_time);
    CHECK(after == 1);
    CHECK(contains(text, "unfinished tasks on this thread\n"));
    CHECK(contains(text, "Stack for task 'asleep' (most recent call last):\n"));
}
