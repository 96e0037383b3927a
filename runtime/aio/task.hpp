// aio/task.hpp — lesson 04: create_task and aio::task<T>, asyncio's Task.
//
// `aio::create_task(coro)` hands a coroutine to the running loop: its first step is scheduled
// with call_soon, so it starts only when its creator yields (asyncio's order), and from then on
// it runs on its own, interleaved with every other task at its awaits. The aio::task<T> it
// returns is a handle to watch it, await it, or cancel it.
//
// Design principles:
//  * One allocation per task: the coroutine's frame. The task's bookkeeping (task_state) sits in
//    the promise of its top coroutine, and the handle is a reference-counted pointer to that
//    frame. The frame lives while a handle exists or the task runs, and is destroyed when both
//    are over — so results stay readable after the end, and a fire-and-forget task cleans up
//    after itself.
//  * Awaiting a task costs no allocation either: the awaiter is a node in the task's list of
//    waiters, living in the awaiting frame. When the task finishes, each waiter is resumed in
//    a later loop step, in the order they started waiting (asyncio's done callbacks).
//  * cancel() reaches the await the task is suspended in (registered in task_state) and makes
//    it throw aio::cancelled_error. Awaiting a task that awaits another task cancels the inner
//    one too, as in asyncio; the outer then receives the inner's outcome.
//  * An exception nobody looked at is reported on stderr when the task's frame dies, like
//    asyncio's "Task exception was never retrieved".
//
// Simplified: handles are for one thread (the reference count is not atomic); a task belongs to
// the loop it was created on.
#pragma once

#include "aio/cancelled_error.hpp"
#include "aio/coroutine.hpp"
#include "aio/detail/task_state.hpp"
#include "aio/event_loop.hpp"
#if AIO_LESSON >= 13
#include "aio/detail/task_observer.hpp"
#endif // lesson 13

#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>
#if AIO_LESSON >= 13
#include <cstdio>
#include <string>
#endif // lesson 13

namespace aio {

namespace detail {
template <typename T>
task_state& state_of(const task<T>& t) noexcept;

// task.cpp: the life of a task_state.
void start_task(task_state& state, promise_base& top, std::coroutine_handle<> frame,
                event_loop& loop);
bool cancel_task(task_state& state) noexcept;
// The same, for a task reached from inside another cancellation (an await's cancel() passing it
// on to the task it awaits): queued, not recursive, so that a chain of a million tasks awaiting
// each other cancels with a flat stack. False if the task has already finished.
bool cancel_inner_task(task_state& inner) noexcept;
void release_task(task_state& state) noexcept;   // one reference fewer: may destroy the frame
#if AIO_LESSON >= 13
// Lesson 13 (inspect.cpp): a task's name, and its await chain as text.
std::string name_of(const task_state& state);
std::string stack_of(const task_state& state);
#endif // lesson 13
[[noreturn]] void throw_not_done(const char* what);
// The unfinished tasks of `loop` (null: of every loop of this thread), oldest first.
std::vector<task_state*> unfinished_tasks(const event_loop* loop);
// At the end of aio::run: cancels the loop's unfinished tasks and runs the loop until they have
// finished (or nothing more can happen).
void cancel_remaining_tasks(event_loop& loop);
// Then, and when aio::run is left by an exception, and when a loop is destroyed: finishes the
// loop's tasks that are still not done as cancelled, without running them, and destroys their
// frames (or, when a handle holds one, lets the handle destroy it: by then nothing in it is
// registered with the loop). Returns how many. A non-null `report` starts the line saying so
// on stderr (null when aio::run is already failing with an exception).
std::size_t abandon_remaining_tasks(event_loop& loop, const char* report) noexcept;

// ANCHOR: cancellable_await
// What every cancellable await of the runtime does around its suspension.
class cancellable_await : public cancellable {
protected:
    // In await_suspend, before registering: false if the task is already being cancelled
    // (then do not suspend: await_resume throws at once).
    bool begin_wait(task_state* task) noexcept {
        waiting_task_ = task;
        if (task == nullptr) return true;
        if (task->cancel_requested) return false;
        task->suspended_in = this;
#if AIO_LESSON >= 13
        notify_await_begun(task, *this);   // lesson 13: a trace or a debugger may be watching
#endif // lesson 13
        return true;
    }
    // First thing in await_resume: throws cancelled_error if the task was cancelled meanwhile.
    void end_wait() {
        if (waiting_task_ == nullptr) return;
#if AIO_LESSON >= 13
        notify_await_ended(waiting_task_);
#endif // lesson 13
        waiting_task_->suspended_in = nullptr;
        if (waiting_task_->cancel_requested) throw take_cancellation(*waiting_task_);
    }
    // What this await waited for has happened: resume the coroutine in the next step. From
    // now on cancel() cannot reach this await any more (that would resume it twice); a cancel
    // that comes before the resumption still wins, in end_wait().
    void resume_soon(event_loop& loop, std::coroutine_handle<> coroutine) {
        if (waiting_task_ && waiting_task_->suspended_in == this) waiting_task_->suspended_in = nullptr;
#if AIO_LESSON >= 13
        notify_task_woken(waiting_task_, coroutine);
#endif // lesson 13
        loop.call_soon(coroutine);
    }
#if AIO_LESSON >= 9
    // The same, resuming it now, from inside a loop callback (lesson 09's read_interest).
    void resume_now(std::coroutine_handle<> coroutine) {
        if (waiting_task_ && waiting_task_->suspended_in == this) waiting_task_->suspended_in = nullptr;
        coroutine.resume();
    }
#endif // lesson 09
};
// ANCHOR_END: cancellable_await
} // namespace detail

// ANCHOR: task
/// A handle to a running coroutine (asyncio.Task). Cheap to copy; awaitable any number of times.
template <typename T = void>
class task {
public:
    using promise_type = detail::promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;

    task() noexcept = default;   // empty: refers to no task
    task(const task& other) noexcept : frame_(other.frame_) {
        if (frame_) ++state().references;
    }
    task(task&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
    task& operator=(task other) noexcept {
        std::swap(frame_, other.frame_);
        return *this;
    }
    ~task() {
        if (frame_) detail::release_task(state());
    }

    /// False for an empty handle (made by task(), or moved from).
    explicit operator bool() const noexcept { return static_cast<bool>(frame_); }

    /// True once the task finished: returned, threw, or was cancelled.
    bool done() const noexcept { return frame_ && state().finished; }
    /// True if the task finished because it was cancelled.
    bool cancelled() const noexcept { return frame_ && state().cancelled; }

    /// The task's value (T&; nothing for task<void>), or its exception rethrown — cancelled_error
    /// for a cancelled task. Asking before the end is an error (asyncio's InvalidStateError).
    decltype(auto) result() const {
        if (!done()) detail::throw_not_done("task::result");
        state().exception_retrieved = true;
        return frame_.promise().result();
    }

    /// The task's exception, or null if it returned. A cancelled task throws cancelled_error.
    std::exception_ptr exception() const {
        if (!done()) detail::throw_not_done("task::exception");
        if (cancelled()) std::rethrow_exception(frame_.promise().exception_);   // the very one
        state().exception_retrieved = true;
        return frame_.promise().exception_;
    }

    /// Asks the task to stop: the await it is suspended in (or its next one) throws
    /// cancelled_error inside it. False if the task has already finished.
#if AIO_LESSON >= 11
    bool cancel() noexcept {
        if (frame_) state().cancel_message.reset();
        return frame_ && detail::cancel_task(state());
    }
    /// The same, and the cancelled_error the task sees says `message` (its what()).
    bool cancel(std::string message) {
        if (done() || !frame_) return false;
        state().cancel_message = std::make_shared<const std::string>(std::move(message));
        return detail::cancel_task(state());
    }
    /// How many cancel() calls no uncancel() has answered yet (asyncio's Task.cancelling()). A
    /// timeout or a task group that cancelled this task reads it to know whether someone else
    /// asked too.
    std::uint32_t cancelling() const noexcept { return frame_ ? state().cancels_requested : 0; }
    /// Takes back one cancel() (the caller's own) and gives the count left. It does not stop a
    /// cancellation already on its way: it only tells the others it has been dealt with.
    std::uint32_t uncancel() noexcept { return frame_ ? detail::uncancel(state()) : 0; }
#else
    bool cancel() noexcept { return frame_ && detail::cancel_task(state()); }
#endif // lesson 11

#if AIO_LESSON >= 13
    /// Lesson 13: the name given to create_task, or "Task-<n>" (asyncio's Task.get_name()).
    std::string get_name() const { return frame_ ? detail::name_of(state()) : std::string(); }
    void set_name(std::string name) {
        if (frame_) state().name = std::move(name);
    }
    /// The task's await chain as text: its top coroutine first, the innermost one last, then
    /// what that one waits for (asyncio's Task.print_stack(), with definitions for lines).
    std::string stack() const { return frame_ ? detail::stack_of(state()) : std::string(); }
    /// The same, on stderr.
    void print_stack() const;

#endif // lesson 13
    class awaiter;
    /// `co_await t` waits for the task to finish and gives its result (rethrows its exception).
    awaiter operator co_await() const;

private:
    template <typename U>
    friend task<U> create_task(coroutine<U> coro, event_loop& loop);
    template <typename U>
    friend detail::task_state& detail::state_of(const task<U>& t) noexcept;

    detail::task_state& state() const noexcept { return frame_.promise().own_task_; }

    // Takes over the coroutine's frame and schedules its first step.
    static task start(coroutine<T> coro, event_loop& loop) {
        if (!coro.handle_) throw std::invalid_argument("create_task: empty coroutine (moved from?)");
        if (coro.handle_.done() || coro.handle_.promise().state_ != detail::await_state::not_awaited)
            throw std::invalid_argument("create_task: the coroutine has already run");
        promise_type& p = coro.handle_.promise();
        detail::start_task(p.own_task_, p, coro.handle_, loop);   // if it throws, coro keeps the frame
        task t;
        t.frame_ = std::exchange(coro.handle_, {});
        ++p.own_task_.references;   // this handle's
        return t;
    }

    handle_type frame_;
};
// ANCHOR_END: task

namespace detail {
template <typename T>
task_state& state_of(const task<T>& t) noexcept {
    return t.state();
}
} // namespace detail

// ANCHOR: create_task
/// Schedules `coro` to run as a task on `loop` (asyncio's loop.create_task): its first step is
/// the loop's next one. The loop need not be running yet.
template <typename T>
task<T> create_task(coroutine<T> coro, event_loop& loop) {
    return task<T>::start(std::move(coro), loop);
}

/// Schedules `coro` to run as a task on the running loop (asyncio.create_task). It starts
/// after the current coroutine yields.
template <typename T>
task<T> create_task(coroutine<T> coro) {
    return create_task(std::move(coro), get_running_loop());
}
#if AIO_LESSON >= 13
/// Lesson 13: the same, with a name for traces and task dumps (asyncio's create_task(coro, name=)).
template <typename T>
task<T> create_task(coroutine<T> coro, std::string name) {
    task<T> t = create_task(std::move(coro));
    t.set_name(std::move(name));
    return t;
}
#endif // lesson 13
// ANCHOR_END: create_task

// ANCHOR: task_awaiter
template <typename T>
class task<T>::awaiter : public detail::task_waiter, public detail::cancellable_await {
public:
    explicit awaiter(const task& t) : awaited_(t) {
        if (!t.frame_) throw std::invalid_argument("co_await: empty task");
    }

    bool await_ready() const noexcept { return awaited_.done(); }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        detail::task_state* own = detail::task_of(awaiting);
        // It would wait for its own end, which can never come: a silent deadlock. asyncio
        // raises RuntimeError("Task cannot await on itself").
        if (own == &awaited_.state()) throw std::logic_error("co_await: a task cannot await itself");
        if (!begin_wait(own)) return false;
        awaiting_ = awaiting;
        wait_for(awaited_.state());
        return true;
    }

    T await_resume() {
        end_wait();
        awaited_.state().exception_retrieved = true;
        if constexpr (std::is_void_v<T>)
            awaited_.frame_.promise().result();
        else if constexpr (std::is_copy_constructible_v<T>)
            return awaited_.frame_.promise().result();   // others may await it too: a copy
        else
            return std::move(awaited_.frame_.promise().result());   // move-only: await it once
    }

private:
    // The task finished: resume the awaiting coroutine in the next step.
    void on_task_done() noexcept override {
#if AIO_EXERCISE == 4
        // lesson 04, hole on_task_done: the awaited task finished: resume the awaiting
        // coroutine in the next loop step (resume_soon on the task's loop).
#else
        resume_soon(*awaited_.state().loop, awaiting_);
#endif
    }

    // Our own task is cancelled while it waits: cancel the awaited task too (as asyncio does)
    // and keep waiting for it; we then receive its outcome — normally its cancelled_error.
    void cancel() noexcept override {
#if AIO_LESSON >= 11
        awaited_.state().cancel_message = waiting_task_->cancel_message;   // cancel(message) too
#endif // lesson 11
        if (detail::cancel_inner_task(awaited_.state())) {
            waiting_task_->cancel_requested = false;   // passed on to the awaited task
#if AIO_LESSON >= 11
            waiting_task_->cancel_message.reset();     // ... with its message
#endif // lesson 11
            waiting_task_->suspended_in = this;        // and still cancellable through us
        }
        // Otherwise it has already finished and our wake-up is scheduled: end_wait() throws.
    }

#if AIO_LESSON >= 13
    std::string awaiting() const override { return "task '" + detail::name_of(awaited_.state()) + "'"; }

#endif // lesson 13
    task awaited_;   // a handle of our own keeps the frame (and its result) alive
    std::coroutine_handle<> awaiting_;
};

template <typename T>
typename task<T>::awaiter task<T>::operator co_await() const {
    return awaiter(*this);
}
#if AIO_LESSON >= 13

template <typename T>
void task<T>::print_stack() const {
    std::fputs(stack().c_str(), stderr);
}
#endif // lesson 13
// ANCHOR_END: task_awaiter

} // namespace aio
