// aio/shield.hpp — lesson 11: aio::shield, asyncio.shield().
//
//     auto saving = aio::create_task(save(document));
//     co_await aio::shield(saving);   // if we are cancelled here, the saving goes on
//
// Awaiting a task passes a cancellation on to it (lesson 04): cancel the awaiter and the awaited
// task is cancelled too. Usually that is what you want. Sometimes the work must finish whoever
// stops waiting for it: a write that must not be torn, a commit. shield() awaits a task
// without passing the cancellation on.
//
// Semantics (asyncio's):
//  * The awaiting task, when cancelled, still gets its cancelled_error at once: the shield
//    protects the work, not the waiter. The work runs on, and its result stays reachable
//    through its task handle (keep one: `saving` above).
//  * A cancellation of the work itself (its own cancel(), or a timeout inside it) still reaches
//    the shield's awaiter as that task's cancelled_error.
//  * shield(coroutine) makes the coroutine a task first; its result is lost if the awaiter is
//    cancelled, but it runs to the end.
#pragma once

#include "aio/coroutine.hpp"
#include "aio/event_loop.hpp"
#include "aio/not_implemented.hpp"
#include "aio/task.hpp"

#include <coroutine>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace aio {

namespace detail {
// ANCHOR: shield_awaiter
// task<T>::awaiter's twin, except for what a cancellation does.
template <typename T>
class shield_awaiter final : public task_waiter, public cancellable_await {
public:
    explicit shield_awaiter(task<T> inner) : inner_(std::move(inner)) {
        if (!inner_) throw std::invalid_argument("aio::shield: empty task");
    }

    bool await_ready() const noexcept { return inner_.done(); }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        task_state* own = task_of(awaiting);
        if (own == &state_of(inner_)) throw std::logic_error("aio::shield: a task cannot await itself");
        if (!begin_wait(own)) return false;
        awaiting_ = awaiting;
        wait_for(state_of(inner_));
        return true;
    }

    T await_resume() {
        end_wait();   // our own cancellation first: the work's result stays in its task
        if constexpr (std::is_void_v<T>)
            inner_.result();
        else
            return inner_.result();
    }

private:
    void on_task_done() noexcept override { resume_soon(*state_of(inner_).loop, awaiting_); }

    // Our task is cancelled: stop waiting and let it go on with its cancelled_error; the work
    // is not touched.
    void cancel() noexcept override {
#if AIO_EXERCISE == 11
        // lesson 11, hole shield_cancel: the awaiting task must get its cancellation now; the
        // task it waits for must not hear of it, and must not resume us later.
#else
        stop_waiting();
        state_of(inner_).loop->call_soon(awaiting_);
#endif
    }

    task<T> inner_;   // our own handle keeps the work's frame and result alive
    std::coroutine_handle<> awaiting_;
};
// ANCHOR_END: shield_awaiter
} // namespace detail

/// Awaits `work` without passing a cancellation of the awaiter on to it.
template <typename T>
detail::shield_awaiter<T> shield(task<T> work) {
    return detail::shield_awaiter<T>(std::move(work));
}

/// The same for a coroutine, which becomes a task of its own on the running loop.
template <typename T>
detail::shield_awaiter<T> shield(coroutine<T> work) {
    return detail::shield_awaiter<T>(create_task(std::move(work)));
}

} // namespace aio
