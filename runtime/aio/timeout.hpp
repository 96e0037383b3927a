// aio/timeout.hpp — lesson 11: aio::timeout and timeout_at, asyncio.timeout().
//
//     auto deadline = aio::timeout(2s);
//     co_await aio::async_with(deadline, [&]() -> aio::coroutine<> {
//         co_await fetch_everything();          // cancelled if it is still running after 2 s...
//     });                                       // ...and then this throws aio::timeout_error
//
// A timeout bounds a whole block, however many awaits it holds. It does not invent a new way to
// stop work: at the deadline it cancel()s the task it was entered in, exactly as a user would,
// and the block unwinds through its `catch`es and async_withs like any cancellation. On the way
// out, aexit() recognises its own cancellation and turns it into timeout_error.
//
// Design principles (CPython 3.12's Lib/asyncio/timeouts.py):
//  * A state machine, each call naming the states it accepts: created -> entered -> (expiring ->
//    expired | exited). reschedule() works only while entered; a second entry is an error.
//  * The timer's callback decides nothing: it cancels the task and notes "expiring". Every
//    decision is taken in aexit(), when the block has unwound.
//  * Whose cancellation is it? A task may be cancelled by the timeout *and* by someone else
//    (an outer timeout, a task group, a user's cancel()). The task counts cancel() calls
//    (task.cancelling()); the timeout remembers the count at entry, and on exit takes its own
//    request back (uncancel()). Only if that brings the count back to the entry value is the
//    cancelled_error its own, and turned into timeout_error; otherwise it goes on untouched.
//    So nested timeouts each catch their own, and an outer cancel() is never swallowed.
//  * A deadline already past is not acted on at once: the block starts, and is cancelled at
//    the first await that lasts until the timer runs. (asyncio uses call_soon, one step
//    sooner than our call_at with a past time, which runs after the current batch of ready
//    callbacks: an await of sleep(0) can still pass. Simplified: a handle to cancel a call_soon
//    would need a mechanism of its own.)
//
// Simplified: the clock is the loop's (virtual in the tests); when() and reschedule() take its
// time_points, as asyncio's take loop.time().
#pragma once

#include "aio/cancelled_error.hpp"
#include "aio/coroutine.hpp"
#include "aio/detail/current_task.hpp"
#include "aio/event_loop.hpp"
#include "aio/task.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace aio {

/// A deadline passed (asyncio's TimeoutError): thrown by a timeout's aexit() and by wait_for().
class timeout_error : public std::runtime_error {
public:
    timeout_error() : std::runtime_error("aio::timeout_error: the deadline passed") {}
    using std::runtime_error::runtime_error;
};

// ANCHOR: timeout
class timeout {
public:
    /// A deadline `delay` from now on the running loop's clock (beyond 200 years: 200 years, as
    /// sleep(); zero or less: the block is cancelled at its first await).
    explicit timeout(duration delay) : timeout(deadline_after(delay)) {}
    /// A deadline at `when` (loop time); std::nullopt: no deadline (reschedule() may set one).
    explicit timeout(std::optional<time_point> when) noexcept : when_(when) {}
    timeout(const timeout&) = delete;   // the timer's callback points at this very object
    timeout& operator=(const timeout&) = delete;
    ~timeout() {
        // A frame abandoned by aio::run and kept by a task handle dies after the loop: then
        // the timer went with the loop, and there is nothing to cancel.
        if (!loop_alive_.expired()) timer_.cancel();
    }

    /// The current deadline (std::nullopt: none).
    std::optional<time_point> when() const noexcept { return when_; }
    /// Moves the deadline (std::nullopt: removes it). Only while entered: std::logic_error else.
    void reschedule(std::optional<time_point> when);
    /// True once the deadline has passed inside the block (even if aexit has not run yet).
    bool expired() const noexcept { return state_ == state::expiring || state_ == state::expired; }

    // The async context manager: async_with(t, body).
    coroutine<> aenter();
    coroutine<bool> aexit(std::exception_ptr error);

    // The same two steps without a coroutine frame of their own (wait_for uses them): enter the
    // task `running` (the task of the coroutine that enters), and exit with what the block threw.
    void enter(detail::task_state* running);
    void exit(const std::exception_ptr& error);

private:
    enum class state : unsigned char { created, entered, expiring, expired, exited };
    static const char* name(state s) noexcept;
    static time_point deadline_after(duration delay) {
        constexpr duration forever = std::chrono::hours(24 * 365 * 200);
        return get_running_loop().time() + (delay < forever ? delay : forever);
    }
    void on_deadline() noexcept;

    std::optional<time_point> when_;
    state state_ = state::created;
    detail::task_state* task_ = nullptr;   // the task the block runs in (it outlives the block)
    std::uint32_t cancelling_at_entry_ = 0;
    timer_handle timer_;
    std::weak_ptr<const void> loop_alive_;   // the timer's loop, while it exists
};
// ANCHOR_END: timeout

/// A timeout at the loop time `when` (asyncio.timeout_at).
inline timeout timeout_at(std::optional<time_point> when) noexcept { return timeout(when); }

inline const char* timeout::name(state s) noexcept {
    switch (s) {
    case state::created: return "created";
    case state::entered: return "active";
    case state::expiring: return "expiring";
    case state::expired: return "expired";
    case state::exited: return "finished";
    }
    return "?";
}

inline void timeout::enter(detail::task_state* running) {
    if (state_ != state::created)
        throw std::logic_error("aio::timeout: already entered (a timeout is used once)");
    if (running == nullptr)
        throw std::logic_error("aio::timeout: must be entered inside a task (aio::run or create_task)");
    task_ = running;
    loop_alive_ = running->loop->liveness();
    cancelling_at_entry_ = running->cancels_requested;
    state_ = state::entered;
    reschedule(when_);
}

inline void timeout::reschedule(std::optional<time_point> when) {
    if (state_ != state::entered)
        throw std::logic_error(state_ == state::created
                                   ? "aio::timeout::reschedule: the timeout has not been entered"
                                   : std::string("aio::timeout::reschedule: the timeout is ") +
                                         name(state_) + ": it cannot change any more");
    when_ = when;
    timer_.cancel();
    timer_ = {};
    if (when) timer_ = task_->loop->call_at(*when, [this] { on_deadline(); });   // past: next step
}

// ANCHOR: timeout_deadline
inline void timeout::on_deadline() noexcept {
    timer_ = {};   // it has run
    state_ = state::expiring;
    detail::cancel_task(*task_);   // decide nothing here: aexit() will
}
// ANCHOR_END: timeout_deadline

// ANCHOR: timeout_exit
inline void timeout::exit(const std::exception_ptr& error) {
    if (state_ != state::entered && state_ != state::expiring)
        throw std::logic_error(std::string("aio::timeout: exit from a timeout that is ") + name(state_));
    timer_.cancel();
    timer_ = {};
    if (state_ == state::entered) {
        state_ = state::exited;
        return;
    }
    state_ = state::expired;
    // Ours only if no other cancel() came since we entered: then the count is back where it was.
    if (detail::uncancel(*task_) <= cancelling_at_entry_ && detail::is_cancellation(error))
        throw timeout_error();
}
// ANCHOR_END: timeout_exit

inline coroutine<> timeout::aenter() {
    detail::task_state* running = co_await detail::current_task();
    enter(running);
}

inline coroutine<bool> timeout::aexit(std::exception_ptr error) {
    exit(error);
    co_return false;   // a cancellation that is not ours, or any other error, goes on
}

} // namespace aio
