// aio/condition.hpp — lesson 10: aio::condition, asyncio.Condition.
//
//     auto has_jobs = [&] { return !jobs.empty(); };
//     auto consume = [&]() -> aio::coroutine<> {
//         co_await cond.wait_for(has_jobs);   // returns holding the lock, with a job there
//         take(jobs);
//     };
//     co_await aio::async_with(cond, consume);
//     ... elsewhere, holding the lock:  jobs.push_back(j); cond.notify();
//
// A condition is a lock plus a wait list: wait() releases the lock, sleeps until another task
// calls notify(), and takes the lock again before it returns. It is how a task waits for a
// state that other tasks change under the same lock.
//
// Design principles (asyncio's, read from Lib/asyncio/locks.py, with Python 3.13's fix):
//  * wait() always gives the lock back before it returns or throws — even when the task is
//    cancelled while it waits, or while it waits for the lock: the caller's `async with` will
//    release it, so it must be held. A cancellation is delivered after that.
//  * A wake-up is a hint: the state may have changed again before the woken task holds the lock.
//    wait_for(predicate) re-checks in a loop; that is the way to use a condition.
//  * A wait() that ends by an exception (a cancellation) may have been notified already; it
//    notifies the next waiter in its place, so no notification is lost (Python 3.13, gh-112202;
//    3.11 loses it). Waiters must tolerate such a spurious wake-up — wait_for does.
//  * notify(n) wakes at most n waiters that are not done yet, oldest first.
//
// For each wait, cppcoro's four questions:
//  * completes without suspending: never — wait() always releases the lock and waits;
//  * a suspended waiter is resumed: by the loop, in a step after notify(), then after the lock's
//    release() that hands it the lock;
//  * order: notified oldest first; then the lock's own first in, first out;
//  * misuse: wait() or notify() without holding the lock throws std::logic_error; destroying a
//    condition (or its lock) while tasks wait on it makes their wait() throw std::logic_error.
#pragma once

#include "aio/cancelled_error.hpp"
#include "aio/coroutine.hpp"
#include "aio/detail/waiter_list.hpp"
#include "aio/lock.hpp"
#include "aio/not_implemented.hpp"

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <utility>

namespace aio {

// ANCHOR: condition
class condition {
public:
    /// A condition with a lock of its own.
    condition() noexcept : lock_(own_lock_) {}
    /// A condition over `lk`, which must outlive it (several conditions may share one lock).
    explicit condition(lock& lk) noexcept : lock_(lk) {}
    condition(const condition&) = delete;   // waiters point at it
    condition& operator=(const condition&) = delete;

    [[nodiscard]] lock::acquire_awaiter acquire() noexcept { return lock_.acquire(); }
    void release() { lock_.release(); }
    bool locked() const noexcept { return lock_.locked(); }

    /// Releases the lock, waits for a notify(), and takes the lock again. Needs the lock.
    coroutine<> wait();
    /// Waits until predicate() is true, checking it first and after every wake-up.
    template <typename Predicate>
    coroutine<> wait_for(Predicate predicate);
    /// Wakes at most n waiting tasks. Needs the lock.
    void notify(std::size_t n = 1);
    /// Wakes every waiting task. Needs the lock.
    void notify_all() { notify(waiters_.size()); }

    coroutine<> aenter() { co_await lock_.acquire(); }
    coroutine<bool> aexit(std::exception_ptr) {
        lock_.release();
        co_return false;
    }

private:
    void wake(std::size_t n) noexcept;

    lock own_lock_;   // unused when the condition is given a lock
    lock& lock_;
    detail::waiter_list waiters_{"aio::condition"};
};
// ANCHOR_END: condition

// ANCHOR: condition_wait
inline coroutine<> condition::wait() {
    if (!locked()) throw std::logic_error("aio::condition::wait: the lock is not acquired");
    lock_.release();
    std::exception_ptr cancellation;   // no co_await inside a catch handler: kept for below
    {
        detail::waiter notified(waiters_);
        try {
            co_await notified;
        } catch (const cancelled_error&) {
            cancellation = std::current_exception();
        }
    }
#if AIO_EXERCISE == 10
    throw not_implemented("lesson 10, hole condition_wait: the caller holds the lock when "
                          "wait() ends, however it ends, and a notification this waiter may "
                          "have had is not lost with it");
#else
    // Take the lock again, even if we were cancelled, even if cancelled again while we wait
    // for it: the caller's async_with releases it on the way out.
    for (;;) {
        try {
            co_await lock_.acquire();
            break;
        } catch (const cancelled_error&) {
            cancellation = std::current_exception();   // the latest one goes out
        }
    }
    if (cancellation) {
        wake(1);   // we may have been notified: pass it on (a spurious wake-up at worst)
        std::rethrow_exception(cancellation);
    }
#endif
}
// ANCHOR_END: condition_wait

// ANCHOR: condition_notify
template <typename Predicate>
coroutine<> condition::wait_for(Predicate predicate) {
    while (!predicate()) co_await wait();
}

inline void condition::notify(std::size_t n) {
    if (!locked()) throw std::logic_error("aio::condition::notify: the lock is not acquired");
    wake(n);
}

inline void condition::wake(std::size_t n) noexcept {
    for (detail::waiter* w = waiters_.front(); w && n > 0; w = detail::waiter_list::next(*w)) {
        if (!w->done()) {
            w->wake();
            --n;
        }
    }
}
// ANCHOR_END: condition_notify

} // namespace aio
