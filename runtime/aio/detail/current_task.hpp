// aio/detail/current_task.hpp — lesson 11: which task is running this coroutine?
//
// A timeout or a task group acts on the task it is entered in (asyncio's current_task()). A
// coroutine does not know its task, but every awaiter is handed the awaiting coroutine, whose
// promise does (lesson 04's task_of). So `co_await detail::current_task()` asks, and carries on
// without suspending: await_suspend returns false.
#pragma once

#include "aio/coroutine.hpp"
#include "aio/detail/task_state.hpp"

#include <coroutine>

namespace aio::detail {

class current_task_awaiter {
public:
    current_task_awaiter() noexcept = default;
    bool await_ready() const noexcept { return false; }   // we need the handle: "suspend"...
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> asking) noexcept {
        task_ = task_of(asking);
        return false;                                        // ...and go on at once
    }
    /// The task, or null for a coroutine that does not run in one (driven by hand).
    task_state* await_resume() const noexcept { return task_; }

private:
    task_state* task_ = nullptr;
};

inline current_task_awaiter current_task() noexcept { return current_task_awaiter(); }

} // namespace aio::detail
