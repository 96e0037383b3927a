// aio/task.cpp — lesson 04: the life of a task (see task.hpp for the design).
#include "aio/task.hpp"
#include "aio/not_implemented.hpp"

#include <cstdio>
#include <string>
#include <typeinfo>
#include <vector>

namespace aio::detail {

namespace {

// Every unfinished task of this thread, in creation order, so that aio::run can cancel the
// ones still running when main returns (asyncio.all_tasks()).
thread_local task_state* first_task = nullptr;
thread_local task_state* last_task = nullptr;
#if AIO_LESSON >= 13
thread_local std::uint64_t tasks_created = 0;   // lesson 13: for the names "Task-<n>"
#endif // lesson 13

// ([[maybe_unused]]: lesson 04's exercise cuts out the code that calls these.)
[[maybe_unused]] void link(task_state& s) noexcept {
    s.prev_task = last_task;
    s.next_task = nullptr;
    (last_task ? last_task->next_task : first_task) = &s;
    last_task = &s;
}

void unlink(task_state& s) noexcept {
    (s.prev_task ? s.prev_task->next_task : first_task) = s.next_task;
    (s.next_task ? s.next_task->prev_task : last_task) = s.prev_task;
    s.prev_task = s.next_task = nullptr;
}

// asyncio logs "Task exception was never retrieved" when a failed task is garbage-collected
// and nobody looked at its exception: a failure that would otherwise vanish without a trace.
void report_unretrieved(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        std::fprintf(stderr, "aio: Task exception was never retrieved: %s: %s\n", typeid(x).name(),
                     x.what());
    } catch (...) {
        std::fprintf(stderr, "aio: Task exception was never retrieved (not a std::exception)\n");
    }
}

// ANCHOR: destroy_frame
// Destroying a frame releases the task handles it holds, which may destroy other frames, which
// release theirs: a chain of a million tasks, each holding the one before it, would be a
// million nested destroy() calls, and the stack would overflow. So a frame to destroy while
// another destruction is under way waits in a list, and the outermost call destroys them one
// after the other (Python's "trashcan" does the same for deeply nested objects). A finished
// task is unlinked from the live tasks, so next_task is free to hold that list.
thread_local task_state* frames_to_destroy = nullptr;
thread_local bool destroying_frames = false;

void destroy_frame(task_state& state) noexcept {
    state.next_task = frames_to_destroy;
    frames_to_destroy = &state;
    if (destroying_frames) return;   // the loop below, further up the stack, will get to it
    destroying_frames = true;
    while (task_state* next = frames_to_destroy) {
        frames_to_destroy = next->next_task;
        next->top.destroy();
    }
    destroying_frames = false;
}
// ANCHOR_END: destroy_frame

// ANCHOR: cancel_queue
// The same danger for cancellation: cancelling a task that awaits a task that awaits a task...
// reaches each inner task from the cancel() of the await above it. Recursing there overflows
// the stack (CPython 3.11 crashes on such a chain of 100,000 tasks). Instead, an inner task to
// cancel joins a queue, and the outermost call works through it. Tasks that one await queues
// (a gather's children) go in front of those queued before, in their order: the same order,
// depth first, in which a recursion would have reached them, so wake-ups happen in asyncio's order.
thread_local task_state* cancel_queue = nullptr;
thread_local task_state** cancel_queue_insert = &cancel_queue;   // where the next one goes
thread_local bool cancelling_queue = false;
// ANCHOR_END: cancel_queue

} // namespace

// ---- waiters -----------------------------------------------------------------------------------

void task_waiter::wait_for(task_state& task) noexcept {
    task_ = &task;
    prev_ = task.last_waiter;
    next_ = nullptr;
    (task.last_waiter ? task.last_waiter->next_ : task.first_waiter) = this;
    task.last_waiter = this;
}

void task_waiter::stop_waiting() noexcept {
    if (task_ == nullptr) return;
    (prev_ ? prev_->next_ : task_->first_waiter) = next_;
    (next_ ? next_->prev_ : task_->last_waiter) = prev_;
    task_ = nullptr;
    prev_ = next_ = nullptr;
}

void task_state::wake_waiters() noexcept {
    while (task_waiter* w = first_waiter) {
        w->stop_waiting();
        w->on_task_done();   // may make new waiters wait: they are woken too
    }
}

// ---- the life of a task ------------------------------------------------------------------------

// ANCHOR: start_task
void start_task(task_state& state, promise_base& top, std::coroutine_handle<> frame,
                event_loop& loop) {
#if AIO_EXERCISE == 4
    (void)state, (void)top, (void)frame, (void)loop;
    throw not_implemented("lesson 04, hole start_task: schedule the task's first step, fill in "
                          "its task_state (with the running task's own reference), make the top "
                          "frame point at it, and link it with the live tasks");
#else
    loop.call_soon(frame);   // first, so that a failure here leaves nothing half-registered
    state.loop = &loop;
    state.top = frame;
    state.owner = &top;
    state.references = 1;   // the running task's own reference, dropped when it finishes
    top.task_ = &state;
    link(state);
#if AIO_LESSON >= 13
    state.id = ++tasks_created;   // lesson 13: "Task-1", "Task-2", ...
    notify_task_created(state);
#endif // lesson 13
#endif
}
// ANCHOR_END: start_task

// ANCHOR: cancel_task
bool cancel_task(task_state& state) noexcept {
#if AIO_EXERCISE == 4
    // lesson 04, hole cancel_task: a finished task cannot be cancelled (false); otherwise set
    // cancel_requested, and if the task is suspended in a cancellable await, take it out of
    // suspended_in and call its cancel(); return true.
    (void)state;
    return false;
#else
    if (state.finished) return false;
    state.cancel_requested = true;
#if AIO_LESSON >= 11
    ++state.cancels_requested;
#endif // lesson 11
    if (cancellable* await = std::exchange(state.suspended_in, nullptr)) await->cancel();
    return true;
#endif
}
// ANCHOR_END: cancel_task

// ANCHOR: cancel_inner_task
bool cancel_inner_task(task_state& inner) noexcept {
    if (inner.finished) return false;
    if (inner.cancel_queued) return true;
    inner.cancel_queued = true;
    inner.next_to_cancel = *cancel_queue_insert;
    *cancel_queue_insert = &inner;
    cancel_queue_insert = &inner.next_to_cancel;
    if (cancelling_queue) return true;   // an outer call is working through the queue
    cancelling_queue = true;
    while (task_state* next = cancel_queue) {
        cancel_queue = next->next_to_cancel;
        cancel_queue_insert = &cancel_queue;   // what this one queues goes first
        next->next_to_cancel = nullptr;
        next->cancel_queued = false;
        cancel_task(*next);
    }
    cancelling_queue = false;
    return true;
}
// ANCHOR_END: cancel_inner_task

// ANCHOR: finish_task
// Called by the final_awaiter of a task's top coroutine: the body has returned or thrown.
void finish_task(promise_base& top) noexcept {
    // Asked to stop while running, then returned without another await to throw at: the task
    // still ends cancelled, its value unused (asyncio's Task does the same).
    if (top.own_task_.cancel_requested && !top.exception_)
        top.exception_ = std::make_exception_ptr(take_cancellation(top.own_task_));
#if AIO_EXERCISE == 4
    // lesson 04, hole finish_task: mark the state finished (and failed / cancelled from the
    // promise's exception), unlink it from the live tasks, wake its waiters, and release the
    // running reference.
    (void)top;
#else
    task_state& state = top.own_task_;
    state.finished = true;
    state.cancel_requested = false;
    state.forget_suspension();
    state.failed = top.exception_ != nullptr;
    state.cancelled = is_cancellation(top.exception_);
    unlink(state);
#if AIO_LESSON >= 13
    notify_task_finished(state);   // lesson 13: before the waiters it wakes
#endif // lesson 13
    state.wake_waiters();
    release_task(state);   // the running reference: the frame may be destroyed right here
#endif
}
// ANCHOR_END: finish_task

// ANCHOR: release_task
void release_task(task_state& state) noexcept {
    if (--state.references > 0 || !state.finished) return;
    const std::exception_ptr& failure = exception_of(state);
    if (failure && !state.exception_retrieved && !state.cancelled) report_unretrieved(failure);
    destroy_frame(state);
}
// ANCHOR_END: release_task

void throw_not_done(const char* what) {
    throw std::logic_error(std::string(what) + ": the task is not done yet");
}

// ---- the end of aio::run -----------------------------------------------------------------------

std::vector<task_state*> unfinished_tasks(const event_loop* loop) {
    std::vector<task_state*> found;
    for (task_state* s = first_task; s != nullptr; s = s->next_task)
        if (loop == nullptr || s->loop == loop) found.push_back(s);
    return found;
}

namespace {
// Counts down the tasks being cancelled, and stops the loop once they have all finished.
class stop_when_all_done final : public task_waiter {
public:
    stop_when_all_done(event_loop& loop, std::size_t& pending) : loop_(loop), pending_(pending) {}
    void on_task_done() noexcept override {
        if (--pending_ == 0) loop_.stop();
    }

private:
    event_loop& loop_;
    std::size_t& pending_;
};
} // namespace

// ANCHOR: cancel_remaining_tasks
void cancel_remaining_tasks(event_loop& loop) {
    std::vector<task_state*> remaining = unfinished_tasks(&loop);
    if (remaining.empty()) return;

    // Cancel them all, then run the loop until they have all finished (or it is idle).
    std::size_t pending = remaining.size();
    std::vector<stop_when_all_done> watchers(remaining.size(), stop_when_all_done(loop, pending));
    for (std::size_t i = 0; i < remaining.size(); ++i) watchers[i].wait_for(*remaining[i]);
    for (task_state* s : remaining) cancel_task(*s);
    loop.run_until_idle();
}

std::size_t abandon_remaining_tasks(event_loop& loop, const char* report) noexcept {
    std::vector<task_state*> remaining = unfinished_tasks(&loop);
    // First take back what they wait for — a timer, an fd — while the loop is still there: a
    // frame that a task handle keeps alive after the loop is gone must never touch it again.
    for (task_state* s : remaining) cancel_task(*s);
    // Then finish them all (so that destroying one frame, which releases the handles it
    // holds, never destroys another one we still have to look at), and drop their running
    // references: frames without handles go at once, the others with their last handle.
    for (task_state* s : remaining) {
        if (report)
            std::fprintf(stderr, "%s; its coroutine is destroyed where it was suspended%s\n", report,
                         s->references > 1 ? ", when the last handle to it goes" : "");
        exception_of(*s) = std::make_exception_ptr(cancelled_error());
        s->finished = s->failed = s->cancelled = true;
        s->cancel_requested = false;
        s->forget_suspension();
        unlink(*s);
#if AIO_LESSON >= 13
        notify_task_finished(*s);
#endif // lesson 13
        while (s->first_waiter) s->first_waiter->stop_waiting();   // nobody is resumed now
    }
    for (task_state* s : remaining) release_task(*s);
    return remaining.size();
}
// ANCHOR_END: cancel_remaining_tasks

} // namespace aio::detail
