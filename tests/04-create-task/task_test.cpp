// Lesson 04 — create_task, task handles, gather, cancellation, and the end of aio::run.
//
// Holes: start_task, finish_task, on_task_done, cancel_task, child_done.
// Test names start with the hole they pin, or a topic. What the tests of each need besides
// it (`make check` shows a test waiting for a hole that does not work rather than failing;
// `make test` checks this table against the exercise):
//   start_task needs finish_task, on_task_done.
//   finish_task needs start_task, on_task_done, cancel_task.
//   on_task_done needs start_task, finish_task.
//   cancel_task needs start_task, finish_task, on_task_done.
//   child_done needs start_task, finish_task, on_task_done, cancel_task.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/capture_stderr.hpp"
#include "support/cpython.hpp"
#include "support/counted.hpp"
#include "support/no_leaks.hpp"
#include "support/gate.hpp"
#include "support/printing.hpp"
#include "support/trace.hpp"

#include <pthread.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace {

using log_t = aio_test::log_t;   // a vector of strings that also goes into make check's trace

// The leak checks name the hole that releases a task's own reference to its frame, so that
// `make check` points there when a leak is a test's first failure.
const char* const frames_hole =
    "; lesson 04, hole finish_task: a finished task releases its running reference (release_task)";

aio::coroutine<int> square(log_t* log, std::string name, int x) {
    log->push_back(name + " runs");
    co_return x * x;
}

aio::coroutine<int> fail(log_t* log, std::string name) {
    log->push_back(name + " fails");
    throw std::runtime_error(name + " failed");
    co_return 0;
}

aio::coroutine<int> wait_then(gate* g, log_t* log, std::string name, int value) {
    log->push_back(name + " waits");
    co_await g->wait();
    log->push_back(name + " passes");
    co_return value;
}

aio::coroutine<int> wait_then_fail(gate* g, log_t* log, std::string name) {
    co_await g->wait();
    log->push_back(name + " fails");
    throw std::runtime_error(name + " failed");
}

// Waits at the gate holding a counted object, and logs how it ends.
aio::coroutine<int> guarded_wait(gate* g, log_t* log) {
    counted held(1);
    try {
        co_await g->wait();
    } catch (const aio::cancelled_error&) {
        log->push_back("cleanup after cancel");
        throw;
    }
    co_return held.value;
}

// Ignores its first cancellation, then waits at a gate nobody will ever open.
aio::coroutine<> deaf(log_t* log) {
    counted held(1);
    gate never;
    try {
        co_await never.wait();
    } catch (const aio::cancelled_error&) {
        log->push_back("ignoring the cancel");
    }
    co_await never.wait();
}

aio::coroutine<int> await_task(aio::task<int> t, log_t* log, std::string name) {
    log->push_back(name + " awaits");
    int v = co_await t;
    log->push_back(name + " got " + std::to_string(v));
    co_return v;
}

aio::coroutine<> log_step(log_t* log, std::string text) {
    log->push_back(text);
    co_return;
}

} // namespace

// ---- starting ------------------------------------------------------------------------------------

TEST_CASE("start_task: a task starts only when its creator yields, in creation order") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        aio::task<int> a = aio::create_task(square(log, "a", 2));
        aio::task<int> b = aio::create_task(square(log, "b", 3));
        log->push_back("main created a and b");
        int va = co_await a;   // main yields here: a and b run, in creation order
        int vb = co_await b;
        log->push_back("main: " + std::to_string(va) + " " + std::to_string(vb));
    };
    aio::run(main(&log));
    CHECK(log == log_t{"main created a and b", "a runs", "b runs", "main: 4 9"});
}

TEST_CASE("start_task: create_task needs a running loop and a fresh coroutine") {
    no_leaks check{frames_hole};
    log_t log;
    CHECK_THROWS_AS(aio::create_task(square(&log, "x", 1)), std::runtime_error);
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        std::string errors;
        try {
            aio::create_task(aio::coroutine<int>{});
        } catch (const std::invalid_argument&) {
            errors += "empty ";
        }
        aio::coroutine<int> started = square(log, "s", 1);
        started.resume();
        try {
            aio::create_task(std::move(started));
        } catch (const std::invalid_argument&) {
            errors += "already-run";
        }
        co_return errors;
    };
    CHECK(aio::run(main(&log)) == "empty already-run");
    CHECK(log.empty() == false);   // square ran once, by hand
}

// ---- finishing ---------------------------------------------------------------------------------

TEST_CASE("finish_task: done(), result() and exception() follow the task's life") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        std::string seen;
        aio::task<int> t = aio::create_task(square(log, "t", 7));
        seen += t.done() ? "done " : "pending ";
        try {
            (void)t.result();
        } catch (const std::logic_error&) {
            seen += "result-too-early ";
        }
        try {
            (void)t.exception();
        } catch (const std::logic_error&) {
            seen += "exception-too-early ";
        }
        co_await t;
        seen += t.done() ? "done " : "pending ";
        seen += std::to_string(t.result()) + (t.exception() ? " failed" : " ok");
        seen += t.cancelled() ? " cancelled" : "";
        co_return seen;
    };
    CHECK(aio::run(main(&log)) == "pending result-too-early exception-too-early done 49 ok");
}

TEST_CASE("finish_task: a task's exception is kept for result(), exception() and awaiters") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        std::string seen;
        aio::task<int> t = aio::create_task(fail(log, "f"));
        try {
            co_await t;
        } catch (const std::runtime_error& e) {
            seen += std::string("await: ") + e.what();
        }
        try {
            (void)t.result();
        } catch (const std::runtime_error& e) {
            seen += std::string(", result: ") + e.what();
        }
        seen += t.exception() ? ", exception() set" : ", no exception()";
        seen += t.cancelled() ? ", cancelled" : ", not cancelled";
        co_return seen;
    };
    CHECK(aio::run(main(&log)) == "await: f failed, result: f failed, exception() set, not cancelled");
}

TEST_CASE("finish_task: a fire-and-forget task frees its frame when it ends") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::size_t> {
        std::size_t before = aio::detail::live_frames;
        aio::create_task(square(log, "forgotten", 1));   // the handle dies at once
        aio::task<int> other = aio::create_task(square(log, "other", 2));
        co_await other;   // by now the forgotten task has run too
        co_return aio::detail::live_frames - before;
    };
    CHECK(aio::run(main(&log)) == 1);   // only `other`'s frame, still held by its handle
    CHECK(log == log_t{"forgotten runs", "other runs"});
}

TEST_CASE("finish_task: the result stays readable while a handle exists, then the frame goes") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<aio::task<int>> {
        aio::task<int> t = aio::create_task(square(log, "kept", 6));
        co_await t;
        co_return t;   // the handle outlives the task and the loop
    };
    aio::task<int> kept = aio::run(main(&log));
    CHECK(kept.done());
    CHECK(kept.result() == 36);
    aio::task<int> copy = kept;
    kept = aio::task<int>{};
    CHECK(copy.result() == 36);
}

TEST_CASE("finish_task: an exception nobody retrieved is reported on stderr") {
    no_leaks check{frames_hole};
    log_t log;
    capture_stderr err;
    auto main = [](log_t* log) -> aio::coroutine<> {
        aio::create_task(fail(log, "ignored"));    // fails, and nobody ever looks
        aio::task<int> seen = aio::create_task(fail(log, "seen"));
        try {
            co_await seen;
        } catch (const std::runtime_error&) {
        }
    };
    aio::run(main(&log));
    std::string text = err.text();
    CHECK(text.find("Task exception was never retrieved") != std::string::npos);
    CHECK(text.find("ignored failed") != std::string::npos);
    CHECK(text.find("seen failed") == std::string::npos);
}

// ---- awaiting ----------------------------------------------------------------------------------

TEST_CASE("on_task_done: several coroutines await one task, all get its value") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<int> {
        gate g;
        aio::task<int> slow = aio::create_task(wait_then(&g, log, "slow", 5));
        aio::task<int> w1 = aio::create_task(await_task(slow, log, "w1"));
        aio::task<int> w2 = aio::create_task(await_task(slow, log, "w2"));
        co_await aio::create_task(log_step(log, "helper"));   // main yields: the others start
        log->push_back("main opens the gate");
        g.open();
        int a = co_await w1;
        int b = co_await w2;
        int c = co_await slow;   // and once more, after the end
        co_return a + b + c;
    };
    CHECK(aio::run(main(&log)) == 15);
    CHECK(log == log_t{"slow waits", "w1 awaits", "w2 awaits", "helper", "main opens the gate",
                       "slow passes", "w1 got 5", "w2 got 5"});
}

TEST_CASE("on_task_done: an awaiter resumes in the loop step after the task finishes") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        aio::task<int> t = aio::create_task(square(log, "t", 1));
        aio::get_running_loop().call_soon([log] { log->push_back("callback scheduled before"); });
        co_await t;
        log->push_back("main resumed");
    };
    aio::run(main(&log));
    // t runs, then the callback (queued in the same step), then main (queued when t finished).
    CHECK(log == log_t{"t runs", "callback scheduled before", "main resumed"});
}

TEST_CASE("on_task_done: awaiting a finished task does not suspend") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<bool> {
        aio::task<int> t = aio::create_task(square(log, "t", 1));
        co_await t;
        bool callback_ran = false;
        aio::get_running_loop().call_soon([&callback_ran] { callback_ran = true; });
        co_await t;   // done already: no loop step passes
        co_return callback_ran;
    };
    CHECK(aio::run(main(&log)) == false);
}

TEST_CASE("on_task_done: a move-only result and a void task can be awaited") {
    no_leaks check{frames_hole};
    auto make = []() -> aio::coroutine<std::unique_ptr<int>> { co_return std::make_unique<int>(3); };
    auto nothing = []() -> aio::coroutine<> { co_return; };
    auto main = [](decltype(make) mk, decltype(nothing) no) -> aio::coroutine<int> {
        std::unique_ptr<int> p = co_await aio::create_task(mk());
        co_await aio::create_task(no());
        co_return *p;
    };
    CHECK(aio::run(main(make, nothing)) == 3);
}

// ---- cancelling --------------------------------------------------------------------------------

TEST_CASE("cancel_task: cancelled_error is not a std::exception") {
    static_assert(!std::is_base_of_v<std::exception, aio::cancelled_error>);
    bool swallowed = false;
    try {
        try {
            throw aio::cancelled_error();
        } catch (const std::exception&) {
            swallowed = true;
        }
    } catch (const aio::cancelled_error& e) {
        CHECK(std::string(e.what()).find("cancelled") != std::string::npos);
    }
    CHECK_FALSE(swallowed);
}

TEST_CASE("cancel_task: a task cancelled before it starts never runs its body") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        aio::task<int> t = aio::create_task(square(log, "never", 1));
        bool first = t.cancel();
        bool second = t.cancel();   // still not finished: asyncio says true again
        std::string seen = std::string(first ? "true " : "false ") + (second ? "true " : "false ");
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
            seen += "cancelled_error ";
        }
        seen += t.cancelled() ? "cancelled() " : "";
        try {
            (void)t.result();
        } catch (const aio::cancelled_error&) {
            seen += "result-throws ";
        }
        try {
            (void)t.exception();
        } catch (const aio::cancelled_error&) {
            seen += "exception-throws ";
        }
        seen += t.cancel() ? "true" : "false";   // finished now
        co_return seen;
    };
    CHECK(aio::run(main(&log)) == "true true cancelled_error cancelled() result-throws exception-throws false");
    CHECK(log.empty());
}

TEST_CASE("cancel_task: the await a task is suspended in throws, and its cleanup runs") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        gate g;
        aio::task<int> t = aio::create_task(guarded_wait(&g, log));
        co_await log_step(log, "main");
        aio::task<int> helper = aio::create_task(square(log, "helper", 0));
        co_await helper;   // t is now waiting at the gate
        CHECK(g.waiting() == 1);
        t.cancel();
        CHECK(g.waiting() == 0);   // the cancelled await unregistered at once
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
            co_return t.cancelled() ? "cancelled" : "not cancelled";
        }
        co_return "no exception";
    };
    CHECK(aio::run(main(&log)) == "cancelled");
    CHECK(log == log_t{"main", "helper runs", "cleanup after cancel"});
}

TEST_CASE("cancel_task: cancelling a task that awaits another task cancels both") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        gate g;
        aio::task<int> inner = aio::create_task(guarded_wait(&g, log));
        aio::task<int> outer = aio::create_task(await_task(inner, log, "outer"));
        co_await aio::create_task(square(log, "helper", 0));
        outer.cancel();
        std::string seen;
        try {
            co_await outer;
        } catch (const aio::cancelled_error&) {
            seen += "outer cancelled";
        }
        seen += inner.cancelled() ? ", inner cancelled" : ", inner not cancelled";
        co_return seen;
    };
    CHECK(aio::run(main(&log)) == "outer cancelled, inner cancelled");
}

TEST_CASE("cancel_task: a task that catches its cancellation can go on and return") {
    no_leaks check{frames_hole};
    log_t log;
    auto stubborn = [](gate* g, log_t* log) -> aio::coroutine<int> {
        try {
            co_await g->wait();
        } catch (const aio::cancelled_error&) {
            log->push_back("caught, carrying on");
        }
        co_return 42;
    };
    auto main = [](decltype(stubborn) s, log_t* log) -> aio::coroutine<std::string> {
        gate g;
        aio::task<int> t = aio::create_task(s(&g, log));
        co_await aio::create_task(square(log, "helper", 0));
        t.cancel();
        int v = co_await t;
        co_return std::to_string(v) + (t.cancelled() ? " cancelled" : " not cancelled");
    };
    CHECK(aio::run(main(stubborn, &log)) == "42 not cancelled");
}

TEST_CASE("cancel_task: a cancel after the wake-up was scheduled still throws, as in asyncio") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        gate g;
        aio::task<int> t = aio::create_task(wait_then(&g, log, "t", 1));
        co_await aio::create_task(square(log, "helper", 0));
        g.open();    // t's resumption is now in the ready queue...
        t.cancel();  // ...and the cancel still wins
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
            co_return "cancelled";
        }
        co_return "not cancelled";
    };
    CHECK(aio::run(main(&log)) == "cancelled");
    CHECK(std::find(log.begin(), log.end(), "t passes") == log.end());
}

// ---- gather -----------------------------------------------------------------------------------

TEST_CASE("child_done: gather gives a tuple in argument order; children start in that order") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        aio::task<int> already = aio::create_task(square(log, "task", 5));
        auto [a, b, c] = co_await aio::gather(square(log, "a", 2), already, square(log, "c", 3));
        co_return std::to_string(a) + " " + std::to_string(b) + " " + std::to_string(c);
    };
    CHECK(aio::run(main(&log)) == "4 25 9");
    CHECK(log == log_t{"task runs", "a runs", "c runs"});
}

TEST_CASE("child_done: gather waits for children that suspend, and void gives monostate") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<int> {
        gate g;
        aio::task<> opener = aio::create_task([](gate* g) -> aio::coroutine<> {
            g->open();
            co_return;
        }(&g));
        auto [x, nothing, y] =
            co_await aio::gather(wait_then(&g, log, "x", 1), log_step(log, "void child"),
                                 wait_then(&g, log, "y", 2));
        static_assert(std::is_same_v<decltype(nothing), std::monostate>);
        co_return x * 10 + y;
    };
    CHECK(aio::run(main(&log)) == 12);
}

TEST_CASE("child_done: gather of a vector gives a vector, in order, even of 10,000 tasks") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<long> {
        std::vector<aio::coroutine<int>> coros;
        for (int i = 0; i < 10'000; ++i) coros.push_back(square(log, "", i % 100));
        std::vector<int> results = co_await aio::gather(std::move(coros));
        long sum = 0;
        for (std::size_t i = 0; i < results.size(); ++i)
            if (results[i] == static_cast<int>((i % 100) * (i % 100))) ++sum;
        std::vector<aio::task<int>> none;
        std::vector<int> empty = co_await aio::gather(std::move(none));
        co_return sum + static_cast<long>(empty.size());
    };
    CHECK(aio::run(main(&log)) == 10'000);
}

TEST_CASE("child_done: the first child to fail fails the gather; the others keep running") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        gate first, second;
        aio::task<int> slow = aio::create_task(wait_then(&second, log, "slow", 1));
        aio::task<> opener = aio::create_task([](gate* g) -> aio::coroutine<> {
            g->open();
            co_return;
        }(&first));
        std::string seen;
        try {
            // late-failure would fail too, but later: the first in time wins.
            co_await aio::gather(slow, wait_then_fail(&second, log, "late-failure"),
                                 wait_then_fail(&first, log, "early-failure"));
        } catch (const std::runtime_error& e) {
            seen = e.what();
        }
        seen += slow.done() ? ", slow done" : ", slow still running";
        second.open();
        int v = co_await slow;   // it was not cancelled
        seen += ", slow gave " + std::to_string(v);
        co_return seen;
    };
    CHECK(aio::run(main(&log)) == "early-failure failed, slow still running, slow gave 1");
}

TEST_CASE("child_done: a child failing after the gather failed is not reported as unretrieved") {
    no_leaks check{frames_hole};
    log_t log;
    capture_stderr err;
    auto main = [](log_t* log) -> aio::coroutine<> {
        gate later;
        try {
            co_await aio::gather(fail(log, "first"), wait_then_fail(&later, log, "second"));
        } catch (const std::runtime_error&) {
        }
        later.open();   // the second child fails now, after the gather is over
        co_await aio::create_task(log_step(log, "helper"));
        co_await aio::create_task(log_step(log, "helper"));
    };
    aio::run(main(&log));
    CHECK(std::find(log.begin(), log.end(), "second fails") != log.end());
    CHECK(err.text().find("never retrieved") == std::string::npos);
}

TEST_CASE("child_done: a child that failed before the gather looked is not reported as unretrieved") {
    no_leaks check{frames_hole};
    log_t log;
    capture_stderr err;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        std::string seen;
        {
            aio::task<int> early = aio::create_task(fail(log, "early"));
            co_await aio::create_task(log_step(log, "helper"));   // early fails meanwhile
            try {
                co_await aio::gather(early, square(log, "s", 2));
            } catch (const std::runtime_error& e) {
                seen = e.what();
            }
        }   // early's last handle goes here
        co_return seen;
    };
    CHECK(aio::run(main(&log)) == "early failed");
    CHECK(err.text().find("never retrieved") == std::string::npos);
}

TEST_CASE("child_done: with return_exceptions the gather waits for all and returns the tasks") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        auto [ok, bad] = co_await aio::gather(aio::return_exceptions, square(log, "ok", 4),
                                              fail(log, "bad"));
        std::string seen = std::to_string(ok.result());
        try {
            std::rethrow_exception(bad.exception());
        } catch (const std::runtime_error& e) {
            seen += std::string(", ") + e.what();
        }
        std::vector<aio::coroutine<int>> coros;
        coros.push_back(fail(log, "v0"));
        coros.push_back(square(log, "v1", 3));
        std::vector<aio::task<int>> tasks = co_await aio::gather(aio::return_exceptions, std::move(coros));
        seen += tasks[0].exception() ? ", v0 failed" : ", v0 ok";
        seen += ", v1 gave " + std::to_string(tasks[1].result());
        co_return seen;
    };
    CHECK(aio::run(main(&log)) == "16, bad failed, v0 failed, v1 gave 9");
}

TEST_CASE("child_done: cancelling the task awaiting a gather cancels the children") {
    no_leaks check{frames_hole};
    log_t log;
    auto gatherer = [](gate* g, log_t* log) -> aio::coroutine<int> {
        auto [a, b] = co_await aio::gather(guarded_wait(g, log), guarded_wait(g, log));
        co_return a + b;
    };
    auto main = [](decltype(gatherer) gth, log_t* log) -> aio::coroutine<std::string> {
        gate g;
        aio::task<int> t = aio::create_task(gth(&g, log));
        co_await aio::create_task(square(log, "helper", 0));
        co_await aio::create_task(square(log, "helper", 0));
        CHECK(g.waiting() == 2);
        t.cancel();
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
            co_return "cancelled";
        }
        co_return "not cancelled";
    };
    CHECK(aio::run(main(gatherer, &log)) == "cancelled");
    CHECK(std::count(log.begin(), log.end(), "cleanup after cancel") == 2);
}

// ---- the end of aio::run -----------------------------------------------------------------------

TEST_CASE("finish_task: aio::run cancels the tasks still running when main returns") {
    no_leaks check{frames_hole};
    log_t log;
    auto main = [](gate* g, log_t* log) -> aio::coroutine<int> {
        aio::create_task(guarded_wait(g, log));
        aio::create_task(guarded_wait(g, log));
        co_await aio::create_task(square(log, "helper", 0));
        co_return 1;   // two tasks are still waiting at the gate
    };
    gate g;
    CHECK(aio::run(main(&g, &log)) == 1);
    CHECK(std::count(log.begin(), log.end(), "cleanup after cancel") == 2);
    CHECK(g.waiting() == 0);
}

TEST_CASE("finish_task: a task that ignores cancellation at the end is reported and freed") {
    no_leaks check{frames_hole};
    log_t log;
    capture_stderr err;
    auto main = [](log_t* log) -> aio::coroutine<> {
        aio::create_task(deaf(log));
        co_await aio::create_task(square(log, "helper", 0));
    };
    aio::run(main(&log));
    CHECK(log.back() == "ignoring the cancel");
    CHECK(err.text().find("never finished, even when cancelled") != std::string::npos);
}

// ---- against CPython: the corners a hostile review found -----------------------------------------

namespace {

// Lets every task created so far take its first steps (the lesson-04 way to yield a few steps).
aio::coroutine<> let_others_run() {
    log_t ignored;
    for (int i = 0; i < 3; ++i) co_await aio::create_task(square(&ignored, "", 0));
}

aio::coroutine<> leaf(log_t* log, std::string name) {
    gate never;
    try {
        co_await never.wait();
    } catch (const aio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
}

aio::coroutine<> middle(log_t* log, std::string name, aio::task<> inner) {
    try {
        co_await inner;
    } catch (const aio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
}

// Answers its cancellation with `answer`: "ValueError" throws another exception, "return"
// swallows it and returns, "raise" lets it through.
aio::coroutine<int> stubborn(log_t* log, std::string name, std::string answer) {
    gate never;
    bool cancelled = false;
    try {
        co_await never.wait();
    } catch (const aio::cancelled_error&) {
        cancelled = true;
    }
    if (cancelled) {
        log->push_back(name + " answers " + answer);
        if (answer == "ValueError") throw std::invalid_argument(name);
        if (answer == "raise") throw aio::cancelled_error();
    }
    co_return 0;
}

// Starts `coro` as a task, lets it settle, cancels it, and logs how it ends.
aio::coroutine<> outcome(log_t* log, aio::coroutine<> coro) {
    aio::task<> t = aio::create_task(std::move(coro));
    co_await let_others_run();
    t.cancel();
    try {
        co_await t;
        log->push_back("returned");
    } catch (const std::invalid_argument& e) {
        log->push_back(std::string("ValueError ") + e.what());
    } catch (const aio::cancelled_error&) {
        log->push_back("CancelledError");
    }
}

aio::coroutine<> gather_of(log_t* log, std::string first, std::string second, bool settle_all) {
    if (settle_all) {
        co_await aio::gather(aio::return_exceptions, stubborn(log, "c0", first), stubborn(log, "c1", second));
    } else {
        co_await aio::gather(stubborn(log, "c0", first), stubborn(log, "c1", second));
    }
}

aio::coroutine<> gather_tasks(aio::task<> a, aio::task<> b) {
    co_await aio::gather(a, b);
}

aio::coroutine<int> selfish(aio::task<int>* me, log_t* log) {
    try {
        co_await *me;
    } catch (const std::logic_error&) {
        log->push_back("awaiting itself: RuntimeError");
    }
    co_return 7;
}

aio::coroutine<int> quitter(aio::task<int>* me) {
    me->cancel();   // asks for its own cancellation, then returns without another await
    co_return 42;
}

aio::coroutine<> corners(log_t* log) {
    aio::task<int> me;
    me = aio::create_task(selfish(&me, log));
    int value = co_await me;
    log->push_back("result " + std::to_string(value));

    aio::task<int> q;
    q = aio::create_task(quitter(&q));
    try {
        value = co_await q;
        log->push_back(std::to_string(value));
    } catch (const aio::cancelled_error&) {
        log->push_back(std::string("quitter cancelled: ") + (q.cancelled() ? "True" : "False"));
    }

    aio::task<> a1 = aio::create_task(leaf(log, "a1"));
    aio::task<> a = aio::create_task(middle(log, "a", a1));
    aio::task<> b = aio::create_task(leaf(log, "b"));
    co_await outcome(log, gather_tasks(a, b));
    co_await outcome(log, gather_of(log, "ValueError", "raise", false));
    co_await outcome(log, gather_of(log, "raise", "ValueError", false));
    co_await outcome(log, gather_of(log, "return", "return", false));
    co_await outcome(log, gather_of(log, "ValueError", "return", true));
}

} // namespace

TEST_CASE("child_done: awaiting itself, self-cancel, cancelled gathers: as CPython does") {
    no_leaks check{frames_hole};
    log_t log;
    capture_stderr err;   // nothing may be reported "never retrieved"
    aio::run(corners(&log));
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio

async def selfish():
    try:
        await me                      # a task awaiting itself: RuntimeError at once
    except RuntimeError:
        print("awaiting itself: RuntimeError")
    return 7

async def quitter():
    asyncio.current_task().cancel()   # then returns: the task still ends cancelled
    return 42

async def leaf(name):
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        print(name, "cancelled")
        raise

async def middle(name, inner):
    try:
        await inner
    except asyncio.CancelledError:
        print(name, "cancelled")
        raise

async def stubborn(name, answer):
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        print(name, "answers", answer)
        if answer == "ValueError":
            raise ValueError(name)
        if answer == "return":
            return 0
        raise

async def outcome(coro):
    t = asyncio.create_task(coro)
    for _ in range(3):
        await asyncio.sleep(0)
    t.cancel()
    try:
        await t
        print("returned")
    except ValueError as e:
        print("ValueError", e)
    except asyncio.CancelledError:
        print("CancelledError")

async def gather_of(first, second, settle_all):
    await asyncio.gather(stubborn("c0", first), stubborn("c1", second), return_exceptions=settle_all)

async def gather_tasks(a, b):
    await asyncio.gather(a, b)

async def main():
    global me
    me = asyncio.create_task(selfish())
    print("result", await me)
    q = asyncio.create_task(quitter())
    try:
        print(await q)
    except asyncio.CancelledError:
        print("quitter cancelled:", q.cancelled())
    a1 = asyncio.create_task(leaf("a1"))
    a = asyncio.create_task(middle("a", a1))
    b = asyncio.create_task(leaf("b"))
    await outcome(gather_tasks(a, b))             # cancelled depth first: a1, then b, then a
    await outcome(gather_of("ValueError", "raise", False))
    await outcome(gather_of("raise", "ValueError", False))
    await outcome(gather_of("return", "return", False))
    await outcome(gather_of("ValueError", "return", True))

asyncio.run(main())
)py"));
    CHECK(err.text() == "");
}

namespace {
// A chain of `length` tasks, each awaiting the one before it, cancelled from the outermost: how
// many of them saw their cancellation.
aio::coroutine<std::size_t> cancel_chain(std::size_t length) {
    std::size_t cancelled = 0;
    log_t log;
    aio::task<> last = aio::create_task(leaf(&log, "innermost"));
    for (std::size_t i = 0; i < length; ++i) last = aio::create_task(middle(&log, "", last));
    co_await let_others_run();   // each task now awaits the one before it
    last.cancel();               // reaches the innermost through `length` awaits
    try {
        co_await last;
    } catch (const aio::cancelled_error&) {
        cancelled = log.size();
    }
    co_return cancelled;
}
} // namespace

// Runs `work` on a thread of its own whose stack is only `stack_bytes` deep: a recursion per task
// overflows it long before the chain ends, where the main thread's 8 MiB would need a million.
template <typename Work>
void on_small_stack(std::size_t stack_bytes, Work work) {
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, stack_bytes);
    pthread_t thread;
    auto run = [](void* w) -> void* {
        (*static_cast<Work*>(w))();
        return nullptr;
    };
    REQUIRE(pthread_create(&thread, &attributes, run, &work) == 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attributes);
}

TEST_CASE("cancel_task: cancelling a chain of 100,000 tasks awaiting each other keeps the stack flat") {
    no_leaks check{frames_hole};
    REQUIRE(aio::run(cancel_chain(10)) == 11);   // a short chain first: the holes it needs work
    // Every task logs its cancellation; then the frames, each holding a handle to the one before
    // it, are destroyed without recursing either. 1 MiB of stack: a recursion per task would need
    // many times that (it overflowed 8 MiB at a million tasks).
    std::size_t cancelled = 0;
    std::size_t frames_left = 0;
    on_small_stack(1 << 20, [&cancelled, &frames_left] {
        cancelled = aio::run(cancel_chain(100'000));
        frames_left = aio::detail::live_frames;   // (counted per thread)
    });
    CHECK(cancelled == 100'001);
    CHECK(frames_left == 0);
}

TEST_CASE("finish_task: tasks on a loop that never runs are freed when the loop goes") {
    no_leaks check{frames_hole};
    log_t log;
    capture_stderr err;
    aio::task<int> kept;
    {
        aio::event_loop loop;
        aio::create_task(square(&log, "never run", 1), loop);
        kept = aio::create_task(square(&log, "never run either", 2), loop);
    }
    CHECK(log.empty());
    CHECK(kept.done());
    CHECK(kept.cancelled());
    CHECK(err.text().find("an event loop was destroyed with a task that never finished") != std::string::npos);
    // The thread's list of live tasks holds no stale entry: a later run finds nothing to cancel.
    auto main = []() -> aio::coroutine<int> { co_return 3; };
    CHECK(aio::run(main()) == 3);
}

TEST_CASE("finish_task: a task kept by a handle past aio::run is destroyed with that handle, as it says") {
    no_leaks check{frames_hole};
    log_t log;
    capture_stderr err;
    aio::task<> kept;
    auto main = [](aio::task<>* kept, log_t* log) -> aio::coroutine<> {
        *kept = aio::create_task(deaf(log));
        co_await let_others_run();
    };
    int alive_before = counted::alive;
    aio::run(main(&kept, &log));
    CHECK(err.text().find("destroyed where it was suspended, when the last handle to it goes") !=
          std::string::npos);
    CHECK(kept.cancelled());
    CHECK(counted::alive == alive_before + 1);   // the frame is still there, as said...
    kept = {};
    CHECK(counted::alive == alive_before);       // ...until its last handle goes
}
