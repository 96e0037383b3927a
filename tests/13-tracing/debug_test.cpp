// Lesson 13: debug mode (aio/debug.hpp): slow steps and coroutines never awaited. The hole table
// is in inspect_test.cpp.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/capture_stderr.hpp"
#include "support/no_leaks.hpp"

#include <chrono>
#include <string>

using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Debug mode and its limit for one test; the previous ones come back at the end.
class debug_scope {
public:
    debug_scope(bool on, aio::duration limit) : was_on_(aio::get_debug()), limit_(aio::slow_callback_duration()) {
        aio::set_debug(on);
        aio::set_slow_callback_duration(limit);
    }
    ~debug_scope() {
        aio::set_debug(was_on_);
        aio::set_slow_callback_duration(limit_);
    }
    debug_scope(const debug_scope&) = delete;
    debug_scope& operator=(const debug_scope&) = delete;

private:
    bool was_on_;
    aio::duration limit_;
};

// Holds the loop for at least `d` of real time, as a blocking call would.
void spin_for(aio::duration d) {
    const auto until = aio::clock::now() + d;
    while (aio::clock::now() < until) {
    }
}

aio::coroutine<> hog(aio::duration d) {
    spin_for(d);
    co_return;
}

aio::coroutine<int> answer() { co_return 42; }

} // namespace

TEST_CASE("slow_steps: in debug mode a step longer than slow_callback_duration is reported, with its task") {
    no_leaks check;
    debug_scope debug(true, 2ms);
    capture_stderr err;
    auto body = []() -> aio::coroutine<> {
        co_await aio::create_task(hog(10ms), "hog");
    };
    aio::run(body());
    const std::string text = err.text();
    CHECK(contains(text, "aio: executing a step of task 'hog' took 0.0"));
    CHECK(contains(text, " seconds\n"));
}

TEST_CASE("slow_steps: a slow callback is reported too; a fast step is not; nor anything with debug mode off") {
    no_leaks check;
    {
        debug_scope debug(true, 2ms);
        capture_stderr err;
        aio::event_loop loop;
        loop.call_soon([] { spin_for(10ms); });
        loop.call_later(1ms, [] { spin_for(10ms); });
        loop.run_until_idle();
        const std::string text = err.text();
        CHECK(contains(text, "aio: executing a callback took 0.0"));
        CHECK(contains(text, "aio: executing a timer callback took 0.0"));
    }
    {
        debug_scope debug(true, 10s);
        capture_stderr err;
        aio::run(hog(1ms));
        CHECK(err.text() == "");
    }
    {
        debug_scope debug(false, 1ms);
        capture_stderr err;
        aio::run(hog(10ms));
        CHECK(err.text() == "");
    }
}

TEST_CASE("never_awaited: in debug mode, a coroutine dropped before it ever ran is reported, with its definition") {
    no_leaks check;
    std::string text;
    {
        debug_scope debug(true, 100ms);
        capture_stderr err;
        { auto forgotten = answer(); }
        text = err.text();
    }
    CHECK(contains(text, "aio: coroutine 'answer' (debug_test.cpp:"));
    CHECK(contains(text, ") was never awaited\n"));
}

TEST_CASE("never_awaited: nothing for a coroutine that ran, nor with debug mode off") {
    no_leaks check;
    debug_scope debug(true, 100ms);
    capture_stderr err;
    CHECK(aio::run(answer()) == 42);
    {
        auto by_hand = answer();
        by_hand.resume();   // driven by hand: it ran
    }
    aio::set_debug(false);
    { auto forgotten = answer(); }
    CHECK(err.text() == "");
}
