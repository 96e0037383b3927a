// aio/async_with.hpp — lesson 07: `async with`, for resources whose cleanup must await.
//
//     co_await aio::async_with(connection, [](session& s) -> aio::coroutine<> {
//         co_await s.send("hello");
//     });
//
// A C++ destructor cannot co_await, yet closing a network connection, flushing a file or
// committing a transaction takes a round trip. Python's answer is the asynchronous context
// manager: `__aenter__` acquires, `__aexit__` releases, and `async with` makes sure the release
// runs — after the body returns, after it throws (the exception is handed to `__aexit__`, which
// may suppress it), and after the task is cancelled (cancellation is an exception too).
//
// In aio a manager is any object with
//     coroutine<V> aenter();                          // V may be void
//     coroutine<bool> aexit(std::exception_ptr e);    // e: what the body threw, or null;
//                                                     // true suppresses it
// and async_with(cm, body) is the `async with` statement. The manager is taken by reference (it
// may be move-only, and it outlives the statement); the body is a callable taking aenter()'s
// result and returning coroutine<>, kept alive in async_with's frame while it runs — so even a
// capturing lambda is safe here, lifetime-wise. (On g++ 12, name a lambda that captures anything
// with a destructor before the co_await: CODING.md, miscompilation 1.)
#pragma once

#include "aio/coroutine.hpp"

#include <exception>
#include <type_traits>
#include <utility>

namespace aio {

// ANCHOR: async_with
template <typename Manager, typename Body>
coroutine<> async_with(Manager& manager, Body body) {
    using entered = decltype(manager.aenter());
    std::exception_ptr error;
    if constexpr (std::is_same_v<entered, coroutine<>>) {
        co_await manager.aenter();   // if this throws, there is nothing to exit
        try {
            co_await body();
        } catch (...) {
            error = std::current_exception();
        }
    } else {
        auto value = co_await manager.aenter();
        try {
            co_await body(value);
        } catch (...) {
            error = std::current_exception();
        }
    }
#if AIO_EXERCISE == 7
    (void)error;
    throw not_implemented("lesson 07, hole async_with: always co_await manager.aexit(error); "
                          "rethrow the body's exception unless aexit returned true");
#else
    // No co_await is allowed in a catch handler: the exception waits in `error` until here.
    bool suppress = co_await manager.aexit(error);
    if (error && !suppress) std::rethrow_exception(error);
#endif
}
// ANCHOR_END: async_with

} // namespace aio
