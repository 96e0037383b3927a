// aio/wait_for.hpp — lesson 11: aio::wait_for, asyncio.wait_for().
//
//     std::string page = co_await aio::wait_for(fetch(url), 5s);   // or timeout_error
//
// One await with a time limit. Since Python 3.12 asyncio writes it as a timeout block around
// that one await, and so does aio: one mechanism, one set of rules (aio/timeout.hpp). What
// follows from it, each pinned by a test:
//  * when the limit passes, the work is cancelled and has *finished* its cleanup (its catch
//    blocks, its async_withs) before timeout_error reaches the caller — it ran inside the block;
//  * work that swallows its cancellation and returns a value anyway: that value is returned;
//  * a cancel() of the caller during the wait is a cancellation, not a timeout.
//
// The work is a coroutine<T> (it runs in the caller's task) or a task<T> (cancelling the
// caller's await cancels the task too: lesson 04). A limit of zero or less is asyncio's special
// case: the work is cancelled before it can start, and awaited; timeout_error, unless it
// returned a value all the same.
#pragma once

#include "aio/coroutine.hpp"
#include "aio/detail/current_task.hpp"
#include "aio/event_loop.hpp"
#include "aio/not_implemented.hpp"
#include "aio/shield.hpp"
#include "aio/task.hpp"
#include "aio/timeout.hpp"

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace aio {

namespace detail {
// The limit was zero or less: `work` (a task that has not run yet, or has finished) is
// cancelled, and awaited so that it has finished before we answer. Awaited through a shield, as
// asyncio's _cancel_and_wait awaits a future of its own: if *we* are cancelled meanwhile, we
// leave at once and the work finishes its cleanup undisturbed.
template <typename T>
coroutine<T> expire_at_once(task<T> work) {
    task_state* running = co_await current_task();
    const std::uint32_t cancelling = running ? running->cancels_requested : 0;
    work.cancel();
    std::exception_ptr error;
    if constexpr (std::is_void_v<T>) {
        try {
            co_await shield(work);
            co_return;   // it finished anyway
        } catch (...) {
            error = std::current_exception();
        }
    } else {
        try {
            T value = co_await shield(work);
            co_return value;
        } catch (...) {
            error = std::current_exception();
        }
    }
    // Its cancellation is our timeout; a cancellation of our own task is not.
    if (is_cancellation(error) && (!running || running->cancels_requested == cancelling))
        throw timeout_error();
    std::rethrow_exception(error);
}

// ANCHOR: await_within
// A coroutine with a limit of zero or less: made a task (and at once cancelled) only when the
// wait_for is awaited, not when it is called, as asyncio's.
template <typename T>
coroutine<T> expire_unstarted(coroutine<T> work) {
    task<T> never_runs = create_task(std::move(work));
    if constexpr (std::is_void_v<T>) {
        co_await expire_at_once(std::move(never_runs));
    } else {
        T value = co_await expire_at_once(std::move(never_runs));
        co_return value;
    }
}

// The await, inside a timeout block. (wait_for's two overloads differ only in the awaitable.)
template <typename T, typename Awaitable>
coroutine<T> await_within(Awaitable work, duration limit) {
#if AIO_EXERCISE == 11
    (void)limit;
    throw not_implemented("lesson 11, hole await_within: await the work inside a timeout of "
                          "`limit`, as async_with would run a block in it, and answer with what "
                          "the block gave, or what the timeout made of it");
    co_await std::move(work);   // (never reached: keeps the stub a coroutine)
#else
    timeout deadline(limit);
    task_state* running = co_await current_task();
    deadline.enter(running);
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(work);
            result.emplace(true);
        } else {
            T value = co_await std::move(work);
            result.emplace(std::move(value));
        }
    } catch (...) {
        error = std::current_exception();
    }
    deadline.exit(error);   // throws timeout_error if the deadline cancelled the work
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) co_return std::move(*result);
#endif
}
// ANCHOR_END: await_within
} // namespace detail

// ANCHOR: wait_for
/// Awaits `work` for at most `limit`: its result, or timeout_error once the work, cancelled at
/// the limit, has finished.
template <typename T>
coroutine<T> wait_for(coroutine<T> work, duration limit) {
    if (limit <= duration::zero()) return detail::expire_unstarted(std::move(work));
    return detail::await_within<T>(std::move(work), limit);
}

/// The same for a task: at the limit the task is cancelled, and awaited until it has finished.
template <typename T>
coroutine<T> wait_for(task<T> work, duration limit) {
    if (limit <= duration::zero()) return detail::expire_at_once(std::move(work));
    return detail::await_within<T>(std::move(work), limit);
}
// ANCHOR_END: wait_for

} // namespace aio
