// aio/async_context_manager.hpp — lesson 07: Python's @asynccontextmanager.
//
// Writing a class with aenter() and aexit() for every resource is tedious. A coroutine that
// acquires, co_yields the resource once, and releases says the same in one place:
//
//     aio::async_context_manager<connection> open_connection_to(std::string host) {
//         connection c = co_await connect(host);
//         try {
//             co_yield c;                       // the body of the async_with runs here
//         } catch (...) {
//             log("the body failed");           // sees the body's exception...
//             throw;                            // ...and lets it through (or not: suppressed)
//         }
//         co_await c.close();                   // awaited cleanup, on the normal path
//     }
//
// It is lesson 06's async generator underneath: aenter() is next(); aexit() resumes the
// generator after its co_yield — normally (next() must find the end), or, when the body threw,
// by throwing that exception at the co_yield (athrow), so the generator's try/catch sees it.
// If the generator swallows it, the exception is suppressed; if it rethrows it, it goes on.
#pragma once

#include "aio/async_generator.hpp"
#include "aio/coroutine.hpp"

#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

namespace aio {

// ANCHOR: async_context_manager
template <typename T>
class async_context_manager {
public:
    using promise_type = detail::generator_promise<T>;   // written as a generator

    async_context_manager(async_generator<T> generator) : generator_(std::move(generator)) {}

    /// Runs the generator to its co_yield and gives the yielded resource.
    coroutine<T> aenter() {
        std::optional<T> resource = co_await generator_.next();
        if (!resource) throw std::runtime_error("async_context_manager: the generator did not yield");
        co_return std::move(*resource);
    }

    /// Resumes the generator after its co_yield: normally, or by throwing `error` there.
    coroutine<bool> aexit(std::exception_ptr error) {
#if AIO_EXERCISE == 7
        (void)error;
        throw not_implemented("lesson 07, hole aexit: without an error, next() must find the "
                              "end; with one, athrow(error): swallowed -> true, the same error "
                              "back -> false, another exception -> it propagates");
        co_return false;   // (never reached: keeps the stub a coroutine)
#else
        if (!error) {
            std::optional<T> more = co_await generator_.next();
            if (more) throw std::runtime_error("async_context_manager: the generator yielded twice");
            co_return false;
        }
        std::exception_ptr raised;
        bool yielded_again = false;
        try {
            std::optional<T> more = co_await generator_.athrow(error);
            yielded_again = more.has_value();
        } catch (...) {
            raised = std::current_exception();
        }
        if (raised == error) co_return false;   // let through: the caller rethrows it
        if (raised) std::rethrow_exception(raised);
        if (yielded_again)
            throw std::runtime_error("async_context_manager: the generator yielded again "
                                     "after the body's exception");
        co_return true;   // the generator swallowed the exception: suppressed
#endif
    }

private:
    async_generator<T> generator_;
};
// ANCHOR_END: async_context_manager

} // namespace aio
