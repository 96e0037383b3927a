// aio/semaphore.hpp — lesson 10: aio::semaphore and aio::bounded_semaphore, asyncio's.
//
//     aio::semaphore slots(10);                       // at most 10 downloads at a time
//     auto fetch = [&]() -> aio::coroutine<> { co_await download(url); };
//     co_await aio::async_with(slots, fetch);
//
// A semaphore is a counter of free slots: acquire() takes one (waiting while there are none),
// release() gives one back. It is how a program bounds its concurrency — ten downloads at a
// time, eight connections per host (client_session's limits, lesson 10) — without a pool of
// worker tasks.
//
// Design principles (asyncio's, read from Lib/asyncio/locks.py):
//  * Fair: a newcomer takes a slot at once only if no task is queued (locked() is true while
//    a waiter that is not cancelled exists, even with slots free).
//  * The slot is reserved at wake-up: wake_up_next() takes it from the counter for the waiter it
//    wakes, so nobody can take it in between. A woken waiter whose task is cancelled before it
//    runs gives its slot back and wakes the next one: nothing is lost, nothing is stolen.
//  * bounded_semaphore refuses a release() that would raise the counter above its start value:
//    the usual sign of a release without an acquire.
//
// For each wait, cppcoro's four questions:
//  * completes without suspending: when locked() is false;
//  * a suspended waiter is resumed: by the loop, in a step after the release() that chose it;
//  * order: first in, first out; a cancelled waiter leaves the queue;
//  * misuse: a negative start value is std::invalid_argument; an over-release of a
//    bounded_semaphore (or a counter overflow) is std::logic_error; destroying a semaphore while
//    tasks wait on it makes their acquire() throw std::logic_error.
#pragma once

#include "aio/cancelled_error.hpp"
#include "aio/coroutine.hpp"
#include "aio/detail/waiter_list.hpp"
#include "aio/not_implemented.hpp"

#include <cstddef>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>

namespace aio {

// ANCHOR: semaphore
class semaphore {
public:
    /// `value` free slots to start with (asyncio's default: 1).
    explicit semaphore(std::ptrdiff_t value = 1) : semaphore(value, max_value) {}
    semaphore(const semaphore&) = delete;   // waiters point at it
    semaphore& operator=(const semaphore&) = delete;

    class acquire_awaiter;
    /// `co_await s.acquire()` takes a slot, waiting for one if needed.
    [[nodiscard]] acquire_awaiter acquire() noexcept;
    /// Gives a slot back and wakes the first task queued, if any.
    void release();
    /// True if acquire() would wait: no slot free, or tasks queued already.
    bool locked() const noexcept { return value_ == 0 || waiters_.live() > 0; }
    /// The free slots (minus those reserved for woken waiters that have not run yet).
    std::ptrdiff_t value() const noexcept { return value_; }

    coroutine<> aenter();
    coroutine<bool> aexit(std::exception_ptr) {
        release();
        co_return false;
    }

protected:
    static constexpr std::ptrdiff_t max_value = std::numeric_limits<std::ptrdiff_t>::max();
    semaphore(std::ptrdiff_t value, std::ptrdiff_t bound) : value_(value), bound_(bound) {
        if (value < 0)
            throw std::invalid_argument("aio::semaphore: the start value must be >= 0, not " +
                                        std::to_string(value));
    }

private:
    void wake_up_next() noexcept;

    std::ptrdiff_t value_;
    std::ptrdiff_t bound_;   // release() above it is an error
    detail::waiter_list waiters_{"aio::semaphore"};
};

/// A semaphore whose release() throws std::logic_error above the start value.
class bounded_semaphore : public semaphore {
public:
    explicit bounded_semaphore(std::ptrdiff_t value = 1) : semaphore(value, value) {}
};
// ANCHOR_END: semaphore

// ANCHOR: semaphore_acquire
class semaphore::acquire_awaiter : public detail::waiter {
public:
    explicit acquire_awaiter(semaphore& s) noexcept : waiter(s.waiters_), semaphore_(s) {}

    bool await_ready() noexcept {
        if (semaphore_.locked()) return false;
        --semaphore_.value_;
        return true;
    }

    // Also called after await_ready took a slot: then nobody not cancelled is queued, and
    // there is nothing to do.
    void await_resume() {
        try {
            waiter::await_resume();   // unlinks us; throws if our task was cancelled
        } catch (const cancelled_error&) {
#if AIO_EXERCISE == 10
            throw not_implemented("lesson 10, hole semaphore_pass_on: this task was cancelled. "
                                  "If it had been chosen before that, it holds something the "
                                  "tasks behind it need");
#else
            if (woken()) {   // a slot was reserved for us: give it back, to the next in line
                ++semaphore_.value_;
                semaphore_.wake_up_next();
            }
            throw;
#endif
        }
        if (semaphore_.value_ > 0) semaphore_.wake_up_next();   // more slots than we took
    }

private:
    semaphore& semaphore_;
};
// ANCHOR_END: semaphore_acquire

inline semaphore::acquire_awaiter semaphore::acquire() noexcept { return acquire_awaiter(*this); }

inline coroutine<> semaphore::aenter() { co_await acquire(); }

// ANCHOR: semaphore_release
inline void semaphore::release() {
    if (value_ >= bound_)
        throw std::logic_error(bound_ == max_value
                                   ? "aio::semaphore::release: the counter would overflow"
                                   : "aio::bounded_semaphore::release: released more often than "
                                     "acquired (the value would exceed " +
                                         std::to_string(bound_) + ")");
    ++value_;
    wake_up_next();
}

inline void semaphore::wake_up_next() noexcept {
    // The first waiter not done yet gets the wake-up, and the slot is taken for it now.
    for (detail::waiter* w = waiters_.front(); w; w = detail::waiter_list::next(*w)) {
        if (!w->done()) {
            --value_;
            w->wake();
            return;
        }
    }
}
// ANCHOR_END: semaphore_release

} // namespace aio
