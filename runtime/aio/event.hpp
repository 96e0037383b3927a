// aio/event.hpp — lesson 10: aio::event, asyncio.Event.
//
//     aio::event ready;
//     ... co_await ready.wait();    // in any number of tasks: suspends until the flag is set
//     ... ready.set();              // in another: wakes every one of them
//
// An event is a flag that tasks can wait for: the simplest way to say "it has happened" to
// any number of listeners at once.
//
// Design principles (asyncio's):
//  * set() wakes every task waiting at that moment, in the order they started waiting, and
//    leaves the flag set: a wait() that comes later returns at once, until clear().
//  * A waiter woken by set() returns even if clear() comes before it runs: the wake-up was
//    given, the flag is not checked again (asyncio's rule). So set() takes the waiters out of
//    the list as it wakes them: nothing of the event is needed any more, and it may be
//    destroyed right after set().
//
// For each wait, cppcoro's four questions:
//  * completes without suspending: when the flag is set;
//  * a suspended waiter is resumed: by the loop, in a step after the set() (never inside it);
//  * order: every waiter present at set(), first in first out; a cancelled waiter leaves;
//  * misuse: destroying an event while tasks wait on it makes their wait() throw
//    std::logic_error.
#pragma once

#include "aio/detail/waiter_list.hpp"

namespace aio {

// ANCHOR: event
class event {
public:
    event() = default;
    /// An event inside another primitive (queue::join's) names that one in the error a task
    /// waiting on it gets if it is destroyed: "aio::queue destroyed while a task waited on it".
    explicit event(const char* owner) noexcept : waiters_(owner) {}
    event(const event&) = delete;   // waiters point at it
    event& operator=(const event&) = delete;

    class wait_awaiter;
    /// `co_await ev.wait()` returns at once if the flag is set, else when set() is called.
    [[nodiscard]] wait_awaiter wait() noexcept;
    /// Sets the flag and wakes every task waiting for it.
    void set() noexcept;
    void clear() noexcept { set_ = false; }
    bool is_set() const noexcept { return set_; }

private:
    bool set_ = false;
    detail::waiter_list waiters_{"aio::event"};
};
// ANCHOR_END: event

class event::wait_awaiter : public detail::waiter {
public:
    explicit wait_awaiter(event& e) noexcept : waiter(e.waiters_), event_(e) {}
    bool await_ready() const noexcept { return event_.set_; }   // then no wait at all
    // await_resume is the waiter's: it unlinks, and throws if the task was cancelled.

private:
    event& event_;
};

inline event::wait_awaiter event::wait() noexcept { return wait_awaiter(*this); }

// ANCHOR: event_set
inline void event::set() noexcept {
    if (set_) return;
    set_ = true;
#if AIO_EXERCISE == 10
    // lesson 10, hole event_set: every task waiting now must run again, in the order they
    // came, and none of them needs this event once it does. See detail::waiter_list.
#else
    // Each waiter is taken out as it is woken: its wait() never looks at the event again, so
    // the event may be destroyed right after set() and the tasks still wake normally.
    while (detail::waiter* w = waiters_.pop_front()) w->wake();
#endif
}
// ANCHOR_END: event_set

} // namespace aio
