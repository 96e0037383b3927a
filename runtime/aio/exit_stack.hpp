// aio/exit_stack.hpp — lesson 07: aio::exit_stack, Python's contextlib.AsyncExitStack.
//
// When the number of resources is known only at run time — open one connection per server in
// a list — nesting async_with statements does not work. An exit_stack collects cleanups as the
// resources are acquired and runs them all, last in first out, when it is closed:
//
//     aio::exit_stack stack;
//     for (auto& s : servers) conns.push_back(co_await stack.enter_async_context(s));
//     stack.push_async_callback([] { return say_goodbye(); });
//     ...
//     co_await stack.aclose();          // or: co_await aio::async_with(stack, body)
//
// Every cleanup runs, even when one of them throws. Each receives the exception pending at that
// point (the body's, one a cleanup before it threw, or none) and may suppress it, as in Python.
// A cleanup that throws replaces the pending exception, so the *last* one comes out, as in
// Python. Python chains the replaced one to it (`__context__`); C++ cannot attach an exception
// to another after the fact, so aio prints the replaced one on stderr: none vanishes silently.
#pragma once

#include "aio/coroutine.hpp"

#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace aio {

namespace detail {
inline coroutine<bool> run_async_callback(std::function<coroutine<>()> callback) {
    co_await callback();
    co_return false;   // a plain callback never suppresses
}
void report_replaced_exception(const std::exception_ptr& e);   // exit_stack.cpp
} // namespace detail

// ANCHOR: exit_stack
class exit_stack {
public:
    using exit_function = std::function<coroutine<bool>(std::exception_ptr)>;

    exit_stack() = default;
    exit_stack(const exit_stack&) = delete;   // its cleanups refer to managers by address
    exit_stack& operator=(const exit_stack&) = delete;
    ~exit_stack() {
        if (!exits_.empty())
            std::fputs("aio: exit_stack destroyed with cleanups that never ran "
                       "(co_await aclose() first)\n", stderr);
    }

    /// Enters `manager` (co_await its aenter()) and schedules its aexit() for the close.
    /// The manager must outlive the stack's close.
    template <typename Manager>
    auto enter_async_context(Manager& manager) -> decltype(manager.aenter()) {
        return enter(manager);
    }

    /// Schedules `callback()` (which returns coroutine<>) for the close.
    void push_async_callback(std::function<coroutine<>()> callback) {
        if (!callback) throw std::invalid_argument("exit_stack::push_async_callback: empty callback");
        exits_.push_back([callback = std::move(callback)](std::exception_ptr) {
            return detail::run_async_callback(callback);
        });
    }

    /// Runs every cleanup, last in first out; rethrows the exception still pending at the end
    /// (the last one a cleanup threw, unless a later cleanup suppressed it).
    coroutine<> aclose() {
        std::exception_ptr left = co_await unwind(nullptr);
        if (left) std::rethrow_exception(left);
    }

    // An exit_stack is itself an async context manager: async_with(stack, body).
    coroutine<exit_stack*> aenter() { co_return this; }
    coroutine<bool> aexit(std::exception_ptr error) {
        std::exception_ptr left = co_await unwind(error);
        if (left && left != error) std::rethrow_exception(left);
        co_return error && !left;   // every pending exception was suppressed
    }

private:
    template <typename Manager>
    auto enter(Manager& manager) -> decltype(manager.aenter()) {
        using entered = decltype(manager.aenter());
        if constexpr (std::is_same_v<entered, coroutine<>>) {
            co_await manager.aenter();
            exits_.push_back([&manager](std::exception_ptr e) { return manager.aexit(e); });
        } else {
            auto value = co_await manager.aenter();
            exits_.push_back([&manager](std::exception_ptr e) { return manager.aexit(e); });
            co_return value;
        }
    }

    // Runs every cleanup, LIFO, each with the exception pending so far; returns what is left.
    coroutine<std::exception_ptr> unwind(std::exception_ptr pending) {
#if AIO_EXERCISE == 7
        throw not_implemented("lesson 07, hole unwind: pop and run each cleanup (last first) "
                              "with the pending exception; true clears it; a cleanup that throws "
                              "makes its exception the pending one (report the one it replaces)");
        co_return pending;   // (never reached: keeps the stub a coroutine)
#else
        while (!exits_.empty()) {
            exit_function exit = std::move(exits_.back());
            exits_.pop_back();
            std::exception_ptr raised;
            try {
                bool suppress = co_await exit(pending);
                if (suppress) pending = nullptr;
            } catch (...) {
                raised = std::current_exception();
            }
            if (raised && raised != pending) {
                if (pending) detail::report_replaced_exception(pending);   // Python's __context__
                pending = raised;   // the last one wins, as in Python
            }
        }
        co_return pending;
#endif
    }

    std::vector<exit_function> exits_;
};
// ANCHOR_END: exit_stack

} // namespace aio
