// aio/detail/waiter_list.hpp — lesson 10: the wait list every coordination primitive keeps.
//
// asyncio's locks and queues each keep a deque of futures: a task that must wait appends a fresh
// future, awaits it, and takes it out again in a `finally:` block. Whoever wakes it calls
// set_result() on the future; a cancel() of the task cancels the future. aio keeps the same
// picture without allocating anything: the future *is* the awaiter — a `waiter` node living in
// the waiting coroutine's frame — and the deque is an intrusive, doubly linked list of them.
//
// Design principles:
//  * A waiter has the states of the future it stands for: waiting (not done), woken (done, with a
//    result) and cancelled (done, cancelled). Like the future in asyncio's deque, a cancelled one
//    stays in the list until its own coroutine runs again and takes it out (await_resume), and
//    each primitive's wake function skips the nodes that are done, exactly as asyncio's does.
//    Keeping asyncio's picture keeps its observable behaviour, step for step.
//  * A woken waiter stays reachable while its coroutine will look at the primitive again: in the
//    list for lock, semaphore and condition (as in asyncio), in a `woken_` list for the queue
//    (asyncio pops it; we move it out of the way). Only event::set() lets go of the waiters it
//    wakes, since a woken event wait never touches the event again.
//  * Nothing is resumed inline. wake() and cancel() schedule the coroutine's next step on the
//    loop (resume_soon), as a future's callbacks do: the task that releases a lock is never
//    stuck inside release() while the next owner runs, and a chain of waiters cannot recurse.
//  * A waiter leaves no trace: await_resume unlinks it, and so does its destructor (a frame
//    destroyed while it waits). A million cancelled waits leave an empty list.
//  * Destroying a primitive while tasks wait on it is a bug in the program, but not undefined
//    behaviour: every waiter still linked is detached and, if it was still waiting, resumed with
//    std::logic_error naming the primitive. It never touches the destroyed object again. That
//    error wins over a cancellation that came meanwhile (the cancellation's handlers would use
//    the primitive); the cancellation stays requested, so the task's next await throws it.
//
// Simplified: one loop per thread, so no atomics; a waiter belongs to the loop it suspended on.
// wake() and cancel() are noexcept but queue a step on the loop, which allocates: if memory
// runs out there, std::terminate ends the program rather than losing a wake-up silently.
// Differs from asyncio: a task whose cancel() came before it has to wait throws cancelled_error
// from the wait at once (lesson 04's begin_wait); asyncio would still append a future and throw
// one loop step later. Nothing is queued either way.
#pragma once

#include "aio/event_loop.hpp"
#include "aio/task.hpp"

#include <coroutine>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace aio::detail {

class waiter_list;

// ANCHOR: waiter
/// One suspended wait: asyncio's waiter future, as a node of a waiter_list. Awaiting it appends
/// it to its list and suspends until wake() or a cancellation of the task.
class waiter : public cancellable_await {
public:
    explicit waiter(waiter_list& list) noexcept : list_(&list) {}
    waiter(const waiter&) = delete;   // the list points at this very object
    waiter& operator=(const waiter&) = delete;
    ~waiter() { unlink(); }

    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiting);
    /// Takes the node out of its list; throws std::logic_error if the primitive was destroyed
    /// meanwhile, cancelled_error if the task was cancelled (even after a wake-up: asyncio's rule).
    void await_resume();

    /// The future's questions: done() once woken or cancelled; woken() if given a wake-up.
    bool done() const noexcept { return state_ != state::waiting; }
    bool woken() const noexcept { return state_ == state::woken; }
    bool cancelled() const noexcept { return state_ == state::cancelled; }

    /// Gives this waiter the wake-up (a future's set_result): its coroutine runs in a later step.
    void wake() noexcept;

private:
    friend class waiter_list;
    enum class state : unsigned char { idle, waiting, woken, cancelled };

    void cancel() noexcept override;   // the task is cancelled while this waiter waits
    void unlink() noexcept;
#if AIO_LESSON >= 13
    std::string awaiting() const override;   // lesson 13: the primitive's name ("aio::lock")
#endif // lesson 13

    waiter_list* list_;                // null once the primitive is gone
    const char* orphaned_by_ = nullptr;   // ... and then, which primitive it was
    waiter* prev_ = nullptr;
    waiter* next_ = nullptr;
    bool linked_ = false;
    state state_ = state::idle;
    event_loop* loop_ = nullptr;
    std::coroutine_handle<> coroutine_;
};
// ANCHOR_END: waiter

// ANCHOR: waiter_list
/// A FIFO of waiters (asyncio's deque of futures), linked through the waiters themselves.
class waiter_list {
public:
    /// `owner` names the primitive in the error its orphaned waiters get ("aio::lock").
    explicit waiter_list(const char* owner) noexcept : owner_(owner) {}
    waiter_list(const waiter_list&) = delete;
    waiter_list& operator=(const waiter_list&) = delete;
    ~waiter_list();

    bool empty() const noexcept { return first_ == nullptr; }
    std::size_t size() const noexcept { return size_; }
    /// How many waiters are not cancelled: asyncio's `any(not w.cancelled() for w in waiters)`.
    std::size_t live() const noexcept { return live_; }

    waiter* front() const noexcept { return first_; }
    static waiter* next(const waiter& w) noexcept { return w.next_; }
    /// Takes the first waiter out (asyncio's deque.popleft()); null if there is none.
    waiter* pop_front() noexcept;
    /// Moves `w` from this list to the back of `other`, where it waits to run (aio::queue's
    /// woken waiters: out of the way of the next wake-up, still reachable by ~waiter_list).
    void move_to(waiter& w, waiter_list& other) noexcept;

private:
    friend class waiter;
    void push_back(waiter& w) noexcept;
    void remove(waiter& w) noexcept;

    const char* owner_;
    waiter* first_ = nullptr;
    waiter* last_ = nullptr;
    std::size_t size_ = 0;
    std::size_t live_ = 0;
};
// ANCHOR_END: waiter_list

// ANCHOR: waiter_steps
template <typename Promise>
bool waiter::await_suspend(std::coroutine_handle<Promise> waiting) {
    if (!begin_wait(task_of(waiting))) return false;   // cancelled already: throw at once
    loop_ = &get_running_loop();
    coroutine_ = waiting;
    state_ = state::waiting;
    list_->push_back(*this);
    return true;
}

inline void waiter::await_resume() {
    unlink();   // asyncio: `finally: waiters.remove(fut)`
    if (orphaned_by_)
        throw std::logic_error(std::string(orphaned_by_) + " destroyed while a task waited on it");
    end_wait();
}

inline void waiter::wake() noexcept {
    if (state_ != state::waiting) return;   // a future is set only once
    state_ = state::woken;
    resume_soon(*loop_, coroutine_);
}

inline void waiter::cancel() noexcept {
    // Like fut.cancel(): done, cancelled, and still in the list until our coroutine runs.
    state_ = state::cancelled;
    if (list_ && linked_) --list_->live_;
    loop_->call_soon(coroutine_);
}

#if AIO_LESSON >= 13
inline std::string waiter::awaiting() const {
    return list_ ? list_->owner_ : orphaned_by_;
}

#endif // lesson 13
inline void waiter::unlink() noexcept {
    if (linked_ && list_) list_->remove(*this);
}
// ANCHOR_END: waiter_steps

inline void waiter_list::push_back(waiter& w) noexcept {
    w.prev_ = last_;
    w.next_ = nullptr;
    (last_ ? last_->next_ : first_) = &w;
    last_ = &w;
    w.linked_ = true;
    ++size_;
    ++live_;
}

inline void waiter_list::remove(waiter& w) noexcept {
    (w.prev_ ? w.prev_->next_ : first_) = w.next_;
    (w.next_ ? w.next_->prev_ : last_) = w.prev_;
    w.prev_ = w.next_ = nullptr;
    w.linked_ = false;
    --size_;
    if (!w.cancelled()) --live_;
}

inline waiter* waiter_list::pop_front() noexcept {
    waiter* w = first_;
    if (w) remove(*w);
    return w;
}

inline void waiter_list::move_to(waiter& w, waiter_list& other) noexcept {
    remove(w);
    w.list_ = &other;
    other.push_back(w);
}

inline waiter_list::~waiter_list() {
    // The primitive is going while tasks wait on it. Each waiter forgets it; one still waiting
    // is resumed, and its await_resume throws std::logic_error instead of touching us.
    while (waiter* w = pop_front()) {
        w->list_ = nullptr;
        w->orphaned_by_ = owner_;
        if (w->state_ == waiter::state::waiting) {
            w->state_ = waiter::state::woken;
            w->resume_soon(*w->loop_, w->coroutine_);
        }
    }
}

} // namespace aio::detail
