// aio/detail/loop_observer.hpp — lesson 01: a window on the loop's steps, for the course's tests.
//
// When an ordering test fails, `make check` shows what the loop ran, step by step, and which
// item scheduled which: the test support (tests/support/trace.hpp) installs an observer for the
// one test it traces. Nothing else does. With no observer the loop pays a test of a thread-local
// pointer before and after each item it runs; nothing is allocated or called.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace aio::detail {

// One item of the ready queue, as the loop is about to run it.
struct loop_item {
    const void* loop;          // which loop
    std::size_t index;         // its place in the step being run (0: a new step begins)
    std::int64_t now;          // the loop's clock, in ns
    const void* frame;         // the coroutine frame it resumes, or nullptr
    const char* callable;      // the type of the callback it calls (typeid name), or nullptr
    bool timer;                // a timer that fell due
    std::size_t scheduled;     // how many items already wait for the next step
    std::size_t step_size;     // how many items the step being run has
};

class loop_observer {
public:
    virtual void before(const loop_item& item) = 0;
    /// The item has run (or thrown); `scheduled` items now wait for the next step, so the ones
    /// past the count `before` gave were scheduled by this item.
    virtual void after(std::size_t scheduled) = 0;

    static inline thread_local loop_observer* current = nullptr;

protected:
    ~loop_observer() = default;
};

/// Tells the observer, if there is one, about one item of the ready queue: the loop makes one
/// of these around each item it runs, with the step being run and the queue for the next one.
template <typename Item>
class observed_item {
public:
    template <typename Loop>
    observed_item(const Loop& loop, const Item& item, const std::vector<Item>& running,
                  const std::vector<Item>& scheduled)
        : observer_(loop_observer::current), scheduled_(scheduled) {
        if (observer_ == nullptr) [[likely]] return;
        loop_item seen{&loop, 0, 0, nullptr, nullptr, item.due_timer != nullptr, scheduled.size(),
                       running.size()};
        if (&item >= running.data() && &item < running.data() + running.size())
            seen.index = static_cast<std::size_t>(&item - running.data());
        seen.now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       loop.time().time_since_epoch()).count();
        if constexpr (requires { item.coroutine; }) {   // lesson 03 on: coroutines in the queue
            seen.frame = item.coroutine.address();
        }
        if (seen.timer && item.due_timer->callback)
            seen.callable = item.due_timer->callback.target_type().name();
        else if (!seen.timer && !seen.frame && item.fn)
            seen.callable = item.fn.target_type().name();
        observer_->before(seen);
    }
    ~observed_item() {
        if (observer_ != nullptr) [[unlikely]] observer_->after(scheduled_.size());
    }
    observed_item(const observed_item&) = delete;
    observed_item& operator=(const observed_item&) = delete;

private:
    loop_observer* observer_;
    const std::vector<Item>& scheduled_;
};

} // namespace aio::detail
