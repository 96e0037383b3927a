// aio/task_group.hpp — lesson 11: aio::task_group, asyncio.TaskGroup (structured concurrency).
//
//     aio::task_group group;
//     co_await aio::async_with(group, [&]() -> aio::coroutine<> {
//         auto a = group.create_task(fetch("a"));
//         auto b = group.create_task(fetch("b"));
//     });   // here every task of the group has finished, or this threw
//
// gather() waits for tasks you hand it; a task group owns the tasks made in it: no task
// outlives the block that made it, and no failure goes unseen. If one task fails, the others
// (and the block itself) are cancelled, the group waits for all of them, and throws an
// exception_group holding every failure.
//
// Design principles (CPython 3.12's Lib/asyncio/taskgroups.py, with 3.13's order of the last
// steps of aexit):
//  * Three functions carry the behaviour. abort() cancels every child still running.
//    child_done(), each child's completion, records a failure and, on the first one, aborts
//    and cancels the task the group was entered in — once, remembering it did. aexit() waits
//    for the children and decides.
//  * aexit() decides in a fixed order: wait until no child runs (a cancellation of our task
//    meanwhile aborts the children and is kept); take back our own cancel() of our task
//    (uncancel()); a cancellation from outside goes on only if no child failed; else the
//    failures, the block's own last, go out as one exception_group.
//  * The group cancels its task through the task's cancel count, as a timeout does, so that a
//    timeout around the group, or a cancel() from outside, is still recognised as such.
//
// Simplified: no eager start (a child's first step is always the loop's next one); the
// children are kept in a std::list, one allocation each, where asyncio keeps a set.
#pragma once

#include "aio/cancelled_error.hpp"
#include "aio/coroutine.hpp"
#include "aio/detail/current_task.hpp"
#include "aio/detail/task_state.hpp"
#include "aio/detail/waiter_list.hpp"
#include "aio/not_implemented.hpp"
#include "aio/task.hpp"

#include <exception>
#include <iterator>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace aio {

/// What a task group throws when tasks in it failed (asyncio's ExceptionGroup): every failure,
/// in the order they happened, the block's own exception last.
class exception_group : public std::exception {
public:
    explicit exception_group(std::vector<std::exception_ptr> errors)
        : shared_(std::make_shared<const data>(std::move(errors))) {}

    const std::vector<std::exception_ptr>& exceptions() const noexcept { return shared_->errors; }
    /// "unhandled errors in a task_group (2 sub-exceptions)", as Python words it.
    const char* what() const noexcept override { return shared_->message.c_str(); }

private:
    struct data {
        explicit data(std::vector<std::exception_ptr> e)
            : errors(std::move(e)),
              message("unhandled errors in a task_group (" + std::to_string(errors.size()) +
                      (errors.size() == 1 ? " sub-exception)" : " sub-exceptions)")) {}
        std::vector<std::exception_ptr> errors;
        std::string message;
    };
    std::shared_ptr<const data> shared_;   // shared: copying an exception never throws
};

// ANCHOR: task_group
class task_group {
public:
    task_group() = default;
    task_group(const task_group&) = delete;   // its children point at it
    task_group& operator=(const task_group&) = delete;

    /// Starts `coro` as a task of the group (on the loop's next step) and gives its handle.
    /// Before the group is entered, after it finished, or while it aborts: std::logic_error.
    template <typename T>
    task<T> create_task(coroutine<T> coro);

    // The async context manager: async_with(group, body).
    coroutine<> aenter();
    coroutine<bool> aexit(std::exception_ptr error);

private:
    // Watches one child: its on_task_done() is the child's completion.
    class child final : public detail::task_waiter {
    public:
        explicit child(task_group& group) noexcept : group_(group) {}
        void on_task_done() noexcept override { group_.child_done(*this); }

        task_group& group_;
        detail::task_state* task_ = nullptr;
        std::list<child>::iterator self_;
    };

    void abort() noexcept;
    void child_done(child& done) noexcept;

    std::list<child> children_;           // the children still running
    std::vector<std::exception_ptr> errors_;
    detail::task_state* parent_ = nullptr;   // the task the group was entered in
    detail::waiter_list exiting_parent_{"aio::task_group"};   // aexit(), waiting for children
    bool entered_ = false;
    bool exiting_ = false;
    bool aborting_ = false;
    bool parent_cancel_requested_ = false;   // we cancel()ed parent_: aexit must uncancel()
};
// ANCHOR_END: task_group

template <typename T>
task<T> task_group::create_task(coroutine<T> coro) {
    if (!entered_)
        throw std::logic_error("aio::task_group::create_task: the group has not been entered "
                               "(use async_with)");
    if (exiting_ && children_.empty())
        throw std::logic_error("aio::task_group::create_task: the group has finished");
    if (aborting_)
        throw std::logic_error("aio::task_group::create_task: the group is shutting down");
    child& watcher = children_.emplace_back(*this);   // first: nothing can fail after the start
    watcher.self_ = std::prev(children_.end());
    task<T> started;
    try {
        started = aio::create_task(std::move(coro), *parent_->loop);
    } catch (...) {
        children_.erase(watcher.self_);
        throw;
    }
    watcher.task_ = &detail::state_of(started);
    watcher.wait_for(*watcher.task_);
    return started;
}

// ANCHOR: task_group_abort
inline void task_group::abort() noexcept {
    aborting_ = true;
    for (child& c : children_) detail::cancel_inner_task(*c.task_);   // never resumes anyone inline
}
// ANCHOR_END: task_group_abort

// ANCHOR: child_done
inline void task_group::child_done(child& done) noexcept {
    detail::task_state& finished = *done.task_;
    children_.erase(done.self_);   // `done` is gone from here on
    if (children_.empty())
        if (detail::waiter* w = exiting_parent_.front()) w->wake();
#if AIO_EXERCISE == 11
    // lesson 11, hole child_done: a child that failed (not one that was cancelled) is a failure
    // of the group: keep its exception (it counts as retrieved) and, the first time, stop
    // everything else — the other children, and the block the task group was entered in.
    (void)finished;
#else
    if (!finished.failed || finished.cancelled) return;
    finished.exception_retrieved = true;
    errors_.push_back(detail::exception_of(finished));
    if (!aborting_ && !parent_cancel_requested_) {
        // Stop the block too: whatever it awaits now is pointless. aexit takes this back.
        abort();
        parent_cancel_requested_ = true;
        detail::cancel_inner_task(*parent_);
    }
#endif
}
// ANCHOR_END: child_done

inline coroutine<> task_group::aenter() {
    if (entered_) throw std::logic_error("aio::task_group: already entered (a group is used once)");
    detail::task_state* running = co_await detail::current_task();
    if (running == nullptr)
        throw std::logic_error("aio::task_group: must be entered inside a task (aio::run or create_task)");
    parent_ = running;
    entered_ = true;
}

// ANCHOR: task_group_exit
inline coroutine<bool> task_group::aexit(std::exception_ptr error) {
    exiting_ = true;
    std::exception_ptr propagate_cancellation = detail::is_cancellation(error) ? error : nullptr;
    if (error && !aborting_) abort();   // the block failed, or our task is being cancelled
    while (!children_.empty()) {
        detail::waiter all_done(exiting_parent_);
        try {
            co_await all_done;
        } catch (const cancelled_error&) {
            // Our task is cancelled from outside while we wait: stop the children, keep waiting,
            // and let the cancellation out at the end. (Our own cancel() finds aborting_ set.)
            if (!aborting_) {
                propagate_cancellation = std::current_exception();
                abort();
            }
        }
    }
    // All children are done. Our own cancel() of our task is taken back; a cancellation is
    // ours alone if nobody else's is left.
    if (parent_cancel_requested_ && detail::uncancel(*parent_) == 0) propagate_cancellation = nullptr;
    if (propagate_cancellation && errors_.empty()) std::rethrow_exception(propagate_cancellation);
    if (error && !detail::is_cancellation(error)) errors_.push_back(error);
    if (!errors_.empty()) throw exception_group(std::exchange(errors_, {}));
    co_return false;
}
// ANCHOR_END: task_group_exit

} // namespace aio
