// aio/gather.hpp — lesson 04: aio::gather, run awaitables concurrently and collect the results.
//
//     auto [a, b] = co_await aio::gather(fetch(1), fetch(2));        // std::tuple, argument order
//     std::vector<int> all = co_await aio::gather(std::move(coros));  // a vector of coroutines
//
// As asyncio.gather: coroutines are wrapped in tasks at the call, in argument order, so they
// start in that order at the next loop step and run concurrently; the results come back in
// argument order. The first child to fail (in time, not in argument order) makes the gather fail
// with that exception while the other children keep running. With `aio::return_exceptions` as
// first argument nothing fails: the gather waits for every child and gives back the finished
// tasks, to ask each for its result() or exception(). Cancelling the task that awaits a gather
// cancels every child still running.
//
// Differences from asyncio: a void child's result is std::monostate (Python's None); and the
// awaiting coroutine resumes one loop step after the deciding child finished, where asyncio
// takes two (it goes through a done-callback, then a future).
#pragma once

#include "aio/coroutine.hpp"
#include "aio/task.hpp"

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace aio {

struct return_exceptions_t {
    explicit return_exceptions_t() = default;
};
/// Pass as gather's first argument: wait for every child, and give back the finished tasks.
inline constexpr return_exceptions_t return_exceptions{};

namespace detail {

template <typename T>
using value_or_monostate = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <typename A>
struct child_traits {
    static constexpr bool is_child = false;
};
template <typename T>
struct child_traits<coroutine<T>> {
    static constexpr bool is_child = true;
    using value_type = T;
};
template <typename T>
struct child_traits<task<T>> {
    static constexpr bool is_child = true;
    using value_type = T;
};
/// What gather accepts as a child: an aio::coroutine<T> (made a task) or an aio::task<T>.
template <typename A>
concept gather_child = child_traits<A>::is_child;
template <typename A>
using child_value_t = typename child_traits<A>::value_type;

template <typename T>
task<T> as_task(coroutine<T> c) {
    return create_task(std::move(c));
}
template <typename T>
task<T> as_task(task<T> t) {
    return t;
}

// A finished child's value, for the gather's result: copied (the caller may hold the task
// too), or moved if it cannot be copied.
template <typename T>
value_or_monostate<T> take_result(const task<T>& t) {
    if constexpr (std::is_void_v<T>) {
        t.result();
        return std::monostate{};
    } else if constexpr (std::is_copy_constructible_v<T>) {
        return t.result();
    } else {
        return std::move(t.result());
    }
}

// ANCHOR: wait_for_tasks
// Suspends until every task is done or — unless settle_all — until one of them fails.
class wait_for_tasks final : public cancellable_await {
public:
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    wait_for_tasks(std::vector<task_state*> tasks, bool settle_all)
        : tasks_(std::move(tasks)), waiters_(tasks_.size()), unfinished_(tasks_.size()),
          settle_all_(settle_all) {
        for (std::size_t i = 0; i < tasks_.size(); ++i) waiters_[i] = child_waiter(this, i);
    }
    // The waiters point at us: we stay where we are.
    wait_for_tasks(const wait_for_tasks&) = delete;
    wait_for_tasks& operator=(const wait_for_tasks&) = delete;

    bool await_ready() const noexcept { return tasks_.empty(); }

    // One pass over the children (they may be many, and each visit is a cache miss): wait for
    // those still running, count those done. If that decides already, do not suspend at all.
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        if (!begin_wait(task_of(awaiting))) return false;
        awaiting_ = awaiting;
        for (std::size_t i = 0; i < tasks_.size(); ++i) {
            task_state& child = *tasks_[i];
            if (!child.finished) {
                waiters_[i].wait_for(child);
                continue;
            }
            --unfinished_;   // children that failed before we looked: argument order
            if (child.failed) {
                child.exception_retrieved = true;   // the gather reports it, or returns it
                if (first_failure_ == none) first_failure_ = i;
            }
        }
        if (!outcome_known()) return true;
        for (child_waiter& w : waiters_) w.stop_waiting();
        return false;
    }

    void await_resume() {
        for (child_waiter& w : waiters_) w.stop_waiting();
        // Children still running when the gather is over: their exceptions count as seen by
        // the gather (asyncio's gather keeps its callbacks on them for that reason). Now, while
        // the gather still holds their handles: afterwards their frames may be gone.
        if (unfinished_ > 0)
            for (task_state* t : tasks_)
                if (!t->finished) t->exception_retrieved = true;
        end_wait();
    }

    /// The child that failed first (in time), or `none`.
    std::size_t first_failure() const noexcept { return first_failure_; }
    /// The gather was cancelled while it waited (and passed the cancellation to its children).
    bool cancelled() const noexcept { return cancelled_; }

private:
    class child_waiter final : public task_waiter {
    public:
        child_waiter() = default;
        child_waiter(wait_for_tasks* owner, std::size_t index) : owner_(owner), index_(index) {}
        void on_task_done() noexcept override { owner_->child_done(index_); }

    private:
        wait_for_tasks* owner_ = nullptr;
        std::size_t index_ = 0;
    };

    bool outcome_known() const noexcept {
        return unfinished_ == 0 || (!settle_all_ && first_failure_ != none);
    }

    void child_done(std::size_t index) noexcept {
#if AIO_EXERCISE == 4
        // lesson 04, hole child_done: a child finished. If it failed, mark its exception
        // retrieved and remember it as first_failure_ if it is the first; once outcome_known(),
        // resume the gather's coroutine (once: woken_).
        (void)index;
#else
        task_state& child = *tasks_[index];
        --unfinished_;
        if (child.failed) {
            child.exception_retrieved = true;   // the gather reports it, or returns it
            if (first_failure_ == none) first_failure_ = index;
        }
        if (!woken_ && outcome_known()) {
            woken_ = true;
            resume_soon(*child.loop, awaiting_);
        }
#endif
    }

    // Our task is cancelled while it waits: cancel every child still running, and keep
    // waiting. The cancellation is passed on to the children, as asyncio's gather does: the
    // gather then ends the way its children end — cancelled_error if the first one to finish
    // was cancelled (or if they all returned anyway), but the exception of a child that
    // answered its cancellation with another one (asyncio propagates it too).
#if AIO_LESSON >= 13
    std::string awaiting() const override { return "aio::gather"; }   // lesson 13: task dumps, traces
#endif // lesson 13
    void cancel() noexcept override {
        bool passed_on = false;
        for (task_state* t : tasks_) {
#if AIO_LESSON >= 11
            if (!t->finished) t->cancel_message = waiting_task_->cancel_message;   // its message too
#endif // lesson 11
            passed_on |= cancel_inner_task(*t);
        }
        if (!passed_on) return;   // all finished already: our wake-up is on its way, and throws
        cancelled_ = true;
        waiting_task_->cancel_requested = false;   // passed on to the children
#if AIO_LESSON >= 11
        waiting_task_->cancel_message.reset();     // (each has its copy of the message)
#endif // lesson 11
        waiting_task_->suspended_in = this;        // a second cancel() comes here again
    }

    std::vector<task_state*> tasks_;
    std::vector<child_waiter> waiters_;
    std::coroutine_handle<> awaiting_;
    std::size_t unfinished_;   // children not finished yet
    std::size_t first_failure_ = none;
    bool settle_all_;
    bool woken_ = false;
    bool cancelled_ = false;
};
// ANCHOR_END: wait_for_tasks

template <typename... T>
std::vector<task_state*> states_of(const std::tuple<task<T>...>& tasks) {
    return std::apply([](const auto&... t) { return std::vector<task_state*>{&state_of(t)...}; },
                      tasks);
}

template <typename T>
std::vector<task_state*> states_of(const std::vector<task<T>>& tasks) {
    std::vector<task_state*> states;
    states.reserve(tasks.size());
    for (const task<T>& t : tasks) states.push_back(&state_of(t));
    return states;
}

// The gather's own coroutine: the children are already tasks, running.
template <typename Tasks>
coroutine<Tasks> wait_for_all(Tasks tasks) {
    wait_for_tasks wait(states_of(tasks), true);
    co_await wait;
    if (wait.cancelled()) throw cancelled_error();   // even if every child returned (asyncio)
    co_return tasks;
}

template <typename... T>
coroutine<std::tuple<value_or_monostate<T>...>> gather_tuple(std::tuple<task<T>...> tasks) {
    std::vector<task_state*> states = states_of(tasks);
    wait_for_tasks wait(states, false);
    co_await wait;
    if (wait.first_failure() != wait_for_tasks::none)
        std::rethrow_exception(exception_of(*states[wait.first_failure()]));
    if (wait.cancelled()) throw cancelled_error();   // the children swallowed it and returned
    co_return std::apply(
        [](const auto&... t) { return std::tuple<value_or_monostate<T>...>{take_result(t)...}; },
        tasks);
}

template <typename T>
coroutine<std::vector<value_or_monostate<T>>> gather_vector(std::vector<task<T>> tasks) {
    std::vector<task_state*> states = states_of(tasks);
    wait_for_tasks wait(states, false);
    co_await wait;
    if (wait.first_failure() != wait_for_tasks::none)
        std::rethrow_exception(exception_of(*states[wait.first_failure()]));
    if (wait.cancelled()) throw cancelled_error();   // the children swallowed it and returned
    std::vector<value_or_monostate<T>> results;
    results.reserve(tasks.size());
    for (task<T>& t : tasks) {
        results.push_back(take_result(t));
        t = task<T>{};   // let go of the frame while it is still in the cache
    }
    co_return results;
}

template <typename T>
std::vector<task<T>> as_tasks(std::vector<coroutine<T>> coros) {
    std::vector<task<T>> tasks;
    tasks.reserve(coros.size());
    for (coroutine<T>& c : coros) tasks.push_back(create_task(std::move(c)));   // in order
    return tasks;
}

} // namespace detail

// ANCHOR: gather
/// Runs the children concurrently; their results as a tuple, in argument order.
template <detail::gather_child... A>
coroutine<std::tuple<detail::value_or_monostate<detail::child_value_t<A>>...>> gather(A... children) {
    // A braced list is evaluated left to right: the tasks are created in argument order.
    std::tuple<task<detail::child_value_t<A>>...> tasks{detail::as_task(std::move(children))...};
    return detail::gather_tuple(std::move(tasks));
}

/// Waits for every child, failed or not, and gives back the finished tasks.
template <detail::gather_child... A>
coroutine<std::tuple<task<detail::child_value_t<A>>...>> gather(return_exceptions_t, A... children) {
    std::tuple<task<detail::child_value_t<A>>...> tasks{detail::as_task(std::move(children))...};
    return detail::wait_for_all(std::move(tasks));
}

/// A vector of tasks or coroutines: a vector of results, in order.
template <typename T>
coroutine<std::vector<detail::value_or_monostate<T>>> gather(std::vector<task<T>> tasks) {
    return detail::gather_vector(std::move(tasks));
}
template <typename T>
coroutine<std::vector<detail::value_or_monostate<T>>> gather(std::vector<coroutine<T>> coros) {
    return detail::gather_vector(detail::as_tasks(std::move(coros)));
}
template <typename T>
coroutine<std::vector<task<T>>> gather(return_exceptions_t, std::vector<task<T>> tasks) {
    return detail::wait_for_all(std::move(tasks));
}
template <typename T>
coroutine<std::vector<task<T>>> gather(return_exceptions_t, std::vector<coroutine<T>> coros) {
    return detail::wait_for_all(detail::as_tasks(std::move(coros)));
}
// ANCHOR_END: gather

} // namespace aio
