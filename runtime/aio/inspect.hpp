// aio/inspect.hpp — lesson 13: what are my tasks doing? all_tasks, await chains, task dumps.
//
// When a program hangs, the first question is "which tasks are there, and what is each one
// waiting for?". asyncio answers with all_tasks() and Task.print_stack(); Go and the JVM print
// every goroutine or thread on SIGQUIT. aio does both:
//
//      aio::all_tasks()        the running loop's unfinished tasks, oldest first
//      t.print_stack()         one task's await chain: top coroutine first, innermost last,
//                              then what the innermost one waits for
//      aio::dump_tasks()       every unfinished task of this thread, with its chain
//      kill -QUIT <pid>        the same, from outside, at the loop's next step (Ctrl-\)
//
// Design principles:
//  * Nothing is recorded for it: the chain is already there. Each coroutine awaiting another
//    one points at it while both are suspended (coroutine.hpp's awaited_child_), the task knows
//    the await it is suspended in (task_state::suspended_in), and every promise knows where its
//    function is defined (coroutine_site, taken by the compiler when the frame is made).
//  * A dump never runs inside a signal handler: the handler sets a flag and the loop prints at
//    its next step. A loop stuck inside one callback (an endless loop, a blocking call) cannot
//    dump; debug mode's slow-callback report (aio/debug.hpp) is the tool for that one.
//
// Simplified: one name per coroutine function (its definition, not the line it is suspended
// at: C++ has no portable way to read that out of a frame); g++ writes template arguments in
// the name ("fetch<int>"), clang++ does not.
#pragma once

#include "aio/event_loop.hpp"
#include "aio/task.hpp"

#include <string>
#include <vector>

namespace aio {

/// A handle to a task whatever its result type (what all_tasks() gives): it keeps the task's
/// frame alive like a task<T>, and answers everything but the result.
class any_task {
public:
    any_task() noexcept = default;
    template <typename T>
    any_task(const task<T>& t) noexcept : any_task(t ? &detail::state_of(t) : nullptr) {}
    any_task(const any_task& other) noexcept : any_task(other.state_) {}
    any_task(any_task&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    any_task& operator=(any_task other) noexcept {
        std::swap(state_, other.state_);
        return *this;
    }
    ~any_task() {
        if (state_) detail::release_task(*state_);
    }

    explicit operator bool() const noexcept { return state_ != nullptr; }
    bool done() const noexcept { return state_ && state_->finished; }
    bool cancelled() const noexcept { return state_ && state_->cancelled; }
    bool cancel() noexcept { return state_ && detail::cancel_task(*state_); }
    std::string get_name() const { return state_ ? detail::name_of(*state_) : std::string(); }
    /// The function of the task's top coroutine ("worker"), as asyncio shows a task's coro.
    std::string coroutine_name() const;
    std::string stack() const { return state_ ? detail::stack_of(*state_) : std::string(); }
    void print_stack() const;

    /// The same task?
    friend bool operator==(const any_task& a, const any_task& b) noexcept { return a.state_ == b.state_; }

private:
    explicit any_task(detail::task_state* state) noexcept : state_(state) {
        if (state_) ++state_->references;
    }
    friend std::vector<any_task> all_tasks(const event_loop& loop);
    detail::task_state* state_ = nullptr;
};

/// The unfinished tasks of the running loop, in the order they were created (asyncio.all_tasks).
std::vector<any_task> all_tasks();
/// The same, of `loop`.
std::vector<any_task> all_tasks(const event_loop& loop);

/// Every unfinished task of this thread with its await chain, on stderr: the first thing to
/// look at when a program hangs. Returns how many tasks it printed.
std::size_t dump_tasks();

namespace detail {
// What an await waits for, in words: its awaiting(), or its type.
std::string describe(const cancellable& await);
// The SIGQUIT handler (installed once, by the first event loop, unless SIGQUIT already had a
// handler) only asks; the loop dumps at its next step. True once per request.
bool dump_requested() noexcept;
void install_dump_on_sigquit() noexcept;
} // namespace detail

} // namespace aio
