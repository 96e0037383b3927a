// aio/detail/task_observer.hpp — lesson 13: the hooks that let a trace or a debugger watch tasks.
//
// Lesson 01's loop_observer sees the loop's items go by: a coroutine frame resumed, a callback
// called. It cannot tell which task a frame belongs to, what a task waits for, or who woke it.
// The task machinery knows, at a handful of choke points that every task passes through:
//
//      start_task ──► task_created         finish_task ──► task_finished
//      begin_wait ──► await_begun          (every suspension of a task in a runtime await)
//      resume_soon ─► task_woken           (whoever runs now is the one who woke it)
//      end_wait ───► await_ended           (the task runs again: this step is its)
//      epoll_wait ─► loop_sleeping, loop_waited  (the loop sleeps; how long, for how many events)
//
// Design principles (tokio's task hooks, CPython's debug branch):
//  * Off costs nothing measurable: one thread-local pointer, null by default, tested with
//    [[unlikely]] at each choke point. No field is added to a task for the observer's sake: an
//    observer keeps its own maps (by task number: a task_state may be gone when it looks).
//  * One observer per thread: the trace (AIO_TRACE) and debug mode (AIO_DEBUG) are installed by
//    the loop when their variable is set; a second one chains to the first (see `previous`).
#pragma once

#include "aio/detail/task_state.hpp"
#include "aio/event_loop.hpp"

#include <coroutine>

namespace aio::detail {

class task_observer {
public:
    // An observer must not change what the program does: the hooks are noexcept (an exception
    // would end the program), and a trace that cannot be written is silently incomplete.
    virtual void task_created(task_state& task) noexcept = 0;
    /// Before its waiters are woken; the task_state says how it ended (failed, cancelled).
    virtual void task_finished(task_state& task) noexcept = 0;
    virtual void await_begun(task_state& task, const cancellable& await) noexcept = 0;
    virtual void task_woken(task_state& task, std::coroutine_handle<> frame) noexcept = 0;
    virtual void await_ended(task_state& task) noexcept = 0;
    /// The loop is about to sleep in epoll_wait (a trace writes out what it holds: a program
    /// that hangs there, or is killed there, keeps its trace).
    virtual void loop_sleeping(const event_loop& loop) noexcept = 0;
    virtual void loop_waited(const event_loop& loop, time_point from, time_point to,
                             int events) noexcept = 0;

    static inline thread_local task_observer* current = nullptr;

protected:
    ~task_observer() = default;
};

// The calls the runtime makes: one test of a thread-local pointer each, when nobody watches.
inline void notify_task_created(task_state& task) noexcept {
    if (task_observer* o = task_observer::current) [[unlikely]] o->task_created(task);
}
inline void notify_task_finished(task_state& task) noexcept {
    if (task_observer* o = task_observer::current) [[unlikely]] o->task_finished(task);
}
inline void notify_await_begun(task_state* task, const cancellable& await) noexcept {
    if (task_observer* o = task_observer::current) [[unlikely]] if (task) o->await_begun(*task, await);
}
inline void notify_task_woken(task_state* task, std::coroutine_handle<> frame) noexcept {
    if (task_observer* o = task_observer::current) [[unlikely]] if (task) o->task_woken(*task, frame);
}
inline void notify_await_ended(task_state* task) noexcept {
    if (task_observer* o = task_observer::current) [[unlikely]] if (task) o->await_ended(*task);
}

} // namespace aio::detail
