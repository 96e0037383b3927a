// aio/queue.hpp — lesson 10: aio::queue, priority_queue and lifo_queue, asyncio's queues.
//
//     aio::queue<std::string> urls(100);           // at most 100 waiting: put() waits beyond
//     co_await urls.put(url);                      // producer
//     std::string next = co_await urls.get();      // consumer; then urls.task_done()
//     co_await urls.join();                        // until every item put was marked done
//
// A queue connects tasks that make work with tasks that do it, and its bound (maxsize) is
// back-pressure: a producer faster than its consumers is made to wait instead of filling memory.
//
// Design principles (asyncio's, read from Lib/asyncio/queues.py, with Python 3.13's shutdown):
//  * Two wait lists, getters and putters. put_nowait() wakes the first getter, get_nowait() the
//    first putter (wake_next: one function decides). A wake-up is a hint, not a handover: the
//    woken task checks again and waits again if another task took the item (or the free slot)
//    first. A woken waiter whose task is cancelled before it runs wakes the next one in its
//    place, so a wake-up is never lost.
//  * join() waits until every item put was marked done with task_done(): the unfinished count.
//  * shutdown() (Python 3.13): put() and put_nowait() throw queue_shut_down from then on; get()
//    throws it once the queue is empty — at once with shutdown(true), which also drops the items
//    left and counts them done. Every blocked put() and get() is woken to see it.
//  * The order of items is a policy of three functions (put, get, size): FIFO for queue, a heap
//    for priority_queue, a stack for lifo_queue. Everything else is shared.
//
// For each wait, cppcoro's four questions:
//  * completes without suspending: get() when an item is there, put() when there is room;
//  * a suspended waiter is resumed: by the loop, in a step after the put/get that woke it;
//  * order: waiters are woken first in, first out — but a task that did not wait may take the
//    item first (asyncio's rule: the woken one waits again, at the back);
//  * misuse: a negative maxsize is std::invalid_argument, task_done() more often than put() is
//    std::logic_error; destroying a queue while tasks wait on it makes their get()/put() throw
//    std::logic_error.
//
// Differs from asyncio: maxsize 0 means unbounded, a negative maxsize is an error (asyncio takes
// it as unbounded too: usually a bug).
#pragma once

#include "aio/cancelled_error.hpp"
#include "aio/coroutine.hpp"
#include "aio/detail/waiter_list.hpp"
#include "aio/event.hpp"
#include "aio/not_implemented.hpp"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace aio {

/// get_nowait() on an empty queue (asyncio.QueueEmpty).
class queue_empty : public std::runtime_error {
public:
    queue_empty() : std::runtime_error("aio::queue_empty: get_nowait() on an empty queue") {}
};
/// put_nowait() on a full queue (asyncio.QueueFull).
class queue_full : public std::runtime_error {
public:
    queue_full() : std::runtime_error("aio::queue_full: put_nowait() on a full queue") {}
};
/// A put on a queue that was shut down, or a get on one shut down and empty (asyncio.QueueShutDown).
class queue_shut_down : public std::runtime_error {
public:
    queue_shut_down() : std::runtime_error("aio::queue_shut_down: the queue was shut down") {}
};

// ANCHOR: queue_items
namespace detail {
// The three ways to order items. Each has put(v), get() -> T and size().
template <typename T>
class fifo_items {
public:
    void put(T v) { items_.push_back(std::move(v)); }
    T get() {
        T v = std::move(items_.front());
        items_.pop_front();
        return v;
    }
    std::size_t size() const noexcept { return items_.size(); }

private:
    std::deque<T> items_;
};

template <typename T>
class lifo_items {
public:
    void put(T v) { items_.push_back(std::move(v)); }
    T get() {
        T v = std::move(items_.back());
        items_.pop_back();
        return v;
    }
    std::size_t size() const noexcept { return items_.size(); }

private:
    std::vector<T> items_;
};

// A binary heap, smallest first (Python's heapq). std::push_heap keeps the *largest* on top,
// so it is given the comparison reversed.
template <typename T, typename Compare>
class heap_items {
public:
    void put(T v) {
        items_.push_back(std::move(v));
        std::push_heap(items_.begin(), items_.end(), later_);
    }
    T get() {
        std::pop_heap(items_.begin(), items_.end(), later_);
        T v = std::move(items_.back());
        items_.pop_back();
        return v;
    }
    std::size_t size() const noexcept { return items_.size(); }

private:
    struct reversed {
        Compare less;
        bool operator()(const T& a, const T& b) const { return less(b, a); }
    };
    std::vector<T> items_;
    reversed later_{};
};
} // namespace detail
// ANCHOR_END: queue_items

// ANCHOR: queue
template <typename T, typename Items = detail::fifo_items<T>>
class queue {
public:
    /// A queue that holds at most `maxsize` items; 0 (the default) for no limit.
    explicit queue(std::ptrdiff_t maxsize = 0) : maxsize_(maxsize) {
        if (maxsize < 0)
            throw std::invalid_argument("aio::queue: maxsize must be >= 0 (0: no limit), not " +
                                        std::to_string(maxsize));
        finished_.set();
    }
    queue(const queue&) = delete;   // waiters point at it
    queue& operator=(const queue&) = delete;

    std::size_t qsize() const noexcept { return items_.size(); }
    std::ptrdiff_t maxsize() const noexcept { return maxsize_; }
    bool empty() const noexcept { return items_.size() == 0; }
    bool full() const noexcept {
        return maxsize_ > 0 && items_.size() >= static_cast<std::size_t>(maxsize_);
    }

    /// Puts `item` in, waiting while the queue is full.
    coroutine<> put(T item);
    /// Takes the next item out, waiting while the queue is empty.
    coroutine<T> get();
    /// The same without waiting: throw queue_full / queue_empty (or queue_shut_down).
    void put_nowait(T item);
    T get_nowait();

    /// Marks one item taken with get() as processed; join() waits for all of them.
    void task_done();
    /// `co_await q.join()` returns once every item put has been marked done.
    [[nodiscard]] event::wait_awaiter join() noexcept { return finished_.wait(); }
    /// From now on put() throws queue_shut_down, and get() does once the queue is empty (at
    /// once if `immediate`: the items left are dropped and count as done).
    void shutdown(bool immediate = false);

private:
    void wake_next(detail::waiter_list& waiters) noexcept;

    Items items_;
    std::ptrdiff_t maxsize_;
    detail::waiter_list getters_{"aio::queue"};
    detail::waiter_list putters_{"aio::queue"};
    detail::waiter_list woken_{"aio::queue"};   // woken getters and putters, until they run
    std::size_t unfinished_ = 0;   // put, and not yet marked task_done()
    event finished_{"aio::queue"};   // set while unfinished_ is 0
    bool shut_down_ = false;
};

/// A queue that gives the smallest item first (by `Compare`, std::less by default).
template <typename T, typename Compare = std::less<T>>
using priority_queue = queue<T, detail::heap_items<T, Compare>>;

/// A queue that gives the newest item first.
template <typename T>
using lifo_queue = queue<T, detail::lifo_items<T>>;
// ANCHOR_END: queue

// ANCHOR: queue_get
template <typename T, typename Items>
coroutine<T> queue<T, Items>::get() {
#if AIO_EXERCISE == 10
    throw not_implemented("lesson 10, hole queue_get: while the queue is empty, wait in getters_ "
                          "(a detail::waiter); then take the item with get_nowait(). Mind a "
                          "shutdown, and a getter woken and then cancelled");
    co_return get_nowait();
#else
    while (empty()) {
        if (shut_down_) throw queue_shut_down();
        detail::waiter getter(getters_);
        try {
            co_await getter;
        } catch (const cancelled_error&) {
            // Woken by put_nowait(), then cancelled: the item is still here. Hand the
            // wake-up to the next getter, or it would wait beside an item.
            if (!empty() && getter.woken()) wake_next(getters_);
            throw;
        }
    }
    co_return get_nowait();
#endif
}
// ANCHOR_END: queue_get

template <typename T, typename Items>
coroutine<> queue<T, Items>::put(T item) {
    while (full()) {
        if (shut_down_) throw queue_shut_down();
        detail::waiter putter(putters_);
        try {
            co_await putter;
        } catch (const cancelled_error&) {
            // Woken by get_nowait(), then cancelled: the free slot goes to the next putter.
            if (!full() && putter.woken()) wake_next(putters_);
            throw;
        }
    }
    put_nowait(std::move(item));
}

// ANCHOR: queue_nowait
template <typename T, typename Items>
void queue<T, Items>::put_nowait(T item) {
    if (shut_down_) throw queue_shut_down();
    if (full()) throw queue_full();
    items_.put(std::move(item));
    ++unfinished_;
    finished_.clear();
    wake_next(getters_);
}

template <typename T, typename Items>
T queue<T, Items>::get_nowait() {
    if (empty()) {
        if (shut_down_) throw queue_shut_down();
        throw queue_empty();
    }
    T item = items_.get();
    wake_next(putters_);
    return item;
}

// Wakes the first waiter that is not done yet, dropping the cancelled ones met on the way, as
// asyncio pops the futures it passes. The woken waiter is not dropped, though: its get() or
// put() looks at the queue again when it runs, so it moves to woken_, where ~waiter_list can
// still find it if the queue is destroyed first and tell it (std::logic_error) instead of
// letting it read freed memory.
template <typename T, typename Items>
void queue<T, Items>::wake_next(detail::waiter_list& waiters) noexcept {
    while (detail::waiter* w = waiters.front()) {
        if (w->done()) {
            waiters.pop_front();   // cancelled, about to leave
            continue;
        }
        w->wake();
        waiters.move_to(*w, woken_);
        return;
    }
}
// ANCHOR_END: queue_nowait

// ANCHOR: queue_join
template <typename T, typename Items>
void queue<T, Items>::task_done() {
    if (unfinished_ == 0)
        throw std::logic_error("aio::queue::task_done: called more times than items were put");
    if (--unfinished_ == 0) finished_.set();
}

template <typename T, typename Items>
void queue<T, Items>::shutdown(bool immediate) {
    shut_down_ = true;
    if (immediate) {
        while (!empty()) {
            items_.get();
            if (unfinished_ > 0) --unfinished_;
        }
        if (unfinished_ == 0) finished_.set();
    }
    // Every blocked get() and put() wakes up to see the shutdown.
    while (!getters_.empty()) wake_next(getters_);
    while (!putters_.empty()) wake_next(putters_);
}
// ANCHOR_END: queue_join

} // namespace aio
