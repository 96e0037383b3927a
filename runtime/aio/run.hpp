// aio/run.hpp — lesson 03: aio::run, asyncio.run for C++.
//
// `aio::run(main())` makes a fresh event loop, runs `main` on it until it finishes, and gives
// back its value (or rethrows its exception). The loop is destroyed on the way out, so nothing
// scheduled on it outlives the call, as with asyncio.run.
//
// How: `main` is wrapped in a small driver coroutine that awaits it and stops the loop at the
// end, whatever the outcome. The loop runs the driver's first step as an ordinary callback.
// If the loop runs out of work while `main` is still suspended, nothing can ever resume it:
// that is a lost wake-up, and run() says so instead of hanging.
#pragma once

#include "aio/coroutine.hpp"
#include "aio/event_loop.hpp"
#if AIO_LESSON >= 4
#include "aio/task.hpp"
#endif // lesson 04

#include <exception>
#include <stdexcept>
#include <utility>

namespace aio {

namespace detail {

// ANCHOR: drive_main
// Stops the loop when the driver's body ends, by return or by exception.
class stop_on_exit {
public:
    explicit stop_on_exit(event_loop& loop) noexcept : loop_(loop) {}
    ~stop_on_exit() { loop_.stop(); }
    stop_on_exit(const stop_on_exit&) = delete;
    stop_on_exit& operator=(const stop_on_exit&) = delete;

private:
    event_loop& loop_;
};

#if AIO_LESSON >= 4
// Lesson 04: the tasks still running when main returns are cancelled and given the chance to
// finish before the loop goes away. Those that never finish are destroyed where they are
// suspended, when aio::run returns or throws. (Until lesson 11 main itself is not a task: it
// runs in the driver of lesson 03.)
class abandon_tasks_on_exit {
public:
    explicit abandon_tasks_on_exit(event_loop& loop) noexcept : loop_(loop) {}
    ~abandon_tasks_on_exit() {
        const bool failing = std::uncaught_exceptions() != exceptions_before_;
        abandon_remaining_tasks(loop_, failing ? nullptr
                                               : "aio: a task never finished, even when cancelled "
                                                 "at the end of aio::run");
    }
    abandon_tasks_on_exit(const abandon_tasks_on_exit&) = delete;
    abandon_tasks_on_exit& operator=(const abandon_tasks_on_exit&) = delete;

private:
    event_loop& loop_;
    int exceptions_before_ = std::uncaught_exceptions();
};
#endif // lesson 04

template <typename T>
coroutine<T> drive_main(coroutine<T> main, event_loop& loop) {
    stop_on_exit stop(loop);
#if AIO_LESSON >= 11
    // Lesson 11: main runs as a task, as asyncio.run's does, so that a timeout, a wait_for or a
    // task group in main has a task to cancel.
    task<T> main_task = create_task(std::move(main), loop);
    co_return co_await main_task;
#else
    co_return co_await std::move(main);
#endif // lesson 11
}
// ANCHOR_END: drive_main

} // namespace detail

// ANCHOR: run
/// Runs `main` to completion on a new event loop and returns its result (asyncio.run).
/// `mode` chooses the loop's clock; tests use clock_mode::virtual_time.
template <typename T>
T run(coroutine<T> main, clock_mode mode = clock_mode::real) {
    event_loop loop(mode);
    coroutine<T> driver = detail::drive_main(std::move(main), loop);
#if AIO_EXERCISE == 3
    (void)driver;
    throw not_implemented("lesson 03, hole run: schedule driver.resume() with call_soon, run "
                          "the loop until idle, then return driver.result() (or report a "
                          "coroutine that can never finish)");
#else
#if AIO_LESSON >= 4
    detail::abandon_tasks_on_exit abandon(loop);   // however we leave, no task outlives the loop
#endif // lesson 04
    loop.call_soon([&driver] { driver.resume(); });
    loop.run_until_idle();
#if AIO_LESSON >= 4
    detail::cancel_remaining_tasks(loop);   // tasks still running when main is over
#endif // lesson 04
#if AIO_LESSON >= 12
    loop.shutdown_default_executor();   // lesson 12: its threads may still call the loop
#endif // lesson 12
    if (!driver.done())
        throw std::runtime_error("aio::run: the main coroutine is suspended, but nothing is "
                                 "scheduled that could ever resume it (a lost wake-up?)");
    if constexpr (std::is_void_v<T>)
        driver.result();
    else
        return std::move(driver.result());
#endif
}
// ANCHOR_END: run

} // namespace aio
