// aio/coroutine.hpp — lesson 02: the promise type (lesson 03 teaches it to be awaited).
//
// `aio::coroutine<T>` is what `async def` is in Python: calling a function whose return type
// is `aio::coroutine<T>` creates a suspended frame and runs *nothing*. Someone must drive it:
// by hand with resume() (lesson 02, Python's `coro.send(None)`), or by awaiting it from another
// coroutine (lesson 03), or as a task on the loop (lesson 04).
//
// Design principles:
//  * Lazy. initial_suspend() suspends, so a coroutine never runs behind its creator's back and
//    its arguments are all in the frame before it starts.
//  * One owner. The `aio::coroutine` object owns the frame and destroys it exactly once, in its
//    destructor — whether the body never started, is suspended, or has finished. Move-only.
//  * The result waits in the frame. final_suspend() suspends instead of letting the frame
//    destroy itself, so the owner can read the value (or the exception) after the end.
//  * Flat stack (lesson 03). When a child coroutine finishes without ever suspending — the
//    common case — its awaiter continues without suspending, in a plain loop. g++ 12 does not
//    turn symmetric transfer into a tail call below -O2 (see lesson 03's text), so we never
//    rely on it for the synchronous path.
#pragma once

#include "aio/not_implemented.hpp"
#if AIO_LESSON >= 4
#include "aio/cancelled_error.hpp"
#include "aio/detail/task_state.hpp"
#endif // lesson 04

#if AIO_LESSON >= 9
#include "aio/detail/frame_cache.hpp"
#endif // lesson 09

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace aio {

template <typename T = void>
class coroutine;
#if AIO_LESSON >= 4
template <typename T>
class task;
#endif // lesson 04
#if AIO_LESSON >= 6
template <typename T>
class async_generator;
#endif // lesson 06

namespace detail {

// Frames of aio coroutines alive on this thread. Tests check it goes back to zero: a frame
// that is never destroyed is a leak no exception will ever report.
inline thread_local std::size_t live_frames = 0;

#if AIO_LESSON >= 3
// ANCHOR: await_state
// Where a coroutine stands with respect to the one awaiting it (lesson 03).
enum class await_state : unsigned char {
    not_awaited,        // driven by hand or by the loop: nobody to resume at the end
    running_inline,     // started by an awaiter that is still inside await_suspend()
    finished_inline,    // ... and it finished before that await_suspend() returned
    awaiter_suspended,  // it suspended, so its awaiter suspended too and waits to be resumed
};
// ANCHOR_END: await_state

struct final_awaiter;
#endif // lesson 03
#if AIO_LESSON >= 13
class coroutine_site;
// debug.cpp: in debug mode (AIO_DEBUG=1), says on stderr that a coroutine was never awaited.
void report_never_awaited(const coroutine_site& site) noexcept;
#endif // lesson 13
#if AIO_LESSON >= 4
class promise_base;
struct initial_awaiter;
// The end of a task's top coroutine (lesson 04, task.cpp): wake its waiters, drop its reference.
void finish_task(promise_base& top) noexcept;
void start_task(task_state& state, promise_base& top, std::coroutine_handle<> frame,
                event_loop& loop);
#endif // lesson 04
#if AIO_LESSON >= 13

// Lesson 13: where a coroutine function is defined, for task dumps and traces. A promise's
// constructor takes one, defaulted: the compiler builds the promise inside the coroutine, so
// __builtin_FUNCTION() there names the coroutine itself ("fetch_data"). (std::source_location
// would do the same, but clang 14 cannot compile it with libstdc++ 12.) The type has no public
// constructor, so a coroutine's own parameters can never be taken for it.
class coroutine_site {
public:
    static coroutine_site here(const char* function = __builtin_FUNCTION(),
                               const char* file = __builtin_FILE(),
                               unsigned line = __builtin_LINE()) noexcept {
        return coroutine_site(function, file, line);
    }
    const char* function;
    const char* file;
    unsigned line;

private:
    coroutine_site(const char* fn, const char* f, unsigned l) noexcept : function(fn), file(f), line(l) {}
};
#endif // lesson 13

// ANCHOR: promise_base
// What every promise shares, whatever T is.
class promise_base {
public:
#if AIO_LESSON >= 4
    // Lazy start, and (lesson 04) a task cancelled before its first step never runs its body.
    initial_awaiter initial_suspend() noexcept;
#else
    // Lazy start: creating the coroutine runs none of its body.
    std::suspend_always initial_suspend() noexcept { return {}; }
#endif // lesson 04

#if AIO_LESSON >= 3
    // At the end, hand control back to whoever awaits us (see final_awaiter).
    final_awaiter final_suspend() noexcept;
#else
    // Stop at the end instead of destroying the frame: the result lives in the frame, and the
    // owner reads it before destroying the frame.
    std::suspend_always final_suspend() noexcept { return {}; }
#endif // lesson 03

    // The body threw: keep the exception for whoever asks for the result.
    void unhandled_exception() noexcept {
#if AIO_EXERCISE == 2
        // (A stub may not throw here: this function is noexcept.)
        exception_ = std::make_exception_ptr(not_implemented(
            "lesson 02, hole unhandled_exception: store std::current_exception() in exception_"));
#else
        exception_ = std::current_exception();
#endif
    }

    // Frames are allocated through the promise type's operator new, if it has one: a place
    // to count them.
#if AIO_LESSON >= 9
    // Lesson 09: and to recycle them (detail/frame_cache.hpp).
    static void* operator new(std::size_t size) {
        void* frame = frame_cache::allocate(size);
        ++live_frames;
        return frame;
    }
    static void operator delete(void* frame, std::size_t size) noexcept {
        --live_frames;
        frame_cache::release(frame, size);
    }
#else
    static void* operator new(std::size_t size) {
        void* frame = ::operator new(size);
        ++live_frames;
        return frame;
    }
    static void operator delete(void* frame) noexcept {
        --live_frames;
        ::operator delete(frame);
    }
#endif // lesson 09

protected:
    void rethrow_if_failed() const {
        if (exception_) std::rethrow_exception(exception_);
    }

    std::exception_ptr exception_;

#if AIO_LESSON >= 3
    friend struct final_awaiter;
    template <typename>
    friend class aio::coroutine;

    std::coroutine_handle<> continuation_;   // the coroutine awaiting this one
    await_state state_ = await_state::not_awaited;
#endif // lesson 03
#if AIO_LESSON >= 4
    template <typename>
    friend class aio::task;
    friend struct initial_awaiter;
    friend void finish_task(promise_base&) noexcept;
    friend void start_task(task_state&, promise_base&, std::coroutine_handle<>, event_loop&);
    template <typename P>
    friend task_state* task_of(std::coroutine_handle<P>) noexcept;
    friend std::exception_ptr& exception_of(task_state&) noexcept;

    bool is_task_top() const noexcept { return task_ == &own_task_; }
#if AIO_LESSON >= 6
    template <typename>
    friend class aio::async_generator;   // drives its body like an awaiter (lesson 06)
#endif // lesson 06

    task_state* task_ = nullptr;   // the task this coroutine runs in (null: driven by hand)
    task_state own_task_;          // used when this coroutine is the top of a task
#endif // lesson 04
#if AIO_LESSON >= 13
public:
    // Lesson 13: the coroutine awaited by this one while both are suspended (a task's await
    // chain runs top to bottom through these), and where this one is defined.
    promise_base* awaited_child_ = nullptr;
    coroutine_site site_{coroutine_site::here(nullptr, nullptr, 0)};
    bool body_started_ = false;
#endif // lesson 13
};
// ANCHOR_END: promise_base

// ANCHOR: promise
template <typename T>
class promise : public promise_base {
public:
#if AIO_LESSON >= 13
    promise(coroutine_site site = coroutine_site::here()) noexcept { site_ = site; }
#endif // lesson 13
    coroutine<T> get_return_object() noexcept;

    // `co_return value;` lands here: keep the value in the frame.
    template <typename U>
        requires std::convertible_to<U, T>
    void return_value(U&& value) {
#if AIO_EXERCISE == 2
        (void)value;
        throw not_implemented("lesson 02, hole return_value: store the value in value_ "
                              "(std::optional<T>::emplace)");
#else
        value_.emplace(std::forward<U>(value));
#endif
    }

    // The value, or the exception the body ended with.
    T& result() {
#if AIO_EXERCISE == 2
        throw not_implemented("lesson 02, hole result: rethrow the stored exception if there "
                              "is one, otherwise return the stored value");
#else
        rethrow_if_failed();
        return *value_;
#endif
    }

private:
    std::optional<T> value_;
};

template <>
class promise<void> : public promise_base {
public:
#if AIO_LESSON >= 13
    promise(coroutine_site site = coroutine_site::here()) noexcept { site_ = site; }
#endif // lesson 13
    coroutine<void> get_return_object() noexcept;
    void return_void() noexcept {}

    // Nothing to return: only the exception the body ended with, if it did.
    void result() {
#if AIO_EXERCISE == 2
        throw not_implemented("lesson 02, hole result: rethrow the stored exception if there "
                              "is one (a void coroutine has no value to return)");
#else
        rethrow_if_failed();
#endif
    }
};
// ANCHOR_END: promise

#if AIO_LESSON >= 3
// ANCHOR: final_awaiter
// The last suspension of every aio coroutine decides who runs next.
struct final_awaiter {
    bool await_ready() const noexcept { return false; }

    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> finished) noexcept {
        promise_base& p = finished.promise();
#if AIO_EXERCISE == 3
        // lesson 03, hole final_awaiter: if the awaiter is still in await_suspend, mark the
        // coroutine finished_inline and return std::noop_coroutine(); if the awaiter
        // suspended, return its handle (continuation_) so it resumes.
        (void)p;
        return std::noop_coroutine();
#else
        switch (p.state_) {
        case await_state::running_inline:
            // The awaiter is below us on this very stack, inside await_suspend(): return to
            // it, and it will carry on without suspending.
            p.state_ = await_state::finished_inline;
            return std::noop_coroutine();
        case await_state::awaiter_suspended:
            // We were resumed later (by the loop); the awaiter is suspended. Resume it.
            return p.continuation_;
        default:
#if AIO_LESSON >= 4
            if (p.is_task_top()) finish_task(p);   // may destroy this very frame
#endif // lesson 04
            return std::noop_coroutine();   // nobody awaits us: back to resume()'s caller
        }
#endif
    }

    void await_resume() const noexcept {}
};

inline final_awaiter promise_base::final_suspend() noexcept { return {}; }
// ANCHOR_END: final_awaiter
#endif // lesson 03

#if AIO_LESSON >= 4
// ANCHOR: task_of
// Where a task's exception is kept: in the promise of its top coroutine.
inline std::exception_ptr& exception_of(task_state& task) noexcept { return task.owner->exception_; }

// The task a coroutine runs in, found through the handle an awaiter receives: how an await deep
// inside a chain of coroutines registers with its task (null for other coroutine types, and for
// coroutines driven by hand).
template <typename P>
task_state* task_of(std::coroutine_handle<P> h) noexcept {
    if constexpr (std::is_base_of_v<promise_base, P>)
        return h.promise().task_;
    else
        return nullptr;
}

// A task cancelled before its first step ends at once with cancelled_error: an exception
// thrown by the initial await_resume is handed to unhandled_exception() like one from the body.
struct initial_awaiter {
    promise_base* promise;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const {
#if AIO_LESSON >= 13
        promise->body_started_ = true;   // lesson 13: debug mode's "never awaited" asks
#endif // lesson 13
        if (promise->is_task_top() && promise->own_task_.cancel_requested)
            throw take_cancellation(promise->own_task_);
    }
};

inline initial_awaiter promise_base::initial_suspend() noexcept { return initial_awaiter{this}; }
// ANCHOR_END: task_of
#endif // lesson 04

} // namespace detail

// ANCHOR: coroutine
/// A lazy coroutine returning T: the owner of one coroutine frame.
template <typename T>
class [[nodiscard]] coroutine {
    static_assert(std::is_void_v<T> || (std::is_object_v<T> && !std::is_array_v<T>),
                  "aio::coroutine<T>: T must be void or an object type (not a reference or array)");

public:
    using promise_type = detail::promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;

    coroutine() noexcept = default;   // empty: owns no frame (a moved-from coroutine is empty)
    coroutine(coroutine&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    coroutine& operator=(coroutine&& other) noexcept {
        if (this != &other) {
            destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    ~coroutine() { destroy(); }

    /// Runs the body until its next suspension or its end (Python: `coro.send(None)`).
    void resume() {
        if (!handle_) throw std::logic_error("coroutine::resume: empty coroutine (moved from?)");
        if (handle_.done()) throw std::logic_error("coroutine::resume: the coroutine has finished");
        handle_.resume();
    }

    /// True once the body has run to its end (returned or thrown).
    bool done() const noexcept { return handle_ && handle_.done(); }

    /// The returned value (T&; nothing for coroutine<void>), or the exception the body threw,
    /// rethrown. Asking before the end is an error, as asyncio's InvalidStateError.
    decltype(auto) result() {
        if (!done()) throw std::logic_error("coroutine::result: the coroutine has not finished");
        return handle_.promise().result();
    }

#if AIO_LESSON >= 3
    class awaiter;
    /// `co_await coro` starts the coroutine and suspends the awaiter until it finishes
    /// (lesson 03). The value is moved out to the awaiter; a coroutine is awaited once.
    awaiter operator co_await() & { return awaiter(checked_for_await()); }
    awaiter operator co_await() && { return awaiter(checked_for_await()); }
#endif // lesson 03

private:
    friend class detail::promise<T>;
#if AIO_LESSON >= 4
    friend class task<T>;   // a task takes over the frame
#endif // lesson 04
    explicit coroutine(handle_type h) noexcept : handle_(h) {}

    void destroy() noexcept {
#if AIO_LESSON >= 13
        // Lesson 13: in debug mode, a coroutine made and dropped without ever running is reported
        // (CPython's "coroutine ... was never awaited"): usually a forgotten co_await.
        if (handle_ && !handle_.promise().body_started_) [[unlikely]]
            detail::report_never_awaited(handle_.promise().site_);
#endif // lesson 13
#if AIO_EXERCISE == 2
        // lesson 02, hole destroy: if handle_ is not null, destroy the frame through it and
        // leave handle_ null (a frame is destroyed exactly once).
#else
        if (handle_) std::exchange(handle_, {}).destroy();
#endif
    }

#if AIO_LESSON >= 3
    handle_type checked_for_await() const {
        if (!handle_) throw std::logic_error("co_await: empty coroutine (moved from?)");
        if (handle_.done() || handle_.promise().state_ != detail::await_state::not_awaited)
            throw std::logic_error("co_await: this coroutine was already awaited");
        return handle_;
    }
#endif // lesson 03

    handle_type handle_;
};
// ANCHOR_END: coroutine

#if AIO_LESSON >= 3
// ANCHOR: awaiter
template <typename T>
class coroutine<T>::awaiter {
public:
    explicit awaiter(handle_type child) noexcept : child_(child) {}

    // A lazy child has not started yet, so it is never ready before we start it.
    bool await_ready() const noexcept { return false; }

    // Start the child right here, on our stack. If it finishes without suspending, return
    // false: the awaiting coroutine continues at once, and the stack did not grow. Otherwise
    // the child will resume us from its final_awaiter when it is done.
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        auto& p = child_.promise();
#if AIO_EXERCISE == 3
        (void)p, (void)awaiting;
        throw not_implemented("lesson 03, hole await_suspend: tell the child (its promise) whom "
                              "to resume and that you are still here, start it on this stack, and "
                              "return whether the awaiting coroutine must really suspend");
#else
        p.continuation_ = awaiting;
#if AIO_LESSON >= 4
        p.task_ = detail::task_of(awaiting);   // the child runs in our task (lesson 04)
#endif // lesson 04
        p.state_ = detail::await_state::running_inline;
        child_.resume();
        if (p.state_ == detail::await_state::finished_inline) return false;
        p.state_ = detail::await_state::awaiter_suspended;
#if AIO_LESSON >= 13
        if constexpr (std::is_base_of_v<detail::promise_base, Promise>) {
            parent_ = &awaiting.promise();   // lesson 13: the await chain, for print_stack
            parent_->awaited_child_ = &p;
        }
#endif // lesson 13
        return true;
#endif
    }

    // The child's value, moved out of its frame; or its exception, rethrown here.
    T await_resume() {
#if AIO_LESSON >= 13
        if (parent_) parent_->awaited_child_ = nullptr;
#endif // lesson 13
#if AIO_EXERCISE == 3
        throw not_implemented("lesson 03, hole await_resume: return the child's result "
                              "(moved out of its promise), which rethrows its exception");
#else
        if constexpr (std::is_void_v<T>)
            child_.promise().result();
        else
            return std::move(child_.promise().result());
#endif
    }

private:
    handle_type child_;
#if AIO_LESSON >= 13
    detail::promise_base* parent_ = nullptr;   // set while the child is suspended
#endif // lesson 13
};
// ANCHOR_END: awaiter
#endif // lesson 03

namespace detail {
template <typename T>
coroutine<T> promise<T>::get_return_object() noexcept {
    return coroutine<T>(std::coroutine_handle<promise>::from_promise(*this));
}
inline coroutine<void> promise<void>::get_return_object() noexcept {
    return coroutine<void>(std::coroutine_handle<promise>::from_promise(*this));
}
} // namespace detail

} // namespace aio
