// Lesson 02 — the promise type: a lazy coroutine driven by hand, its result, its frame.
//
// Holes: destroy, result, unhandled_exception, return_value.
// Test names start with the hole they pin, or a topic. What the tests of each need besides
// it (`make check` shows a test waiting for a hole that does not work rather than failing;
// `make test` checks this table against the exercise):
//   result needs return_value, unhandled_exception, destroy.
//   unhandled_exception needs result, destroy.
//   return_value needs result, destroy.
// Every test also checks that no frame and no object held by a frame is left alive at its end.
#include <aio/coroutine.hpp>
#include <doctest/doctest.h>

#include "support/counted.hpp"
#include "support/no_leaks.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace {

// Leak check shared by every test: frames and counted objects alive before == after.
// The leak checks name the hole that frees frames, so that `make check` points there.
const char* const destroy_hole = "; lesson 02, hole destroy: destroy each frame exactly once";

aio::coroutine<int> answer() { co_return 42; }

aio::coroutine<std::string> greet(std::string name, std::string* log) {
    *log += "started ";
    co_await std::suspend_always{};   // give control back to whoever called resume()
    *log += "resumed ";
    co_return "hello, " + name;
}

aio::coroutine<int> fail_after_one_step() {
    co_await std::suspend_always{};
    throw std::runtime_error("broken");
}

aio::coroutine<> hold(counted c, std::string* log) {
    counted local(c.value + 1);
    co_await std::suspend_always{};
    *log += std::to_string(local.value);
}

aio::coroutine<std::unique_ptr<int>> make_unique_int(int v) { co_return std::make_unique<int>(v); }

aio::coroutine<> fail_void() {
    co_await std::suspend_always{};
    throw std::runtime_error("void broken");
}

} // namespace

TEST_CASE("return_value: co_return's value is the result once the body has run") {
    no_leaks check{destroy_hole};
    aio::coroutine<int> c = answer();
    CHECK_FALSE(c.done());
    c.resume();
    REQUIRE(c.done());
    CHECK(c.result() == 42);
    CHECK(c.result() == 42);   // the value stays in the frame: ask as often as you like
}

TEST_CASE("return_value: a move-only value can be returned and moved out") {
    no_leaks check{destroy_hole};
    auto c = make_unique_int(7);
    c.resume();
    std::unique_ptr<int> p = std::move(c.result());
    REQUIRE(p != nullptr);
    CHECK(*p == 7);
}

TEST_CASE("return_value: the coroutine is lazy and runs one step per resume()") {
    no_leaks check{destroy_hole};
    std::string log;
    auto c = greet("world", &log);
    CHECK(log.empty());   // creating it ran nothing
    c.resume();
    CHECK(log == "started ");
    CHECK_FALSE(c.done());
    c.resume();
    CHECK(log == "started resumed ");
    REQUIRE(c.done());
    CHECK(c.result() == "hello, world");
}

TEST_CASE("return_value: parameters are copied into the frame before the body starts") {
    no_leaks check{destroy_hole};
    std::string log;
    auto c = greet(std::string("temporary"), &log);   // the temporary dies right here
    c.resume();
    c.resume();
    CHECK(c.result() == "hello, temporary");
}

TEST_CASE("unhandled_exception: an exception from the body is rethrown by result()") {
    no_leaks check{destroy_hole};
    auto c = fail_after_one_step();
    c.resume();
    CHECK_FALSE(c.done());
    c.resume();   // the body throws: resume() itself does not
    REQUIRE(c.done());
    CHECK_THROWS_WITH_AS(c.result(), "broken", std::runtime_error);
    CHECK_THROWS_WITH_AS(c.result(), "broken", std::runtime_error);   // every time
}

TEST_CASE("result: asking before the end is an error") {
    no_leaks check{destroy_hole};
    std::string log;
    auto c = greet("x", &log);
    CHECK_THROWS_AS(c.result(), std::logic_error);   // not started
    c.resume();
    CHECK_THROWS_AS(c.result(), std::logic_error);   // suspended
    c.resume();
    CHECK(c.result() == "hello, x");
}

TEST_CASE("result: coroutine<void> finishes with nothing, or rethrows") {
    no_leaks check{destroy_hole};
    std::string log;
    auto c = hold(counted(1), &log);
    c.resume();
    c.resume();
    REQUIRE(c.done());
    CHECK_NOTHROW(c.result());
    CHECK(log == "2");
    auto f = fail_void();
    f.resume();
    f.resume();
    REQUIRE(f.done());
    CHECK_THROWS_WITH_AS(f.result(), "void broken", std::runtime_error);
}

TEST_CASE("result: resume() after the end or on an empty coroutine is an error") {
    no_leaks check{destroy_hole};
    auto c = answer();
    c.resume();
    CHECK_THROWS_AS(c.resume(), std::logic_error);
    aio::coroutine<int> empty;
    CHECK_FALSE(empty.done());
    CHECK_THROWS_AS(empty.resume(), std::logic_error);
    CHECK_THROWS_AS(empty.result(), std::logic_error);
}

TEST_CASE("destroy: a coroutine never started frees its frame and its arguments") {
    no_leaks check{destroy_hole};
    const std::size_t frames = aio::detail::live_frames;
    std::string log;
    {
        auto c = hold(counted(1), &log);
        // (No check that live_frames went up: clang may place a frame that never escapes its
        // scope on the stack, the "heap allocation elision" optimisation.)
        CHECK(counted::alive >= 1);   // the argument's copy lives in the frame
    }
    CHECK(aio::detail::live_frames == frames);
    CHECK(log.empty());
}

TEST_CASE("destroy: a suspended coroutine frees its frame, arguments and locals") {
    no_leaks check{destroy_hole};
    std::string log;
    {
        auto c = hold(counted(1), &log);
        c.resume();   // suspended with `local` alive
        CHECK(counted::alive >= 2);
    }
    CHECK(log.empty());   // the rest of the body never ran
}

TEST_CASE("destroy: a finished coroutine frees its frame") {
    no_leaks check{destroy_hole};
    std::string log;
    {
        auto c = hold(counted(1), &log);
        c.resume();
        c.resume();
        CHECK(c.done());
    }
    CHECK(log == "2");
}

TEST_CASE("destroy: moving transfers the frame; assignment frees the old one") {
    no_leaks check{destroy_hole};
    const std::size_t frames = aio::detail::live_frames;
    std::string log;
    auto a = hold(counted(1), &log);
    auto b = std::move(a);
    CHECK_FALSE(a.done());
    CHECK_THROWS_AS(a.resume(), std::logic_error);   // a is empty now
    CHECK(aio::detail::live_frames == frames + 1);
    b = hold(counted(2), &log);                      // the first frame goes
    CHECK(aio::detail::live_frames == frames + 1);
    auto& same = b;
    b = std::move(same);                             // self-move keeps it
    CHECK(aio::detail::live_frames == frames + 1);
    b.resume();
    b.resume();
    CHECK(log == "3");
}
