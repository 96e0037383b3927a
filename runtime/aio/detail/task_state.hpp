// aio/detail/task_state.hpp — lesson 04: the bookkeeping a task needs, kept in its frame.
//
// A task is a coroutine whose frame lives on its own, driven by the loop. Everything a task needs
// besides its coroutine — who holds a handle to it, who waits for it, what it is suspended in,
// whether someone asked to cancel it — lives in a task_state inside the promise of its top
// coroutine. So creating a task costs exactly one allocation: its frame. (asyncio allocates a
// separate Task object; we trade ~90 bytes in every frame for that: 88 with g++ 12 on x86-64.)
//
// Every coroutine frame also knows which task it runs in (promise_base::task_), copied from its
// awaiter when it is awaited: that is how an await deep inside a chain of coroutines finds the
// task to register with, so that cancel() can reach it.
#pragma once

#include "aio/cancelled_error.hpp"

#include <coroutine>
#include <cstdint>
#include <exception>
#if AIO_LESSON >= 11
#include <memory>
#include <string>
#endif // lesson 11

namespace aio {

class event_loop;

namespace detail {

struct task_state;
class promise_base;

// The await a task is suspended in, when cancel() may abort it.
class cancellable {
public:
    // Undo the await's registration (timer, fd interest, place in a queue...) and make sure the
    // coroutine gets resumed; its await_resume then throws aio::cancelled_error.
    virtual void cancel() noexcept = 0;
#if AIO_LESSON >= 13
    // Lesson 13: what the task waits for, as a task dump and a trace name it ("aio::lock",
    // "task 'fetch'"); empty: the await's type will do ("aio::sleeper").
    virtual std::string awaiting() const { return {}; }
#endif // lesson 13

protected:
    // An await destroyed while its task still points at it (an async_generator destroyed under
    // a pending next(), lesson 06) takes that pointer along: no dangling registration.
    inline ~cancellable();

    friend struct task_state;
    task_state* waiting_task_ = nullptr;   // the task suspended in this await (null: none, or
                                           // that task's frame is already gone)
};

// Something waiting for a task to finish: an intrusive node, living in the waiter's own frame
// (no allocation), in the task's FIFO list of waiters.
class task_waiter {
public:
    // Called once the task has finished, after this node was unlinked.
    virtual void on_task_done() noexcept = 0;

    void wait_for(task_state& task) noexcept;   // appends this node to the task's waiters
    void stop_waiting() noexcept;               // unlinks it, if it is linked

protected:
    ~task_waiter() { stop_waiting(); }   // a frame destroyed while waiting leaves no trace

private:
    friend struct task_state;
    task_state* task_ = nullptr;   // the task waited for, while linked
    task_waiter* prev_ = nullptr;
    task_waiter* next_ = nullptr;
};

struct task_state {
    event_loop* loop = nullptr;
    std::coroutine_handle<> top;        // the task's top coroutine; its frame holds this state
    promise_base* owner = nullptr;      // ... and its promise (where the exception is kept)
    std::uint32_t references = 0;       // task<T> handles, plus one while the task runs
    bool finished = false;
    bool failed = false;                // finished by an exception (cancelled_error included)
    bool cancelled = false;             // finished by cancelled_error
    bool cancel_requested = false;      // cancel() was called; the next await throws
    bool exception_retrieved = false;   // someone saw the exception: no report at the end
    bool cancel_queued = false;         // in the thread's queue of cancellations (task.cpp)
    cancellable* suspended_in = nullptr;
    task_waiter* first_waiter = nullptr;
    task_waiter* last_waiter = nullptr;
    task_state* prev_task = nullptr;    // all unfinished tasks of this thread, for aio::run
    task_state* next_task = nullptr;    // to cancel at exit
    task_state* next_to_cancel = nullptr;   // the queue of cancellations (task.cpp)
#if AIO_LESSON >= 11
    // Lesson 11: how many cancel() calls no uncancel() has answered yet (asyncio's
    // cancelling()): how a timeout tells its own cancellation from someone else's.
    std::uint32_t cancels_requested = 0;
    std::shared_ptr<const std::string> cancel_message;   // of the latest cancel(message)
#endif // lesson 11
#if AIO_LESSON >= 13
    // Lesson 13: "Task-<id>" unless given a name (asyncio's names); ids count on each thread.
    std::uint64_t id = 0;
    std::string name;
#endif // lesson 13

    // Wakes every waiter, in the order they started waiting.
    void wake_waiters() noexcept;

    // The task's frame is about to go: an await still registered must not point back at it.
    void forget_suspension() noexcept {
        if (suspended_in) suspended_in->waiting_task_ = nullptr;
        suspended_in = nullptr;
    }
};

#if AIO_LESSON >= 11
// Task.uncancel(): one cancel() request answered; the count left.
inline std::uint32_t uncancel(task_state& task) noexcept {
    if (task.cancels_requested > 0) --task.cancels_requested;
    return task.cancels_requested;
}
#endif // lesson 11

// Is `e` a cancelled_error? (Null is not.)
inline bool is_cancellation(const std::exception_ptr& e) noexcept {
    if (!e) return false;
    try {
        std::rethrow_exception(e);
    } catch (const cancelled_error&) {
        return true;
    } catch (...) {
        return false;
    }
}

// The cancellation requested of `task`, taken for delivery: its next await throws this.
inline cancelled_error take_cancellation(task_state& task) {
    task.cancel_requested = false;
#if AIO_LESSON >= 11
    // The message belongs to this request: a later cancel() (a timeout's) brings its own, or none.
    if (auto message = std::move(task.cancel_message)) return cancelled_error(*message);
#endif // lesson 11
    return cancelled_error();
}

inline cancellable::~cancellable() {
    if (waiting_task_ && waiting_task_->suspended_in == this) waiting_task_->suspended_in = nullptr;
}

} // namespace detail
} // namespace aio
