// aio/detail/inbox.hpp — lesson 12: the one way into a loop from another thread.
//
// Everything of a loop (its ready queue, timers, fds) is touched by its own thread only; that is
// why nothing in it takes a lock. Other threads get a door of their own, the inbox: callbacks
// behind a mutex, and an eventfd in the loop's epoll set that makes epoll_wait return when mail
// arrives. Each step, the loop moves the mail to the back of its ready queue, in the order it
// was posted. (asyncio's call_soon_threadsafe is the same: its ready deque, and a byte written
// to the loop's self-pipe.)
//
// Design principles:
//  * Only the post that finds the inbox empty writes to the eventfd: a burst of a thousand posts
//    costs one wake-up, and the loop takes them all at once.
//  * has_mail() is one atomic load, so the loop's hot path (work ready, no fd watched) still
//    makes no system call.
//  * The inbox is shared (std::shared_ptr) with the work a loop hands to threads. A thread that
//    finishes after its loop is gone posts to a closed inbox, which refuses the mail, instead of
//    writing into a destroyed loop.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace aio::detail {

class inbox {
public:
    using callback = std::function<void()>;

    inbox();    // opens the eventfd
    ~inbox();   // closes it
    inbox(const inbox&) = delete;
    inbox& operator=(const inbox&) = delete;

    /// The eventfd the loop watches, edge-triggered: each post that finds the inbox empty writes
    /// to it, and each write wakes epoll_wait. Nobody reads it back: its counter only grows.
    int fd() const noexcept { return fd_; }

    /// Any thread: queues `cb` for the loop and wakes it. False, and `cb` left untouched, once
    /// the loop has closed the inbox (the caller destroys it, outside the lock).
    bool post(callback& cb);

    /// The loop's thread: is there mail? (One atomic load.)
    bool has_mail() const noexcept { return has_mail_.load(std::memory_order_acquire); }

    /// The loop's thread: swaps everything posted so far into `mail` (which must be empty), in
    /// the order it was posted.
    void take(std::vector<callback>& mail);

    /// The loop is going: later posts are refused; mail not taken yet is dropped.
    void close() noexcept;

    /// The loop's thread only: thread calls whose answer is still to come through this inbox.
    /// While there are some, the loop is not idle (run_until_idle waits for them).
    std::size_t expected = 0;

private:
    std::mutex mutex_;
    std::vector<callback> posted_;   // guarded by mutex_
    bool closed_ = false;            // guarded by mutex_
    std::atomic<bool> has_mail_{false};
    int fd_ = -1;
};

} // namespace aio::detail
