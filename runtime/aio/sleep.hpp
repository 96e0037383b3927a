// aio/sleep.hpp — lesson 05: aio::sleep, asyncio.sleep.
//
//     co_await aio::sleep(2s);    // suspend this coroutine for two seconds; others run meanwhile
//     co_await aio::sleep(0s);    // yield: let every other ready coroutine take one step
//
// Design principles:
//  * sleep() returns an awaiter, not a coroutine: sleeping allocates no frame. The awaiter lives
//    in the sleeping coroutine's frame, and so does everything the timer needs to find it.
//  * A sleep is a timer on the loop whose callback schedules the coroutine's resumption — two
//    steps, exactly as asyncio (the timer completes a future; the future schedules the task).
//    Matching asyncio step for step keeps our examples' output identical to CPython's.
//  * sleep(0) is special, as in asyncio: no timer at all, just one trip through the ready queue.
//    A negative delay counts as zero (asyncio's rule: deadlines computed as `end - now` may fall
//    below zero, and that is not an error).
//  * Cancellable: cancel() removes the timer at once — the loop's timers never pile up under
//    cancel churn — and resumes the coroutine, whose co_await then throws cancelled_error.
#pragma once

#include "aio/event_loop.hpp"
#include "aio/not_implemented.hpp"
#include "aio/task.hpp"

#include <chrono>
#include <coroutine>

namespace aio {

namespace detail {

// ANCHOR: sleeper
class sleeper final : public cancellable_await {
public:
    explicit sleeper(duration delay) noexcept : delay_(delay) {}
    sleeper(const sleeper&) = delete;   // the timer's callback points at this very object
    sleeper& operator=(const sleeper&) = delete;
    // A coroutine destroyed while it sleeps (at the end of aio::run) takes its timer along.
    ~sleeper() { timer_.cancel(); }

    bool await_ready() const noexcept { return false; }   // even sleep(0) yields once

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> sleeping) {
        if (!begin_wait(task_of(sleeping))) return false;   // cancelled already: throw at once
        loop_ = &get_running_loop();
        sleeping_ = sleeping;
        schedule_wakeup();
        return true;
    }

    void await_resume() { end_wait(); }

private:
    void schedule_wakeup() {
#if AIO_EXERCISE == 5
        throw not_implemented("lesson 05, hole schedule_wakeup: for a delay <= 0, resume_soon "
                              "right away; otherwise start a timer with call_later whose callback "
                              "calls resume_soon, and keep its handle in timer_");
#else
        if (delay_ <= duration::zero())
            resume_soon(*loop_, sleeping_);   // sleep(0): one step, no timer
        else
            timer_ = loop_->call_later(delay_, [this] {
                timer_ = {};   // it has run: nothing left to cancel, the loop need not be asked
                resume_soon(*loop_, sleeping_);
            });
#endif
    }

    // The task is cancelled while it sleeps.
    void cancel() noexcept override {
#if AIO_EXERCISE == 5
        // lesson 05, hole cancel_sleep: cancel the timer (so no timer is left behind) and
        // resume the sleeping coroutine soon; its await_resume throws cancelled_error.
#else
        timer_.cancel();
        loop_->call_soon(sleeping_);
#endif
    }

    duration delay_;
    event_loop* loop_ = nullptr;
    std::coroutine_handle<> sleeping_;
    timer_handle timer_;
};
// ANCHOR_END: sleeper

} // namespace detail

// ANCHOR: sleep
/// Suspends the awaiting coroutine for `delay` (asyncio.sleep); zero or less yields one step.
/// Any std::chrono duration works; fractions of a nanosecond round up; a delay beyond 200 years
/// (hours::max(), 1e300 s...) sleeps 200 years instead of overflowing the clock.
template <typename Rep, typename Period>
detail::sleeper sleep(std::chrono::duration<Rep, Period> delay) {
    constexpr std::chrono::hours forever{24 * 365 * 200};
    const std::chrono::duration<double> seconds = delay;
    if (!(seconds > std::chrono::duration<double>::zero())) return detail::sleeper(duration::zero());
    if (seconds >= forever) return detail::sleeper(forever);
    return detail::sleeper(std::chrono::ceil<duration>(delay));
}
// ANCHOR_END: sleep

} // namespace aio
