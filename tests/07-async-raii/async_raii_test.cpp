// Lesson 07 — async RAII: async_with, exit_stack, async_context_manager.
//
// Holes: async_with, unwind, aexit.
// Test names start with the hole they pin, or a topic. What the tests of each need besides
// it (`make check` shows a test waiting for a hole that does not work rather than failing;
// `make test` checks this table against the exercise):
//   unwind needs async_with.
//   aexit needs async_with.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/capture_stderr.hpp"
#include "support/cpython.hpp"
#include "support/counted.hpp"
#include "support/no_leaks.hpp"
#include "support/fds.hpp"
#include "support/printing.hpp"
#include "support/trace.hpp"

#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using log_t = aio_test::log_t;   // a vector of strings that also goes into make check's trace
constexpr aio::clock_mode virtual_time = aio::clock_mode::virtual_time;

std::string describe(const std::exception_ptr& e) {
    if (!e) return "none";
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (const aio::cancelled_error&) {
        return "cancelled";
    }
}

// A manager that logs what happens to it, and suppresses if told to.
class logged_resource {
public:
    logged_resource(log_t* log, std::string name, bool suppress = false)
        : log_(log), name_(std::move(name)), suppress_(suppress) {}
    aio::coroutine<std::string> aenter() {
        log_->push_back(name_ + " enter");
        co_return name_ + "'s value";
    }
    aio::coroutine<bool> aexit(std::exception_ptr e) {
        co_await aio::sleep(0s);   // cleanup that really awaits
        log_->push_back(name_ + " exit (" + describe(e) + ")");
        co_return suppress_;
    }

private:
    log_t* log_;
    std::string name_;
    bool suppress_;
};

class failing_enter {
public:
    aio::coroutine<int> aenter() {
        throw std::runtime_error("cannot acquire");
        co_return 0;
    }
    aio::coroutine<bool> aexit(std::exception_ptr) {
        exited = true;
        co_return false;
    }
    bool exited = false;
};

class throwing_exit {
public:
    explicit throwing_exit(std::string what) : what_(std::move(what)) {}
    aio::coroutine<> aenter() { co_return; }
    aio::coroutine<bool> aexit(std::exception_ptr) {
        throw std::runtime_error(what_);
        co_return false;
    }

private:
    std::string what_;
};

// Waits until `fd` is readable: a test-only await on the loop's add_reader (lesson 08 makes this
// part of the runtime).
class readable {
public:
    explicit readable(int fd) : fd_(fd) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        aio::event_loop& loop = aio::get_running_loop();
        loop.add_reader(fd_, [&loop, fd = fd_, h] {
            loop.remove_reader(fd);
            h.resume();
        });
    }
    void await_resume() const noexcept {}

private:
    int fd_;
};

std::string read_some(int fd) {
    char buf[64];
    ssize_t n = ::read(fd, buf, sizeof buf);
    return n > 0 ? std::string(buf, n) : std::string();
}

// A connection whose close is a handshake: say "bye", wait for the peer's "ok".
class handshake_connection {
public:
    explicit handshake_connection(int fd, log_t* log) : fd_(fd), log_(log) {}
    aio::coroutine<int> aenter() { co_return fd_; }
    aio::coroutine<bool> aexit(std::exception_ptr) {
        CHECK(::write(fd_, "bye", 3) == 3);
        co_await readable(fd_);
        log_->push_back("peer answered " + read_some(fd_));
        co_return false;
    }

private:
    int fd_;
    log_t* log_;
};

aio::coroutine<> peer(int fd, log_t* log) {
    co_await readable(fd);
    log->push_back("peer got " + read_some(fd));
    CHECK(::write(fd, "ok", 2) == 2);
}

aio::async_context_manager<std::string> managed(log_t* log, std::string name) {
    counted held(1);
    log->push_back(name + " acquired");
    try {
        co_yield name + "'s resource";
    } catch (const std::runtime_error& e) {
        log->push_back(name + " saw " + e.what());
        throw;
    }
    co_await aio::sleep(10ms);   // an awaited release
    log->push_back(name + " released");
}

aio::async_context_manager<int> swallowing(log_t* log) {
    try {
        co_yield 1;
    } catch (const std::runtime_error&) {
        log->push_back("swallowed");
    }
}

aio::coroutine<> fail_with(std::string what) {
    throw std::runtime_error(what);
    co_return;
}

} // namespace

// ---- async_with -----------------------------------------------------------------------------------

TEST_CASE("async_with: enter, body with the entered value, exit with no exception") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        logged_resource r(log, "r");
        co_await aio::async_with(r, [log](std::string& value) -> aio::coroutine<> {
            log->push_back("body got " + value);
            co_return;
        });
    };
    aio::run(main(&log), virtual_time);
    CHECK(log == log_t{"r enter", "body got r's value", "r exit (none)"});
}

TEST_CASE("async_with: the body's exception goes to aexit, then on to the caller") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        logged_resource r(log, "r");
        try {
            co_await aio::async_with(r, [](std::string&) { return fail_with("body failed"); });
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "no exception";
    };
    CHECK(aio::run(main(&log), virtual_time) == "body failed");
    CHECK(log == log_t{"r enter", "r exit (body failed)"});
}

TEST_CASE("async_with: aexit returning true suppresses the exception") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        logged_resource r(log, "r", true);
        co_await aio::async_with(r, [](std::string&) { return fail_with("body failed"); });
        log->push_back("went on");
    };
    aio::run(main(&log), virtual_time);
    CHECK(log == log_t{"r enter", "r exit (body failed)", "went on"});
}

TEST_CASE("async_with: if aenter throws, neither the body nor aexit runs") {
    no_leaks check;
    auto main = []() -> aio::coroutine<std::string> {
        failing_enter f;
        bool body_ran = false;
        try {
            co_await aio::async_with(f, [&body_ran](int) -> aio::coroutine<> {
                body_ran = true;
                co_return;
            });
        } catch (const std::runtime_error& e) {
            co_return std::string(e.what()) + (body_ran ? " body" : "") + (f.exited ? " exit" : "");
        }
        co_return "no exception";
    };
    CHECK(aio::run(main()) == "cannot acquire");
}

TEST_CASE("async_with: nested managers exit inner first; aexit may throw its own exception") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        logged_resource outer(log, "outer");
        throwing_exit inner("inner exit failed");
        try {
            co_await aio::async_with(outer, [&inner, log](std::string&) {
                return aio::async_with(inner, [log]() -> aio::coroutine<> {
                    log->push_back("innermost body");
                    co_return;
                });
            });
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "no exception";
    };
    CHECK(aio::run(main(&log), virtual_time) == "inner exit failed");
    CHECK(log == log_t{"outer enter", "innermost body", "outer exit (inner exit failed)"});
}

TEST_CASE("async_with: a cancelled task still runs aexit, which may await, then stays cancelled") {
    no_leaks check;
    log_t log;
    auto worker = [](log_t* log) -> aio::coroutine<> {
        logged_resource r(log, "r");
        co_await aio::async_with(r, [](std::string&) -> aio::coroutine<> { co_await aio::sleep(1h); });
    };
    auto main = [](decltype(worker) w, log_t* log) -> aio::coroutine<std::string> {
        aio::task<> t = aio::create_task(w(log));
        co_await aio::sleep(1s);
        t.cancel();
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
            co_return t.cancelled() ? "cancelled" : "not cancelled";
        }
        co_return "finished";
    };
    CHECK(aio::run(main(worker, &log), virtual_time) == "cancelled");
    CHECK(log == log_t{"r enter", "r exit (cancelled)"});
}

TEST_CASE("async_with: a close handshake over a real socket is awaited before the statement ends") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        socket_pair pair;
        aio::task<> other_side = aio::create_task(peer(pair.fd[1], log));
        handshake_connection conn(pair.fd[0], log);
        co_await aio::async_with(conn, [log](int) -> aio::coroutine<> {
            log->push_back("using the connection");
            co_return;
        });
        log->push_back("after async_with");
        co_await other_side;
    };
    aio::run(main(&log));
    CHECK(log == log_t{"using the connection", "peer got bye", "peer answered ok", "after async_with"});
}

// ---- exit_stack ---------------------------------------------------------------------------------

TEST_CASE("unwind: cleanups run last in first out; enter_async_context gives aenter's value") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        logged_resource a(log, "a"), b(log, "b");
        aio::exit_stack stack;
        std::string va = co_await stack.enter_async_context(a);
        stack.push_async_callback([log]() -> aio::coroutine<> {
            log->push_back("callback");
            co_return;
        });
        std::string vb = co_await stack.enter_async_context(b);
        co_await stack.aclose();
        co_return va + ", " + vb;
    };
    CHECK(aio::run(main(&log), virtual_time) == "a's value, b's value");
    CHECK(log == log_t{"a enter", "b enter", "b exit (none)", "callback", "a exit (none)"});
}

TEST_CASE("unwind: every cleanup runs when some throw; the last exception comes out, as in CPython") {
    no_leaks check;
    log_t log;
    capture_stderr err;
    auto main = [](log_t* log) -> aio::coroutine<> {
        logged_resource a(log, "a");
        throwing_exit first("first failure"), second("second failure");
        aio::exit_stack stack;
        co_await stack.enter_async_context(a);
        co_await stack.enter_async_context(second);   // exits second: its failure replaces the first
        co_await stack.enter_async_context(first);    // exits first
        try {
            co_await stack.aclose();
        } catch (const std::runtime_error& e) {
            log->push_back(std::string("raised: ") + e.what());
        }
    };
    aio::run(main(&log), virtual_time);
    CHECK(lines_of(log) == cpython_prints(R"py(
import asyncio, contextlib

class Logged:
    async def __aenter__(self):
        print("a enter")
    async def __aexit__(self, kind, error, tb):
        await asyncio.sleep(0)
        print(f"a exit ({error if error else 'none'})")

class Throwing:
    def __init__(self, what):
        self.what = what
    async def __aenter__(self):
        pass
    async def __aexit__(self, *exc):
        raise RuntimeError(self.what)

async def main():
    stack = contextlib.AsyncExitStack()
    await stack.enter_async_context(Logged())
    await stack.enter_async_context(Throwing("second failure"))
    await stack.enter_async_context(Throwing("first failure"))
    try:
        await stack.aclose()
    except RuntimeError as e:
        print("raised:", e)   # its __context__ is the first failure

asyncio.run(main())
)py"));
    // C++ cannot chain the replaced exception to the new one: it is printed instead.
    CHECK(err.text().find("replaced it: first failure") != std::string::npos);
}

TEST_CASE("unwind: as a manager, the stack hands the body's exception down and may suppress it") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        logged_resource outer(log, "outer"), suppressor(log, "suppressor", true);
        aio::exit_stack stack;
        co_await aio::async_with(stack, [&](aio::exit_stack* s) -> aio::coroutine<> {
            co_await s->enter_async_context(outer);
            co_await s->enter_async_context(suppressor);
            co_await fail_with("body failed");
        });
        log->push_back("went on");
    };
    aio::run(main(&log), virtual_time);
    CHECK(log == log_t{"outer enter", "suppressor enter", "suppressor exit (body failed)",
                       "outer exit (none)", "went on"});
}

TEST_CASE("unwind: a run-time number of resources, all released") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::size_t> {
        std::vector<logged_resource> resources;
        for (int i = 0; i < 5; ++i) resources.emplace_back(log, std::to_string(i));
        aio::exit_stack stack;
        for (auto& r : resources) co_await stack.enter_async_context(r);
        co_await stack.aclose();
        co_return log->size();
    };
    CHECK(aio::run(main(&log), virtual_time) == 10);
    CHECK(log.back() == "0 exit (none)");
}

TEST_CASE("unwind: an exit_stack destroyed before it was closed says so") {
    no_leaks check;
    log_t log;
    capture_stderr err;
    auto main = [](log_t* log) -> aio::coroutine<> {
        logged_resource a(log, "a");
        aio::exit_stack stack;
        co_await stack.enter_async_context(a);
    };   // no aclose: the cleanup never runs
    aio::run(main(&log), virtual_time);
    CHECK(err.text().find("never ran") != std::string::npos);
}

// ---- async_context_manager ------------------------------------------------------------------------

TEST_CASE("aexit: a generator-made manager acquires, yields, then releases with an await") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        auto cm = managed(log, "db");
        co_await aio::async_with(cm, [log](std::string& resource) -> aio::coroutine<> {
            log->push_back("body uses " + resource);
            co_return;
        });
    };
    aio::run(main(&log), virtual_time);
    CHECK(log == log_t{"db acquired", "body uses db's resource", "db released"});
}

TEST_CASE("aexit: the body's exception is thrown at the co_yield, where the manager sees it") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<std::string> {
        auto cm = managed(log, "db");
        try {
            co_await aio::async_with(cm, [](std::string&) { return fail_with("query failed"); });
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "no exception";
    };
    CHECK(aio::run(main(&log), virtual_time) == "query failed");
    CHECK(log == log_t{"db acquired", "db saw query failed"});
}

TEST_CASE("aexit: a manager that swallows the exception suppresses it") {
    no_leaks check;
    log_t log;
    auto main = [](log_t* log) -> aio::coroutine<> {
        auto cm = swallowing(log);
        co_await aio::async_with(cm, [](int) { return fail_with("ignored"); });
        log->push_back("went on");
    };
    aio::run(main(&log));
    CHECK(log == log_t{"swallowed", "went on"});
}

TEST_CASE("aexit: a manager that never yields, or yields twice, is a clear error") {
    no_leaks check;
    auto no_yield = []() -> aio::async_context_manager<int> { co_return; };
    auto twice = []() -> aio::async_context_manager<int> {
        co_yield 1;
        co_yield 2;
    };
    auto main = [](decltype(no_yield) n, decltype(twice) t) -> aio::coroutine<std::string> {
        std::string seen;
        auto a = n();
        try {
            co_await aio::async_with(a, [](int) -> aio::coroutine<> { co_return; });
        } catch (const std::runtime_error&) {
            seen += "no yield: error; ";
        }
        auto b = t();
        try {
            co_await aio::async_with(b, [](int) -> aio::coroutine<> { co_return; });
        } catch (const std::runtime_error&) {
            seen += "two yields: error";
        }
        co_return seen;
    };
    CHECK(aio::run(main(no_yield, twice)) == "no yield: error; two yields: error");
}

TEST_CASE("aexit: cancellation reaches the manager's co_yield, and its cleanup may await") {
    no_leaks check;
    log_t log;
    auto resource = [](log_t* log) -> aio::async_context_manager<int> {
        bool cancelled = false;
        try {
            co_yield 7;
        } catch (const aio::cancelled_error&) {
            cancelled = true;
        }
        if (cancelled) {
            co_await aio::sleep(5ms);   // the task's cancel was delivered once: this can await
            log->push_back("released after cancel");
            throw aio::cancelled_error();
        }
    };
    auto worker = [](decltype(resource) r, log_t* log) -> aio::coroutine<> {
        auto cm = r(log);
        co_await aio::async_with(cm, [](int) -> aio::coroutine<> { co_await aio::sleep(1h); });
    };
    auto main = [](decltype(resource) r, decltype(worker) w, log_t* log) -> aio::coroutine<bool> {
        aio::task<> t = aio::create_task(w(r, log));
        co_await aio::sleep(1s);
        t.cancel();
        try {
            co_await t;
        } catch (const aio::cancelled_error&) {
        }
        co_return t.cancelled();
    };
    CHECK(aio::run(main(resource, worker, &log), virtual_time));
    CHECK(log == log_t{"released after cancel"});
}
