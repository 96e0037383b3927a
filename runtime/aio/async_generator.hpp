// aio/async_generator.hpp — lesson 06: async generators, Python's `async def` with `yield`.
//
//     aio::async_generator<int> ticker(int n) {
//         for (int i = 0; i < n; ++i) {
//             co_await aio::sleep(1s);   // a generator can await...
//             co_yield i;                // ...and yield
//         }
//     }
//     auto gen = ticker(3);
//     while (auto tick = co_await gen.next()) use(*tick);   // Python's `async for`
//
// Design principles:
//  * Lazy, like every aio coroutine: the body starts at the first next().
//  * The body runs in the consumer's task. next() resumes it right on the consumer's stack, and
//    the body hands control back at its co_yield (or its end) exactly the way a finished child
//    coroutine returns to its awaiter in lesson 03: inline when it did not suspend in between,
//    through its continuation when it did. The stack stays flat; a sleep inside the body is
//    cancellable through the consumer's task.
//  * One consumer at a time: a next() while another next() of the same generator is pending
//    is an error, as in asyncio ("asynchronous generator is already running"). So is moving a
//    generator while a next() is pending. Destroying it then hands its body over to that
//    next(), which gets the value as if nothing happened and frees the body: in Python too a
//    generator lives as long as something is running it.
//  * Cleanup: aclose() throws aio::generator_exit at the co_yield where the body waits, so its
//    destructors and catch blocks run — and, after a catch block, it may even co_await (C++
//    forbids co_await inside the handler itself). Destroying an unfinished generator destroys
//    its frame: the synchronous part of the cleanup (destructors) runs, nothing else can.
#pragma once

#include "aio/coroutine.hpp"

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace aio {

// ANCHOR: generator_exit
/// Thrown at the co_yield of a generator being closed (Python's GeneratorExit). Like
/// cancelled_error it is not a std::exception: a `catch (const std::exception&)` in the body
/// does not stop the closing by accident.
class generator_exit {
public:
    const char* what() const noexcept { return "aio::generator_exit: the generator is closed"; }
};
// ANCHOR_END: generator_exit

template <typename T>
class async_generator;

namespace detail {

// ANCHOR: generator_promise
template <typename T>
class generator_promise : public promise_base {
public:
    async_generator<T> get_return_object() noexcept;
    void return_void() noexcept {}

    // `co_yield value` keeps the value for next() and hands control back to the consumer, the
    // same way a coroutine's end hands control back to its awaiter (lesson 03's final_awaiter).
    class yield_awaiter {
    public:
        explicit yield_awaiter(generator_promise& p) noexcept : promise_(p) {}
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<generator_promise> self) noexcept {
            return final_awaiter{}.await_suspend(self);
        }
        // The consumer asked for the next value — or aclose() wants the body to stop here.
        void await_resume() const {
            if (promise_.throw_at_yield_) std::rethrow_exception(std::exchange(promise_.throw_at_yield_, {}));
        }

    private:
        generator_promise& promise_;
    };

    yield_awaiter yield_value(T value) {
#if AIO_EXERCISE == 6
        (void)value;
        throw not_implemented("lesson 06, hole yield_value: keep the value in current_ and "
                              "return a yield_awaiter, which hands control back to the consumer");
#else
        current_.emplace(std::move(value));
        return yield_awaiter(*this);
#endif
    }

private:
    friend class async_generator<T>;
    std::optional<T> current_;           // the value of the last co_yield
    std::exception_ptr throw_at_yield_;  // set by aclose(): thrown where the body is suspended
    bool started_ = false;
};
// ANCHOR_END: generator_promise

} // namespace detail

// ANCHOR: async_generator
/// A lazy coroutine that co_yields values of type T and may co_await in between. Move-only.
template <typename T>
class [[nodiscard]] async_generator {
    static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                  "aio::async_generator<T>: T must be an object type");

public:
    using promise_type = detail::generator_promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;

    async_generator() noexcept = default;
    // Not while a next() is pending: the consumer's await refers to this object.
    async_generator(async_generator&& other)
        : body_((other.refuse_if_running("move"), std::exchange(other.body_, {}))),
          closed_(std::exchange(other.closed_, false)) {}
    async_generator& operator=(async_generator&& other) {
        if (this != &other) {
            refuse_if_running("move-assign to");
            other.refuse_if_running("move");
            destroy();
            body_ = std::exchange(other.body_, {});
            closed_ = std::exchange(other.closed_, false);
        }
        return *this;
    }
    ~async_generator() { destroy(); }

    class next_awaiter;
    class close_awaiter;

    /// `co_await gen.next()`: the next value, or an empty optional at the end (and ever after).
    /// An exception thrown by the body comes out here, once.
    next_awaiter next() { return next_awaiter(*this, nullptr, false); }

    /// `co_await gen.aclose()`: throws generator_exit at the co_yield where the body waits and
    /// runs it to its end, so its cleanup runs; then next() gives empty optionals.
    next_awaiter aclose() {
        return next_awaiter(*this, std::make_exception_ptr(generator_exit()), true);
    }

    /// `co_await gen.athrow(e)` (Python's athrow): throws `e` at the co_yield where the body
    /// waits; gives the next value it yields, or an empty optional if it ends; an exception the
    /// body lets out (`e` itself, or another) comes out here. Lesson 07 builds
    /// async_context_manager on it.
    next_awaiter athrow(std::exception_ptr e) {
        if (!e) throw std::invalid_argument("async_generator::athrow: null exception");
        return next_awaiter(*this, std::move(e), false);
    }

private:
    friend class detail::generator_promise<T>;
    explicit async_generator(handle_type h) noexcept : body_(h) {}

    // A next() is under way: the body runs (or waits) on its consumer's behalf.
    bool running() const noexcept {
        return body_ && body_.promise().state_ != detail::await_state::not_awaited;
    }
    void refuse_if_running(const char* what) const {
        if (running())
            throw std::logic_error(std::string("async_generator: cannot ") + what + " a generator "
                                   "while a next() of it is pending (it is already running)");
    }

    void destroy() noexcept {
        if (!body_) return;
        if (running() && pending_ != nullptr) {
            // Destroyed under a pending next() (by another task, or by the body itself): the
            // body may already be scheduled to resume, so it must not be freed now. The next()
            // takes it over and frees it once it has yielded or ended.
            std::exchange(pending_, nullptr)->adopt(std::exchange(body_, {}));
            return;
        }
        std::exchange(body_, {}).destroy();
    }

    handle_type body_;
    bool closed_ = false;   // finished or closed: next() gives empty optionals
    next_awaiter* pending_ = nullptr;   // the next() under way, if any
};
// ANCHOR_END: async_generator

// ANCHOR: next_awaiter
template <typename T>
class async_generator<T>::next_awaiter {
public:
    next_awaiter(async_generator& gen, std::exception_ptr throw_in, bool closing)
        : gen_(gen), throw_in_(std::move(throw_in)), closing_(closing) {
        if (!gen.body_ && !gen.closed_)
            throw std::logic_error("async_generator: empty generator (moved from?)");
        if (gen.body_ && gen.body_.promise().state_ != detail::await_state::not_awaited)
            throw std::logic_error("async_generator: already running (another next() or "
                                   "aclose() of this generator is pending)");
    }

    next_awaiter(const next_awaiter&) = delete;   // the generator may point at it
    next_awaiter& operator=(const next_awaiter&) = delete;
    ~next_awaiter() {
        if (adopted_) adopted_.destroy();   // (its consumer was destroyed before it resumed)
        else if (!orphaned_ && gen_.pending_ == this) gen_.pending_ = nullptr;
    }

    // Nothing to run: the generator is over, or an exception is thrown in before it started
    // (its body never runs: closing is then done, and athrow's exception comes straight out).
    bool await_ready() {
        if (gen_.closed_) return true;
        gen_.pending_ = this;   // until await_resume: a generator destroyed meanwhile gives us its body
        if (throw_in_ && !gen_.body_.promise().started_) {
            finish();
            if (!closing_) std::rethrow_exception(throw_in_);
            return true;
        }
        return false;
    }

    // Resume the body on our stack until its next co_yield or its end — lesson 03's protocol:
    // if it gets there without suspending, go on without suspending.
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> consumer) {
        auto& p = gen_.body_.promise();
#if AIO_EXERCISE == 6
        (void)p, (void)consumer;
        throw not_implemented("lesson 06, hole next: lesson 03's await_suspend with the body as the "
                              "child; before it runs, the body also needs its task, started_ and "
                              "throw_in_ (for aclose and athrow)");
#else
        p.task_ = detail::task_of(consumer);
        p.continuation_ = consumer;
        p.state_ = detail::await_state::running_inline;
        p.started_ = true;
        p.throw_at_yield_ = throw_in_;
        p.current_.reset();
        gen_.body_.resume();
        if (p.state_ == detail::await_state::finished_inline) return false;
        p.state_ = detail::await_state::awaiter_suspended;
        return true;
#endif
    }

    std::optional<T> await_resume() {
        if (orphaned_) return outcome_of_adopted();
        if (gen_.pending_ == this) gen_.pending_ = nullptr;
        if (gen_.closed_) return std::nullopt;
        auto& p = gen_.body_.promise();
        p.state_ = detail::await_state::not_awaited;
        if (!gen_.body_.done()) {
            if (!closing_) return std::move(p.current_);
            finish();
            throw std::runtime_error("async_generator::aclose: the generator yielded a value "
                                     "instead of stopping (it caught generator_exit and went on)");
        }
        std::exception_ptr failure = p.exception_;
        finish();
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const generator_exit&) {
                // the body let aclose's exception through: a clean close
            }
        }
        return std::nullopt;
    }

private:
    // The body is over: free its frame now (its result is read), and say so from now on.
    void finish() noexcept {
        gen_.destroy();
        gen_.closed_ = true;
    }

    friend class async_generator;
    void adopt(handle_type body) noexcept {
        adopted_ = body;
        orphaned_ = true;
    }

    // The generator is gone and left its body to us: what it yielded (or how it ended), as
    // await_resume would give it; then the body is freed, for there is nobody to ask again.
    std::optional<T> outcome_of_adopted() {
        handle_type body = std::exchange(adopted_, {});
        const bool yielded = !body.done();
        std::optional<T> value;
        if (yielded && !closing_) value = std::move(body.promise().current_);
        std::exception_ptr failure = yielded ? nullptr : body.promise().exception_;
        body.destroy();
        if (yielded && closing_)
            throw std::runtime_error("async_generator::aclose: the generator yielded a value "
                                     "instead of stopping (it caught generator_exit and went on)");
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const generator_exit&) {
            }
        }
        return value;
    }

    async_generator& gen_;          // (not to be touched once orphaned_: it is gone)
    std::exception_ptr throw_in_;   // aclose's generator_exit, or athrow's exception
    bool closing_;
    bool orphaned_ = false;         // the generator was destroyed while we waited...
    handle_type adopted_;           // ...and left us its body
};
// ANCHOR_END: next_awaiter

namespace detail {
template <typename T>
async_generator<T> generator_promise<T>::get_return_object() noexcept {
    return async_generator<T>(std::coroutine_handle<generator_promise>::from_promise(*this));
}
} // namespace detail

} // namespace aio
