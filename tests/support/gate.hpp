// tests/support/gate.hpp — a test-only awaitable that waits until the test opens it.
//
// Before lesson 05 the runtime has no sleep, and before lesson 10 no Event: a gate is the
// smallest await that suspends a task for as long as the test wants, and that cancel() can
// abort. It is built the way every cancellable await of the runtime is (lesson 04): register
// the waiting coroutine, tell the task what it is suspended in, and on cancel() unregister and
// have the loop resume it, so that await_resume throws aio::cancelled_error.
#pragma once

#include <aio/aio.hpp>

#include <coroutine>
#include <utility>
#include <vector>

class gate {
public:
    class waiter;

    /// Wakes every coroutine waiting at the gate (in the order they arrived), and the gate stays
    /// open: later waits go straight through.
    void open() {
        open_ = true;
        for (waiter* w : std::exchange(waiting_, {})) w->wake();
    }
    bool is_open() const { return open_; }
    std::size_t waiting() const { return waiting_.size(); }

    waiter wait() { return waiter(*this); }

    class waiter : public aio::detail::cancellable_await {
    public:
        explicit waiter(gate& g) : gate_(g) {}
        ~waiter() { std::erase(gate_.waiting_, this); }   // destroyed while waiting: unregister
        waiter(const waiter&) = delete;
        waiter& operator=(const waiter&) = delete;
        bool await_ready() const noexcept { return gate_.open_; }
        template <typename Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            if (!begin_wait(aio::detail::task_of(h))) return false;
            handle_ = h;
            loop_ = &aio::get_running_loop();   // cancel() may come when the loop is not running
            gate_.waiting_.push_back(this);
            return true;
        }
        void await_resume() { end_wait(); }

    private:
        friend class gate;
        void wake() { resume_soon(*loop_, handle_); }
        void cancel() noexcept override {
            std::erase(gate_.waiting_, this);
            wake();
        }
        gate& gate_;
        std::coroutine_handle<> handle_;
        aio::event_loop* loop_ = nullptr;
    };

private:
    bool open_ = false;
    std::vector<waiter*> waiting_;
};
