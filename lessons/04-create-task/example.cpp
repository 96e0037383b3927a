// Lesson 04: create_task and gather — the C++ port of example.py.
#include <aio/aio.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>

const char* boolean(bool b) { return b ? "True" : "False"; }   // as Python prints them

aio::coroutine<int> square(std::string name, int x) {
    std::printf("  %s: computing %d*%d\n", name.c_str(), x, x);
    co_return x * x;
}

aio::coroutine<int> fail(std::string name) {
    std::printf("  %s: about to fail\n", name.c_str());
    throw std::invalid_argument(name + " failed");
    co_return 0;   // without a co_ keyword this would be a plain function, throwing at the call
}

aio::coroutine<int> wait_for(std::string name, aio::task<int> other) {
    std::printf("  %s: waiting for the other task\n", name.c_str());
    int result = co_await other;
    std::printf("  %s: the other task gave %d\n", name.c_str(), result);
    co_return result + 1;
}

aio::coroutine<> main_coro() {
    aio::task<int> t1 = aio::create_task(square("t1", 3));
    aio::task<int> t2 = aio::create_task(wait_for("t2", t1));
    std::printf("main: created t1 and t2; t1.done() = %s\n", boolean(t1.done()));
    int from_t2 = co_await t2;
    std::printf("main: t2 gave %d\n", from_t2);
    std::printf("main: t1.done() = %s, t1.result() = %d\n", boolean(t1.done()), t1.result());

    auto [a, b, c] = co_await aio::gather(square("a", 4), square("b", 5), t1);
    std::printf("main: gather gave %d, %d, %d\n", a, b, c);

    try {
        co_await aio::gather(square("ok", 6), fail("bad"));
    } catch (const std::invalid_argument& e) {
        std::printf("main: gather raised: %s\n", e.what());
    }

    auto [ok, bad] = co_await aio::gather(aio::return_exceptions, square("x", 7), fail("y"));
    try {
        std::rethrow_exception(bad.exception());
    } catch (const std::invalid_argument& e) {
        std::printf("main: with return_exceptions: %d and the exception '%s'\n", ok.result(), e.what());
    }

    aio::task<int> t3 = aio::create_task(square("t3", 8));
    t3.cancel();
    try {
        co_await t3;
    } catch (const aio::cancelled_error&) {
        std::printf("main: t3 was cancelled before it ran: t3.cancelled() = %s\n",
                    boolean(t3.cancelled()));
    }
}

int main() { aio::run(main_coro()); }
