// Lesson 13: AIO_TRACE, the timeline (aio/trace.cpp). The hole table is in inspect_test.cpp.
//
// Each test runs a program with AIO_TRACE set to a file of its own, then reads the events back:
// one JSON object a line, so a line is matched by the fields it holds.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/capture_stderr.hpp"
#include "support/no_leaks.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr aio::clock_mode virtual_time = aio::clock_mode::virtual_time;

// AIO_TRACE=<a fresh file> while alive; events() reads what was written.
class traced {
public:
    traced() {
        char name[] = "/tmp/aio-trace-XXXXXX.json";
        const int fd = ::mkstemps(name, 5);
        REQUIRE(fd >= 0);
        ::close(fd);
        path_ = name;
        ::setenv("AIO_TRACE", path_.c_str(), 1);
    }
    ~traced() {
        ::unsetenv("AIO_TRACE");
        ::unlink(path_.c_str());
    }
    traced(const traced&) = delete;
    traced& operator=(const traced&) = delete;

    std::vector<std::string> lines() const {
        std::ifstream in(path_);
        std::vector<std::string> all;
        for (std::string line; std::getline(in, line);) all.push_back(line);
        return all;
    }
    // The events: every line but the array's brackets, without the separating comma.
    std::vector<std::string> events() const {
        std::vector<std::string> found;
        for (std::string line : lines()) {
            if (line == "[" || line == "]" || line.empty()) continue;
            if (line.back() == ',') line.pop_back();
            found.push_back(line);
        }
        return found;
    }
    // The events that hold every one of `parts`.
    std::vector<std::string> with(std::initializer_list<std::string> parts) const {
        std::vector<std::string> found;
        for (const std::string& e : events())
            if (std::all_of(parts.begin(), parts.end(), [&](const std::string& p) { return e.find(p) != std::string::npos; }))
                found.push_back(e);
        return found;
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// The tid the trace gives the task named `name` (from its thread_name), or -1.
long tid_of(const traced& trace, const std::string& name) {
    for (const std::string& e : trace.with({"\"thread_name\"", "\"name\":\"" + name})) {
        const auto at = e.find("\"tid\":");
        return std::stol(e.substr(at + 6));
    }
    return -1;
}
std::string on(long tid) { return "\"tid\":" + std::to_string(tid) + ","; }

aio::coroutine<int> sleeps_twice() {
    co_await aio::sleep(1ms);
    co_await aio::sleep(1ms);
    co_return 2;
}

aio::coroutine<> sleeps_for(aio::duration d) {
    co_await aio::sleep(d);
}

aio::coroutine<> waits_for(aio::event& e) {
    co_await e.wait();
}

aio::coroutine<> fails() {
    co_await aio::sleep(0s);
    throw std::runtime_error("boom");
}

} // namespace

TEST_CASE("trace: no AIO_TRACE, no file; with it, a JSON array, one event a line, closed when the loop goes") {
    no_leaks check;
    {
        traced trace;
        ::unsetenv("AIO_TRACE");
        ::unlink(trace.path().c_str());
        aio::run(sleeps_twice(), virtual_time);
        CHECK(::access(trace.path().c_str(), F_OK) != 0);
    }
    traced trace;
    aio::run(sleeps_twice(), virtual_time);
    const std::vector<std::string> lines = trace.lines();
    REQUIRE(lines.size() > 4);
    CHECK(lines.front() == "[");
    CHECK(lines.back() == "]");
    for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
        CHECK(lines[i].find("{\"ph\":\"") == 0);
        CHECK(lines[i].back() == (i + 2 < lines.size() ? ',' : '}'));   // commas between events
    }
    CHECK(trace.with({"\"ph\":\"M\"", "\"process_name\"", "\"name\":\"event loop 1\""}).size() == 1);
    CHECK(trace.with({"\"ph\":\"M\"", "\"tid\":0,", "\"name\":\"event loop\""}).size() == 1);
}

TEST_CASE("trace: a task is a track: created, one slice per step, then returned, failed or cancelled") {
    no_leaks check;
    traced trace;
    auto body = []() -> aio::coroutine<> {
        auto twice = aio::create_task(sleeps_twice(), "twice");
        auto bad = aio::create_task(fails(), "bad");
        auto forever = aio::create_task(sleeps_for(1h), "forever");
        co_await twice;
        try {
            co_await bad;
        } catch (const std::runtime_error&) {
        }
        forever.cancel();
        try {
            co_await forever;
        } catch (const aio::cancelled_error&) {
        }
    };
    aio::run(body(), virtual_time);
    const long twice = tid_of(trace, "twice"), bad = tid_of(trace, "bad"), forever = tid_of(trace, "forever");
    REQUIRE(twice > 0);
    REQUIRE(bad > 0);
    REQUIRE(forever > 0);
    CHECK(trace.with({"\"thread_name\"", "\"name\":\"twice sleeps_twice()\""}).size() == 1);
    CHECK(trace.with({"\"ph\":\"i\"", on(twice), "\"name\":\"created\""}).size() == 1);
    CHECK(trace.with({"\"ph\":\"X\"", on(twice), "\"name\":\"step\""}).size() == 3);   // start, two wake-ups
    CHECK(trace.with({"\"ph\":\"X\"", on(twice), "\"step\":3"}).size() == 1);
    CHECK(trace.with({"\"ph\":\"i\"", on(twice), "\"name\":\"returned\""}).size() == 1);
    CHECK(trace.with({"\"ph\":\"i\"", on(bad), "\"name\":\"failed\""}).size() == 1);
    CHECK(trace.with({"\"ph\":\"i\"", on(forever), "\"name\":\"cancelled\""}).size() == 1);
    // The creator is named.
    CHECK(trace.with({"\"ph\":\"i\"", on(twice), "\"by\":\"Task-"}).size() == 1);
}

TEST_CASE("trace: the loop's lane has counters at each step, and its own callbacks and timers") {
    no_leaks check;
    traced trace;
    {
        aio::event_loop loop(virtual_time);
        loop.call_soon([] {});
        loop.call_later(1ms, [] {});
        loop.run_until_idle();
    }
    CHECK(trace.with({"\"ph\":\"X\"", "\"tid\":0,", "\"name\":\"callback\""}).size() == 1);
    CHECK(trace.with({"\"ph\":\"X\"", "\"tid\":0,", "\"name\":\"timer\""}).size() == 1);
    // Two steps: the callback (the timer pending), then the timer (due, still counted until it runs).
    CHECK(trace.with({"\"ph\":\"C\"", "\"tid\":0,", "\"name\":\"loop\""}).size() == 2);
    CHECK(trace.with({"\"ph\":\"C\"", "\"tid\":0,", "\"ready\":1,\"timers\":1,\"fds\":0"}).size() == 2);
}

TEST_CASE("trace: two loops of one program are two processes of one trace; the file stays valid") {
    no_leaks check;
    traced trace;
    aio::run(sleeps_twice(), virtual_time);
    aio::run(sleeps_twice(), virtual_time);
    const std::vector<std::string> lines = trace.lines();
    CHECK(std::count(lines.begin(), lines.end(), "[") == 1);
    CHECK(std::count(lines.begin(), lines.end(), "]") == 1);
    CHECK(lines.back() == "]");
    CHECK(trace.with({"\"process_name\"", "\"name\":\"event loop 1\""}).size() == 1);
    CHECK(trace.with({"\"process_name\"", "\"name\":\"event loop 2\""}).size() == 1);
}

TEST_CASE("trace: a file that cannot be written is said once, and the program runs as without a trace") {
    no_leaks check;
    ::setenv("AIO_TRACE", "/nonexistent-dir/trace.json", 1);
    capture_stderr err;
    CHECK(aio::run(sleeps_twice(), virtual_time) == 2);
    ::unsetenv("AIO_TRACE");
    CHECK(err.text() == "aio: AIO_TRACE: cannot write /nonexistent-dir/trace.json; no trace\n");
}

TEST_CASE("task_step_begun: between two steps, what the task awaited, as a slice of its track") {
    no_leaks check;
    traced trace;
    auto body = []() -> aio::coroutine<> {
        aio::event e;
        auto sleeping = aio::create_task(sleeps_twice(), "sleeping");
        auto waiting = aio::create_task(waits_for(e), "waiting");
        co_await aio::sleep(5ms);
        e.set();
        co_await sleeping;
        co_await waiting;
    };
    aio::run(body(), virtual_time);
    const long sleeping = tid_of(trace, "sleeping"), waiting = tid_of(trace, "waiting");
    CHECK(trace.with({"\"ph\":\"X\"", on(sleeping), "\"name\":\"awaiting aio::sleeper\"", "\"cat\":\"wait\""}).size() == 2);
    CHECK(trace.with({"\"ph\":\"X\"", on(waiting), "\"name\":\"awaiting aio::event\"", "\"cat\":\"wait\""}).size() == 1);
}

TEST_CASE("task_step_begun: a wake-up is an arrow from the step that woke the task to the step it ran next") {
    no_leaks check;
    traced trace;
    auto body = []() -> aio::coroutine<> {
        aio::event e;
        auto waiting = aio::create_task(waits_for(e), "waiting");
        auto setter = aio::create_task([](aio::event& ev) -> aio::coroutine<> {
            co_await aio::sleep(1ms);
            ev.set();
        }(e), "setter");
        co_await waiting;
        co_await setter;
    };
    aio::run(body(), virtual_time);
    const long waiting = tid_of(trace, "waiting"), setter = tid_of(trace, "setter");
    // The setter's step that set the event starts an arrow; the waiting task's next step ends it.
    const std::vector<std::string> starts = trace.with({"\"ph\":\"s\"", on(setter), "\"cat\":\"wake\""});
    REQUIRE(starts.size() == 1);
    const std::string id = starts[0].substr(starts[0].find("\"id\":"));
    const std::vector<std::string> ends = trace.with({"\"ph\":\"f\"", "\"bp\":\"e\"", id});
    REQUIRE(ends.size() == 1);
    CHECK(ends[0].find(on(waiting)) != std::string::npos);
}

TEST_CASE("trace: what happened is in the file whenever the loop sleeps — a hung or killed program keeps it") {
    no_leaks check;
    traced trace;
    std::size_t seen_while_running = 0;
    auto body = [&]() -> aio::coroutine<> {
        auto named = aio::create_task(sleeps_for(0s), "before-the-sleep");
        co_await named;
        co_await aio::sleep(1ms);   // real time: the loop sleeps in epoll_wait
        seen_while_running = trace.with({"\"thread_name\"", "\"name\":\"before-the-sleep"}).size();
    };
    aio::run(body());
    CHECK(seen_while_running == 1);
}

TEST_CASE("trace: two loops alive on one thread: each task is drawn once, in its own loop's process") {
    no_leaks check;
    traced trace;
    {
        aio::event_loop first(virtual_time);
        aio::event_loop second(virtual_time);   // both trace; the second's observer comes first
        auto t = aio::create_task(sleeps_twice(), second);
        t.set_name("on-second");
        second.run_until_idle();
        CHECK(t.done());
    }
    const std::vector<std::string> names = trace.with({"\"thread_name\"", "\"name\":\"on-second"});
    REQUIRE(names.size() == 1);
    CHECK(names[0].find("\"pid\":2,") != std::string::npos);
    CHECK(trace.with({"\"pid\":1,", "\"name\":\"step\""}).empty());
}
