// aio/event_loop.hpp — lesson 01: the event loop, asyncio's loop for callbacks.
//
// Design principles (the whole runtime stands on these):
//
//  * One loop per thread, and everything happens on it. Nothing here takes a lock: a callback
//    runs to completion before the next one starts, so the loop's own data is never shared.
//  * The loop is three sources of work feeding one ready queue, exactly as asyncio's
//    `BaseEventLoop._run_once`:
//
//          call_soon ────────────────────────────┐
//          call_later / call_at ──► timers ──────┤ (when due)
//          add_reader / add_writer ──► epoll ────┤ (when the fd is ready)
//                                                ▼
//                                   ready queue: run in FIFO order
//
//    One iteration ("step") waits for I/O only if nothing is ready, moves the fds that became
//    ready and the timers that fell due to the back of the ready queue, then runs what was
//    ready *at that moment*. What a callback schedules runs in the next step, never in this one.
//  * Timers are ordered by deadline, then by the order they were created. asyncio leaves equal
//    deadlines in heap order; we make ties deterministic because tests depend on it.
//  * A virtual clock: with `clock_mode::virtual_time`, time does not pass by itself. When nothing
//    is ready and no fd could wake the loop, time jumps straight to the next timer. A test of a
//    one-hour timeout runs in microseconds, and always the same way.
//
// Where this is simpler than asyncio: callbacks are `std::function<void()>` (copyable callables
// only); an exception thrown by a callback propagates out of `run_forever` instead of going to a
// logging exception handler (the loop stays usable, the remaining callbacks stay queued); and
// `call_soon` returns nothing (cancel a callback by making it check a flag).
#pragma once

#include "aio/detail/timer_heap.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>
#if AIO_LESSON >= 3
#include <coroutine>
#endif // lesson 03
#if AIO_LESSON >= 9
#include <memory>
#endif // lesson 09
#if AIO_LESSON >= 12
#include <atomic>
#include <type_traits>
#endif // lesson 12

namespace aio {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;

/// `real`: time() is the monotonic clock. `virtual_time`: time() starts at zero and does not
/// pass by itself: when the loop has nothing to do but wait for a timer, it jumps to that timer
/// (with fds watched, it first waits for them in real time, up to that timer).
enum class clock_mode { real, virtual_time };

class event_loop;
#if AIO_LESSON >= 12
class thread_pool;
template <typename T>
class task;
namespace detail {
class inbox;
}
#endif // lesson 12
#if AIO_LESSON >= 13
namespace detail {
class step_tracker;
}
#endif // lesson 13
#if AIO_LESSON >= 12

/// Lesson 12: what event_loop::keep_alive() gives. While one exists, the loop is not idle: a
/// thread of your own that will call call_soon_threadsafe holds one, so that the loop waits for
/// it instead of finding nothing to do (to_thread's calls need none: the loop counts them). It
/// may be released, or destroyed, on any thread, once; that wakes the loop to look again.
class keep_alive_token {
public:
    keep_alive_token() noexcept = default;
    keep_alive_token(keep_alive_token&& other) noexcept = default;
    keep_alive_token& operator=(keep_alive_token&& other) noexcept;
    ~keep_alive_token() { release(); }

    /// Lets the loop go (if the loop is already gone, nothing happens).
    void release() noexcept;

private:
    friend class event_loop;
    explicit keep_alive_token(std::shared_ptr<detail::inbox> inbox) noexcept : inbox_(std::move(inbox)) {}
    std::shared_ptr<detail::inbox> inbox_;
};
#endif // lesson 12

/// What `call_later` / `call_at` give back: a way to cancel the timer before it runs.
/// A handle is a small value (copy it freely), but it must not outlive its loop.
class timer_handle {
public:
    timer_handle() = default;

    /// Removes the timer if it has not run yet (even if it is already due in this step); true
    /// if it had not. Cancelling twice, or once it has run, does nothing and returns false.
    bool cancel();

    /// The deadline the timer was scheduled for.
    time_point when() const { return when_; }

private:
    friend class event_loop;
    timer_handle(event_loop* loop, detail::timer* t)
        : loop_(loop), timer_(t), sequence_(t->sequence), when_(t->when) {}

    event_loop* loop_ = nullptr;
    detail::timer* timer_ = nullptr;   // the loop recycles timers: sequence_ tells if it is ours
    std::uint64_t sequence_ = 0;
    time_point when_{};
};

class event_loop {
public:
    using callback = std::function<void()>;

    explicit event_loop(clock_mode mode = clock_mode::real);
    ~event_loop();
    event_loop(const event_loop&) = delete;             // callbacks and handles point at the
    event_loop& operator=(const event_loop&) = delete;  // loop: it stays where it was made

    /// Runs `cb` in a later step, after everything already scheduled (FIFO).
    void call_soon(callback cb);
#if AIO_LESSON >= 3
    /// The coroutine fast path (lesson 03): resuming a coroutine is the most common callback of
    /// all, so the ready queue holds a coroutine handle directly: no type-erased call.
    void call_soon(std::coroutine_handle<> coroutine);
    /// (A typed handle converts to both overloads above; this picks the fast one.)
    template <typename Promise>
    void call_soon(std::coroutine_handle<Promise> coroutine) {
        call_soon(std::coroutine_handle<>(coroutine));
    }
#endif // lesson 03

    /// Runs `cb` once `delay` has passed (a negative delay is an error: it is always a bug).
    timer_handle call_later(duration delay, callback cb);
    /// Runs `cb` at `when` (a deadline already past runs in the next step).
    timer_handle call_at(time_point when, callback cb);
    /// The loop's clock: monotonic, or virtual (see clock_mode).
    time_point time() const;
    /// How many timers are pending (cancelled ones are gone at once): for tests and tracing.
    std::size_t scheduled_timers() const noexcept { return timers_.size() + due_timers_; }
    /// How many fds are watched (for reading, writing or both): for tests and tracing.
    std::size_t watched_fds() const noexcept { return watched_fds_; }

    /// Runs `cb` in a step whenever `fd` is readable (level-triggered, like asyncio's selector:
    /// it keeps firing until the data is read). One reader per fd: a second one is an error.
    void add_reader(int fd, callback cb);
    /// Stops watching `fd` for reading; true if it was watched.
    bool remove_reader(int fd);
    /// Same as add_reader, for "writable" (room in the kernel's send buffer).
    void add_writer(int fd, callback cb);
    bool remove_writer(int fd);

    /// Runs steps until stop() is called. If nothing is scheduled and no fd is watched, nothing
    /// could ever happen again: instead of sleeping forever it throws std::runtime_error.
    void run_forever();
    /// Runs steps until nothing is ready, no timer is pending and no fd is watched (or stop()).
    void run_until_idle();
    /// Asks run_forever()/run_until_idle() to return after the current step.
    void stop();
    bool is_running() const { return running_; }
#if AIO_LESSON >= 9
    /// Expires when the loop is destroyed: for an object that registered with the loop and may
    /// outlive it (lesson 09's streams), to know whether there is still a loop to unregister from.
    std::weak_ptr<const void> liveness() const { return alive_; }
    /// Lesson 09: add_reader, edge-triggered. `cb` runs when something new arrives on `fd` (bytes,
    /// the peer's close, an error): once per arrival, not at every step while bytes wait unread.
    /// So the reader must read until it has seen the socket empty, or it will not hear again.
    void add_edge_reader(int fd, callback cb);
    /// Has epoll reported the peer's close (EPOLLRDHUP, EPOLLHUP) or an error on `fd` since its
    /// edge reader was added? From then on a read never blocks: it returns the end, or fails.
    bool hung_up(int fd) const noexcept;
#endif // lesson 09
#if AIO_LESSON >= 12
    /// Lesson 12: runs `cb` on the loop's thread in a later step — the one call of the loop that
    /// any thread may make (asyncio's call_soon_threadsafe). It wakes a loop asleep in
    /// epoll_wait at once; calls from one thread run in the order made. Once the loop is
    /// destroyed it must not be called (keep the loop alive, as you would any object you share).
    void call_soon_threadsafe(callback cb);

    /// The thread pool that to_thread and run_in_executor use (made at first use, of
    /// thread_pool::default_size() threads). The loop joins its threads before it goes: a
    /// function still running there finishes first (asyncio.run's shutdown_default_executor).
    thread_pool& default_executor();
    /// Joins the default executor's threads while the loop runs on, so that a function still
    /// running there may call call_soon_threadsafe, and even wait for that call (asyncio.run
    /// ends with loop.shutdown_default_executor() too; here it is a plain call, made while the
    /// loop is not running: aio::run makes it once main is over). Nothing if there is none.
    void shutdown_default_executor();

    /// On the loop's thread: a token that keeps the loop from being idle until it is released,
    /// on any thread (see keep_alive_token).
    keep_alive_token keep_alive();

    /// A task that runs `fn(args...)` on the default executor and gives its result (asyncio's
    /// loop.run_in_executor(None, fn, *args)). Defined in aio/to_thread.hpp.
    template <typename F, typename... Args>
        requires(!std::is_same_v<std::remove_cvref_t<F>, thread_pool>)
    auto run_in_executor(F&& fn, Args&&... args);
    /// The same on `executor`. Both submit the job at the call, as asyncio does: the executor
    /// may go before the task ends (a thread_pool's destructor waits for its queued jobs).
    template <typename F, typename... Args>
    auto run_in_executor(thread_pool& executor, F&& fn, Args&&... args);

    /// (For to_thread.hpp.) The door other threads answer the loop through: shared, so that a
    /// thread that finishes after the loop is gone finds it closed rather than freed.
    const std::shared_ptr<detail::inbox>& inbox() const noexcept { return inbox_; }
#endif // lesson 12

private:
    friend class timer_handle;

    // One entry of the ready queue: a callback, a timer that fell due (it stays cancellable
    // until it runs), or (lesson 03) a coroutine to resume.
    struct ready_item {
        explicit ready_item(callback f) : fn(std::move(f)) {}
        explicit ready_item(detail::timer* t) : due_timer(t), due_sequence(t->sequence) {}
        callback fn;
        detail::timer* due_timer = nullptr;
        std::uint64_t due_sequence = 0;
#if AIO_LESSON >= 3
        explicit ready_item(std::coroutine_handle<> c) : coroutine(c) {}
        std::coroutine_handle<> coroutine;
#endif // lesson 03
    };
    struct fd_watch {
        callback reader, writer;
        bool registered = false;   // known to epoll
#if AIO_LESSON >= 9
        bool edge_triggered = false;   // the reader is (add_edge_reader)
        bool hung_up = false;          // epoll said the peer closed, or an error
#endif // lesson 09
    };

    void run_once();
    bool idle() const;
    void wait_for_events();
    void move_due_timers_to_ready();
    void run_ready();
    void run(ready_item& item);
    detail::timer* new_timer();
    void recycle(detail::timer* t);
    bool cancel_timer(detail::timer* t, std::uint64_t sequence);
    void watch(int fd, callback fd_watch::*slot, callback cb, const char* caller);
    bool unwatch(int fd, callback fd_watch::*slot);
    void update_epoll(int fd, fd_watch& w, const char* caller);
    void run_fd_callback(int fd, callback fd_watch::*slot);
    void run_due_timer(detail::timer* t, std::uint64_t sequence);

    clock_mode mode_;
    time_point virtual_now_{};
    int epoll_fd_ = -1;
    std::vector<ready_item> ready_;      // scheduled for the next step
    std::vector<ready_item> now_running_; // the step being run now
    detail::timer_heap timers_;               // pending timers, earliest first
    std::size_t due_timers_ = 0;              // fell due, waiting in ready_, not run yet
    std::deque<detail::timer> timer_pool_;    // every timer node: a deque never moves them
    std::vector<detail::timer*> free_timers_; // nodes ready for reuse
    std::uint64_t next_timer_sequence_ = 0;
    std::vector<fd_watch> watches_;      // indexed by fd: the kernel hands out small numbers
    std::size_t watched_fds_ = 0;
    bool running_ = false;
    bool stopping_ = false;
#if AIO_LESSON >= 9
    std::shared_ptr<const void> alive_ = std::make_shared<char>();
#endif // lesson 09
#if AIO_LESSON >= 13
    // Lesson 13: the observers the environment asked for (AIO_DEBUG, AIO_TRACE), for the
    // loop's life; the trace is made last, so it goes first.
    std::unique_ptr<detail::step_tracker> debug_monitor_, trace_writer_;
#endif // lesson 13
#if AIO_LESSON >= 12
    void take_threadsafe_calls();
    bool expecting_threads() const noexcept;
    void check_thread(const char* caller) const;

    std::shared_ptr<detail::inbox> inbox_;
    std::vector<callback> mail_;              // taken from the inbox, kept for its capacity
    std::unique_ptr<thread_pool> default_executor_;
    // Which thread runs the loop (the address of a thread_local of that thread), null when it is
    // not running: for check_thread(), which other threads read, so atomic.
    std::atomic<const void*> running_thread_{nullptr};
#endif // lesson 12
};

/// The loop running on this thread (asyncio.get_running_loop). Throws std::runtime_error when
/// called outside a running loop.
event_loop& get_running_loop();

} // namespace aio
