// aio/debug.cpp — lesson 13: debug mode (see debug.hpp).
#include "aio/debug.hpp"
#include "aio/detail/step_tracker.hpp"
#include "aio/not_implemented.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace aio {

namespace {

// -1: not decided yet (AIO_DEBUG is read at first use).
std::atomic<int> debug_mode{-1};
std::atomic<duration::rep> slow_limit{std::chrono::duration_cast<duration>(std::chrono::milliseconds(100)).count()};

} // namespace

bool get_debug() noexcept {
    int on = debug_mode.load(std::memory_order_relaxed);
    if (on < 0) {
        const char* value = std::getenv("AIO_DEBUG");
        on = value != nullptr && *value != '\0' && std::strcmp(value, "0") != 0;
        debug_mode.store(on, std::memory_order_relaxed);
    }
    return on != 0;
}

void set_debug(bool on) noexcept {
    debug_mode.store(on, std::memory_order_relaxed);
}

duration slow_callback_duration() noexcept {
    return duration(slow_limit.load(std::memory_order_relaxed));
}

void set_slow_callback_duration(duration limit) noexcept {
    slow_limit.store(limit.count(), std::memory_order_relaxed);
}

namespace detail {

// ANCHOR: slow_steps
// Debug mode's watch on the loop: times every step, names the slow ones.
class slow_step_monitor final : public step_tracker {
public:
    using step_tracker::step_tracker;

private:
    void step_ended(const step& s) noexcept override {
        const duration took = s.end - s.begin;
#if AIO_EXERCISE == 13
        // lesson 13, hole slow_steps: if the step took longer than slow_callback_duration(),
        // report it on stderr as one line: aio: executing <what_ran(s)> took <seconds, three
        // decimals> seconds.
        (void)took;
#else
        if (took <= slow_callback_duration()) return;
        std::fprintf(stderr, "aio: executing %s took %.3f seconds\n", what_ran(s).c_str(),
                     std::chrono::duration<double>(took).count());
#endif
    }
};
// ANCHOR_END: slow_steps

} // namespace detail

std::string detail::what_ran(const step_tracker::step& s) {
    if (s.task_id != 0) return "a step of task '" + s.task_name + "'";
    if (s.item.timer) return "a timer callback";
    if (s.item.frame != nullptr) return "a coroutine (no task)";
    return "a callback";
}

std::unique_ptr<detail::step_tracker> detail::debug_monitor_if_asked(const event_loop& loop) {
    if (!get_debug()) return nullptr;
    return std::make_unique<slow_step_monitor>(loop);
}

void detail::report_never_awaited(const coroutine_site& site) noexcept {
    if (!get_debug() || site.function == nullptr) return;
    const char* slash = site.file ? std::strrchr(site.file, '/') : nullptr;
    std::fprintf(stderr, "aio: coroutine '%s' (%s:%u) was never awaited\n", site.function,
                 slash ? slash + 1 : site.file ? site.file : "?", site.line);
}

} // namespace aio
