// aio/to_thread.hpp — lesson 12: blocking work on a thread, awaited on the loop.
//
//     std::string text = co_await aio::to_thread(read_whole_file, "big.log");   // asyncio.to_thread
//     auto sum = co_await loop.run_in_executor(pool, checksum, text);          // loop.run_in_executor
//
// The awaiting coroutine suspends; the function runs on a thread of an executor (the loop's
// default one, or a thread_pool you give); its result, or its exception, comes back through the
// loop's inbox (detail/inbox.hpp) and the coroutine resumes with it, on the loop's thread. Other
// tasks run meanwhile.
//
// Design principles:
//  * One shared record per call (a thread_call_state), owned jointly by the awaiter and the job:
//    whichever finishes last frees it. The function and its arguments are moved into it, so they
//    may be move-only, and nothing refers to the awaiting frame from the thread.
//  * The thread touches only the record and the inbox; the loop's data stays the loop's. The
//    answer crosses over by inbox::post (a mutex), the only synchronisation there is.
//  * Cancellable, as far as threads allow: a job that no thread has taken yet never runs; a job
//    already running cannot be stopped (neither C++ nor Python can stop a thread safely), so its
//    result is abandoned. Either way the awaiting coroutine resumes at once with cancelled_error.
//  * The loop waits for what it handed out: a loop with thread calls outstanding is not idle, and
//    its default executor's threads are joined before it is destroyed.
//
// Where it differs from asyncio: run_in_executor gives a task (asyncio gives a future); its job is
// submitted at the call, as asyncio's, and the executor must outlive the job (a thread_pool's
// destructor runs what is queued, so destroying it first only blocks). The answer resumes the
// coroutine in the step the loop receives it (asyncio takes one more step).
#pragma once

#include "aio/coroutine.hpp"
#include "aio/detail/inbox.hpp"
#include "aio/event_loop.hpp"
#include "aio/not_implemented.hpp"
#include "aio/task.hpp"
#include "aio/thread_pool.hpp"

#include <atomic>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace aio {

namespace detail {

// What f(args...) gives, as a coroutine can return it (a reference comes back as a copy).
template <typename F, typename... Args>
using thread_result_t = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>;

template <typename R, typename F>
class thread_call;

// The record a call shares between the loop and the thread.
template <typename R, typename F>
struct thread_call_state {
    enum stage_t : int { queued, running, abandoned };

    thread_call_state(F f, std::shared_ptr<inbox> reply) : fn(std::move(f)), reply_to(std::move(reply)) {}

    F fn;
    std::atomic<int> stage{queued};   // queued -> running (the thread), or -> abandoned (the loop)
    std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> value;   // written by the thread,
    std::exception_ptr error;                                               // read after the post
    std::shared_ptr<inbox> reply_to;
    // The loop's thread only. The call is out until it is answered (deliver ran) or let go
    // (abandon ran), whichever comes first; the other then does nothing.
    bool answered = false;
    bool let_go = false;
    thread_call<R, F>* awaiting = nullptr;   // who is suspended on it, if anyone
};

// ANCHOR: thread_call
// One call on a thread: made (the record), started (submitted), awaited once.
template <typename R, typename F>
class thread_call final : public cancellable_await {
    using state = thread_call_state<R, F>;

public:
    /// Makes the record, with `fn` moved in; the answer will come to `loop`.
    thread_call(event_loop& loop, F&& fn)
        : loop_(&loop), call_(std::make_shared<state>(std::move(fn), loop.inbox())) {}
    // Movable until it is awaited (into a coroutine's frame); the record then points at it.
    thread_call(thread_call&& other) noexcept
        : loop_(other.loop_), call_(std::move(other.call_)), out_(other.out_) {}
    thread_call& operator=(thread_call&&) = delete;
    // Destroyed without taking the answer (a frame destroyed at the end of aio::run, a task
    // cancelled before its first step): the call is let go.
    ~thread_call() { abandon(); }

    /// Submits the job to `executor`. Separate from the constructor, so that the caller's
    /// temporaries (moved-from copies of the function) are gone first: from the submit on, the
    /// loop touches nothing of the call but the record's loop-only fields.
    void start(thread_pool& executor) {
        executor.submit([call = call_] { run_on_thread(call); });   // if this throws, nothing is out
        out_ = true;
        ++call_->reply_to->expected;   // the loop now waits for an answer through its inbox
    }

    bool await_ready() const noexcept { return call_->answered; }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        if (!begin_wait(task_of(awaiting))) return false;   // cancelled already
        awaiting_ = awaiting;
        call_->awaiting = this;
        return true;
    }

    R await_resume() {
        end_wait();   // cancelled meanwhile: cancelled_error (the destructor lets the call go)
        std::shared_ptr<state> call = std::move(call_);
        if (call->error) std::rethrow_exception(call->error);
        if constexpr (!std::is_void_v<R>) return std::move(*call->value);
    }

private:
    // On a thread of the executor.
    static void run_on_thread(const std::shared_ptr<state>& call) {
#if AIO_EXERCISE == 12
        (void)call;
        throw not_implemented("lesson 12, hole run_on_thread: unless the loop abandoned the call "
                              "(move stage from queued to running, atomically), call fn and keep "
                              "its value or exception in the record; then post the record's "
                              "deliver() to the loop's inbox");
#else
        int expected = state::queued;
        if (!call->stage.compare_exchange_strong(expected, state::running)) return;   // abandoned
        try {
            F fn = std::move(call->fn);   // ours: what it captured dies here, on this thread
            if constexpr (std::is_void_v<R>) {
                std::invoke(std::move(fn));
                call->value.emplace(true);
            } else {
                call->value.emplace(std::invoke(std::move(fn)));
            }
        } catch (...) {
            call->error = std::current_exception();
        }
        std::function<void()> answer = [call] { deliver(*call); };
        call->reply_to->post(answer);   // refused if the loop is gone: then nobody waits
#endif
    }

    // On the loop's thread, a step after the thread posted: the call is answered; resume whoever
    // waits for it (nobody yet: await_ready sees the answer).
    static void deliver(state& call) {
        if (call.let_go) return;   // abandoned while the thread ran: the answer is dropped
        call.answered = true;
        --call.reply_to->expected;
        if (thread_call* waiter = std::exchange(call.awaiting, nullptr)) waiter->resume_now(waiter->awaiting_);
    }
// ANCHOR_END: thread_call

    // The task is cancelled while it waits for the call.
#if AIO_LESSON >= 13
    std::string awaiting() const override { return "aio::to_thread"; }   // lesson 13: task dumps, traces
#endif // lesson 13
    void cancel() noexcept override {
        abandon();
        loop_->call_soon(awaiting_);
    }

    // Nobody will take the answer: a job not started yet will not start; one running finishes
    // on its thread and its answer is dropped (deliver finds the call let go).
    void abandon() noexcept {
        if (!out_ || !call_ || call_->answered || call_->let_go) return;
        call_->let_go = true;
        call_->awaiting = nullptr;
        --call_->reply_to->expected;
        int expected = state::queued;
        call_->stage.compare_exchange_strong(expected, state::abandoned);
    }

    event_loop* loop_;
    std::shared_ptr<state> call_;   // null once the answer is taken
    bool out_ = false;              // started
    std::coroutine_handle<> awaiting_;
};

// `fn(args...)` as one callable, owning copies of everything (it runs later, elsewhere).
template <typename F, typename... Args>
auto bind_call(F&& fn, Args&&... args) {
    return [fn = std::forward<F>(fn), ... args = std::forward<Args>(args)]() mutable -> thread_result_t<F, Args...> {
        return std::invoke(std::move(fn), std::move(args)...);
    };
}

// (Names the type of bind_call's lambda for us.)
template <typename R, typename Call>
thread_call<R, Call> make_thread_call(event_loop& loop, Call&& fn) {
    return thread_call<R, Call>(loop, std::move(fn));
}

// A call already out, awaited by a coroutine (run_in_executor's task).
template <typename R, typename Call>
coroutine<R> await_call(thread_call<R, Call> call) {
    co_return co_await call;
}

// The call made at the coroutine's first step, on the default executor of the loop it runs on
// (to_thread: nothing happens until it is awaited, as with any coroutine).
template <typename R, typename Call>
coroutine<R> call_on_default(Call fn) {
    event_loop& loop = get_running_loop();
    thread_call<R, Call> call(loop, std::move(fn));
    call.start(loop.default_executor());
    co_return co_await call;
}

} // namespace detail

// ANCHOR: to_thread
/// Runs `fn(args...)` on a thread of the running loop's default executor and gives its result,
/// or throws its exception (asyncio.to_thread). The function and the arguments are copied or
/// moved in, so they may die before the call: pass std::ref to share something instead.
/// Cancelling the await abandons the result; it cannot stop the thread.
///
/// With g++ 12, name a capturing lambda before you await it: `auto job = [p] { ... };
/// co_await aio::to_thread(job);` — g++ 12 destroys a capturing lambda temporary inside a
/// co_await expression twice (CODING.md; clang is fine). ASan builds catch it.
template <typename F, typename... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
coroutine<detail::thread_result_t<F, Args...>> to_thread(F&& fn, Args&&... args) {
    // Not a coroutine itself: it binds the call into one callable, and the one coroutine frame
    // (call_on_default's) holds just that.
    return detail::call_on_default<detail::thread_result_t<F, Args...>>(
        detail::bind_call(std::forward<F>(fn), std::forward<Args>(args)...));
}
// ANCHOR_END: to_thread

template <typename F, typename... Args>
    requires(!std::is_same_v<std::remove_cvref_t<F>, thread_pool>)
auto event_loop::run_in_executor(F&& fn, Args&&... args) {
    return run_in_executor(default_executor(), std::forward<F>(fn), std::forward<Args>(args)...);
}

template <typename F, typename... Args>
auto event_loop::run_in_executor(thread_pool& executor, F&& fn, Args&&... args) {
    using R = detail::thread_result_t<F, Args...>;
    auto call = detail::make_thread_call<R>(*this, detail::bind_call(std::forward<F>(fn), std::forward<Args>(args)...));
    call.start(executor);   // now, as asyncio does: the executor may go before the task's first step
    return create_task(detail::await_call<R>(std::move(call)), *this);
}

} // namespace aio
