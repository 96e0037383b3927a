// aio/lock.hpp — lesson 10: aio::lock, asyncio.Lock.
//
//     aio::lock lk;
//     auto append = [&]() -> aio::coroutine<> { co_await write_record(file, record); };
//     co_await aio::async_with(lk, append);     // async with lock: one task at a time in append
//
// (The lambda is named before the co_await: g++ 12 miscompiles a capturing lambda temporary
// inside a co_await expression — CODING.md.)
//
// A lock makes a critical section that contains awaits: while its holder is suspended inside,
// other tasks that ask for it wait, in the order they asked.
//
// Design principles (asyncio's, read from Lib/asyncio/locks.py):
//  * Fair: the lock is served first come, first served. A newcomer takes a free lock at once
//    only if no task is queued for it; a task that was woken but has not run yet is still queued,
//    so nobody barges past it. (locked() is nevertheless false in between, as in asyncio.)
//  * One function chooses who runs next: wake_up_first(). release() calls it; so does a woken
//    waiter whose task was cancelled before it could take the lock — it passes the wake-up on,
//    so that no wake-up is lost and the lock cannot stay free with tasks queued.
//  * Not owned: any task may release a lock another task acquired (asyncio's rule).
//
// For each wait, cppcoro's four questions:
//  * completes without suspending: when the lock is free and nobody is queued;
//  * a suspended waiter is resumed: by the loop, in a step after the release() that chose it
//    (never inside release());
//  * order: first in, first out; a cancelled waiter leaves the queue;
//  * misuse: release() of a lock that is not locked throws std::logic_error; destroying a lock
//    while tasks wait on it makes their acquire() throw std::logic_error.
#pragma once

#include "aio/cancelled_error.hpp"
#include "aio/coroutine.hpp"
#include "aio/detail/waiter_list.hpp"

#include <exception>
#include <stdexcept>

namespace aio {

// ANCHOR: lock
class lock {
public:
    lock() = default;
    lock(const lock&) = delete;   // waiters point at it
    lock& operator=(const lock&) = delete;

    class acquire_awaiter;
    /// `co_await lk.acquire()` waits until this task holds the lock.
    [[nodiscard]] acquire_awaiter acquire() noexcept;
    /// Frees the lock and wakes the first task queued for it, if any.
    void release();
    bool locked() const noexcept { return locked_; }

    // An async context manager: async_with(lk, body) holds the lock around body.
    coroutine<> aenter();
    coroutine<bool> aexit(std::exception_ptr) {
        release();
        co_return false;
    }

private:
    void wake_up_first() noexcept;

    bool locked_ = false;
    detail::waiter_list waiters_{"aio::lock"};
};
// ANCHOR_END: lock

// ANCHOR: lock_acquire
class lock::acquire_awaiter : public detail::waiter {
public:
    explicit acquire_awaiter(lock& l) noexcept : waiter(l.waiters_), lock_(l) {}

    bool await_ready() noexcept {
#if AIO_EXERCISE == 10
        // lesson 10, hole lock_acquire: may this task have the lock now, without waiting and
        // without going ahead of a task already queued for it? Then take it, and say so.
        return false;
#else
        if (lock_.locked_ || lock_.waiters_.live() > 0) return false;   // fair: queue up
        lock_.locked_ = true;
        return true;
#endif
    }

    // Also called after await_ready took the lock: then waiter::await_resume has nothing to do.
    void await_resume() {
        try {
            waiter::await_resume();   // unlinks us; throws if our task was cancelled
        } catch (const cancelled_error&) {
            // Woken, then cancelled before we could take it: the lock is free and someone may
            // be queued behind us. Pass the wake-up on. (Cancelled before any wake-up, we were
            // not chosen: waking the first does no harm, and it is asyncio's code.)
            if (!lock_.locked_) lock_.wake_up_first();
            throw;
        }
        lock_.locked_ = true;
    }

private:
    lock& lock_;
};
// ANCHOR_END: lock_acquire

inline lock::acquire_awaiter lock::acquire() noexcept { return acquire_awaiter(*this); }

inline coroutine<> lock::aenter() { co_await acquire(); }

// ANCHOR: lock_release
inline void lock::release() {
    if (!locked_) throw std::logic_error("aio::lock::release: the lock is not acquired");
    locked_ = false;
    wake_up_first();
}

inline void lock::wake_up_first() noexcept {
#if AIO_EXERCISE == 10
    // lesson 10, hole wake_up_first: the lock is free; give the task next in line its turn,
    // unless that task has something on its way already.
#else
    detail::waiter* first = waiters_.front();
    if (first && !first->done()) first->wake();
#endif
}
// ANCHOR_END: lock_release

} // namespace aio
