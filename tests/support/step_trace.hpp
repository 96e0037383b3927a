// tests/support/step_trace.hpp — the loop observer that writes make check's trace (see
// support/trace.hpp for the records it writes). Only doctest_main.cpp's listener uses it: the
// tests need nothing of the runtime's observer, so they build against older workspaces too.
#pragma once

#include <aio/detail/loop_observer.hpp>

#include "support/trace.hpp"

#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace aio_test {

// Writes the loop's steps, one record per item (support/trace.hpp says what each holds).
class step_trace final : public aio::detail::loop_observer {
public:
    void before(const aio::detail::loop_item& item) override {
        if (item.loop != loop_ || item.index == 0) new_step(item.loop, item.now);
        std::string by = "outside";
        for (const range& r : previous_)
            if (item.index >= r.first && item.index < r.last) by = r.runner;
        if (fresh_loop_) by = "start";   // queued before this loop's first step
        const std::string runner = std::to_string(step_) + "." + std::to_string(item.index);
        current_.push_back({item.scheduled, item.scheduled, runner});
        if (++items_ > limit) return;
        char text[400];
        std::snprintf(text, sizeof text, "%s %s %p %s %s %s", runner.c_str(),
                      item.frame ? "coroutine" : item.timer ? "timer" : "callback", item.frame,
                      resume_function(item.frame).c_str(), by.c_str(),
                      item.callable ? item.callable : "-");
        trace_write("R", text);
    }
    void after(std::size_t scheduled) override {
        if (!current_.empty()) current_.back().last = scheduled;
    }
    ~step_trace() {
        if (items_ > limit) trace_write("X", std::to_string(items_ - limit));
    }
private:
    static constexpr std::size_t limit = 2000;
    struct range {
        std::size_t first, last;   // the indices in the next step of what this item scheduled
        std::string runner;
    };

    void new_step(const void* loop, std::int64_t now) {
        fresh_loop_ = loop != loop_;
        if (fresh_loop_) {
            loop_ = loop;
            current_.clear();
        }
        previous_ = std::move(current_);
        current_.clear();
        ++step_;
        if (items_ < limit) trace_write("S", std::to_string(step_) + " " + std::to_string(now));
    }

    // GCC and Clang both begin a coroutine frame with a pointer to its resume function: that
    // function's name (the coroutine's own) is what the grader shows.
    static std::string resume_function(const void* frame) {
        if (frame == nullptr) return "0";
        void* fn = *static_cast<void* const*>(frame);
        Dl_info where{};
        if (fn == nullptr || ::dladdr(fn, &where) == 0 || where.dli_fbase == nullptr) return "0";
        char text[32];
        std::snprintf(text, sizeof text, "0x%zx",
                      static_cast<std::size_t>(static_cast<char*>(fn) - static_cast<char*>(where.dli_fbase)));
        return text;
    }

    const void* loop_ = nullptr;
    bool fresh_loop_ = false;
    std::size_t step_ = 0, items_ = 0;
    std::vector<range> previous_, current_;
};

} // namespace aio_test
