// aio/event_loop.cpp — lesson 01: the event loop (see event_loop.hpp for the design).
#include "aio/event_loop.hpp"
#include "aio/detail/loop_observer.hpp"
#include "aio/not_implemented.hpp"
#if AIO_LESSON >= 12
#include "aio/detail/inbox.hpp"
#include "aio/thread_pool.hpp"
#endif // lesson 12
#if AIO_LESSON >= 13
#include "aio/detail/step_tracker.hpp"
#include "aio/inspect.hpp"
#endif // lesson 13

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace aio {

namespace {

thread_local event_loop* running_loop = nullptr;

[[noreturn]] void throw_os_error(const std::string& what) {
    throw std::system_error(errno, std::system_category(), what);
}

// Marks a loop as this thread's running loop for the duration of a run_* call, and refuses a
// second loop (or the same one) running on the same thread: asyncio's "already running" error.
// On the way out, however it is left, a pending stop() is spent.
class running_scope {
public:
    running_scope(event_loop* loop, bool& running, bool& stopping)
        : running_(running), stopping_(stopping) {
        if (running_loop != nullptr)
            throw std::runtime_error(running_loop == loop
                                         ? "event_loop: this loop is already running"
                                         : "event_loop: another loop is running on this thread");
        running_loop = loop;
        running_ = true;
    }
    ~running_scope() {
        running_loop = nullptr;
        running_ = false;
        stopping_ = false;
    }
    running_scope(const running_scope&) = delete;
    running_scope& operator=(const running_scope&) = delete;

private:
    bool& running_;
    bool& stopping_;
};

#if AIO_LESSON >= 12
// Lesson 12: records which thread runs the loop, for check_thread(): the address of a
// thread_local variable is different in every thread, and costs nothing to take.
class running_thread {
public:
    explicit running_thread(std::atomic<const void*>& slot) noexcept : slot_(slot) {
        slot_.store(&running_loop, std::memory_order_relaxed);
    }
    ~running_thread() { slot_.store(nullptr, std::memory_order_relaxed); }
    running_thread(const running_thread&) = delete;
    running_thread& operator=(const running_thread&) = delete;

private:
    std::atomic<const void*>& slot_;
};
#endif // lesson 12

} // namespace

event_loop& get_running_loop() {
    if (running_loop == nullptr) throw std::runtime_error("get_running_loop: no running event loop");
    return *running_loop;
}

// A handle lets go of its loop once used: cancelling again never touches the loop, which may be
// gone by then.
bool timer_handle::cancel() {
    event_loop* loop = std::exchange(loop_, nullptr);
    return loop != nullptr && loop->cancel_timer(timer_, sequence_);
}

event_loop::event_loop(clock_mode mode) : mode_(mode) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw_os_error("epoll_create1");
#if AIO_LESSON >= 12
    // Lesson 12: the inbox's eventfd is in the epoll set from the start, but it is not a watched
    // fd: it alone never keeps the loop from being idle (thread calls out do: see idle()).
    try {
        inbox_ = std::make_shared<detail::inbox>();
        // Edge-triggered: every write to the eventfd is a new edge that wakes epoll_wait, so the
        // loop never has to read the counter back to quiet it (a system call saved per wake-up,
        // as Boost.Asio does with its own eventfd; the counter would need 2^64 writes to fill).
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLET;
        ev.data.fd = inbox_->fd();
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, inbox_->fd(), &ev) < 0) throw_os_error("epoll_ctl(eventfd)");
    } catch (...) {
        ::close(epoll_fd_);   // a constructor that throws gets no destructor
        throw;
    }
#endif // lesson 12
#if AIO_LESSON >= 13
    // Lesson 13: any aio program can be watched without recompiling it.
    detail::install_dump_on_sigquit();
    debug_monitor_ = detail::debug_monitor_if_asked(*this);
    trace_writer_ = detail::trace_writer_if_asked(*this);
#endif // lesson 13
}

#if AIO_LESSON >= 4
namespace detail {
std::size_t abandon_remaining_tasks(event_loop& loop, const char* report) noexcept;   // task.cpp
}
#endif // lesson 04

event_loop::~event_loop() {
#if AIO_LESSON >= 4
    // Lesson 04: tasks created on this loop that never finished (it never ran, or stopped
    // early) are destroyed now, while the loop they are registered with still exists.
    detail::abandon_remaining_tasks(*this, "aio: an event loop was destroyed with a task that never finished");
#endif // lesson 04
#if AIO_LESSON >= 12
    // Lesson 12: the inbox closes first, so that a function still running on a thread that
    // posts to the loop, or waits for it, gets an error instead of waiting for a loop that will
    // never run again; then the default executor's threads are joined (a function still running
    // there finishes first). A thread of another executor that answers later finds the door shut.
    inbox_->close();
    default_executor_.reset();
#endif // lesson 12
    ::close(epoll_fd_);
}

void event_loop::run(ready_item& item) {
    detail::observed_item observe(*this, item, now_running_, ready_);   // make check's trace, if on
#if AIO_LESSON >= 3
    if (item.coroutine) {
        item.coroutine.resume();
        return;
    }
#endif // lesson 03
    if (item.due_timer)
        run_due_timer(item.due_timer, item.due_sequence);
    else
        item.fn();
}

// ANCHOR: call_soon
void event_loop::call_soon(callback cb) {
    if (!cb) throw std::invalid_argument("call_soon: empty callback");
#if AIO_LESSON >= 12
    check_thread("call_soon");
#endif // lesson 12
#if AIO_EXERCISE == 1
    throw not_implemented("lesson 01, hole call_soon: append the callback to the back of ready_");
#else
    ready_.emplace_back(std::move(cb));
#endif
}
// ANCHOR_END: call_soon

#if AIO_LESSON >= 3
void event_loop::call_soon(std::coroutine_handle<> coroutine) {
    if (!coroutine) throw std::invalid_argument("call_soon: null coroutine handle");
#if AIO_LESSON >= 12
    check_thread("call_soon");
#endif // lesson 12
    ready_.emplace_back(coroutine);
}
#endif // lesson 03

// ANCHOR: timers
timer_handle event_loop::call_later(duration delay, callback cb) {
    if (delay < duration::zero())
        throw std::invalid_argument("call_later: negative delay (" + std::to_string(delay.count()) +
                                    " ns)");
    // A deadline past the end of the clock (about 292 years of nanoseconds) is the end of it.
    const time_point now = time();
    return call_at(delay > time_point::max() - now ? time_point::max() : now + delay, std::move(cb));
}

timer_handle event_loop::call_at(time_point when, callback cb) {
    if (!cb) throw std::invalid_argument("call_at: empty callback");
#if AIO_LESSON >= 12
    check_thread("call_at");
#endif // lesson 12
#if AIO_EXERCISE == 1
    (void)when;
    throw not_implemented("lesson 01, hole call_at: take a node from new_timer(), fill in when, "
                          "the next sequence number and the callback, push it on timers_, and "
                          "return a timer_handle to it");
#else
    detail::timer* t = new_timer();
    t->when = when;
    t->sequence = next_timer_sequence_++;
    t->callback = std::move(cb);
    timers_.push(t);
    return timer_handle(this, t);
#endif
}

// Timer nodes are recycled, never freed while the loop lives: a stale handle can always look at
// its node, and the sequence number there tells whether it still holds the same timer.
detail::timer* event_loop::new_timer() {
    if (free_timers_.empty()) return &timer_pool_.emplace_back();
    detail::timer* t = free_timers_.back();
    free_timers_.pop_back();
    return t;
}

void event_loop::recycle(detail::timer* t) {
    t->callback = nullptr;
    t->due = false;
    free_timers_.push_back(t);
}

// A timer can be cancelled until it runs — even once it fell due, by an earlier callback of the
// same step (asyncio skips cancelled handles in its ready queue the same way).
bool event_loop::cancel_timer(detail::timer* t, std::uint64_t sequence) {
    if (t->sequence != sequence) return false;   // the node holds a newer timer now
    if (t->heap_index != detail::timer::not_in_heap) {
        timers_.remove(t);
    } else if (t->due) {
        --due_timers_;   // its ticket in ready_ will find the node recycled, and do nothing
    } else {
        return false;    // it has run (or is running)
    }
    recycle(t);
    return true;
}

time_point event_loop::time() const {
    return mode_ == clock_mode::virtual_time ? virtual_now_ : clock::now();
}
// ANCHOR_END: timers

// ---- file descriptors --------------------------------------------------------------------------

void event_loop::add_reader(int fd, callback cb) {
    watch(fd, &fd_watch::reader, std::move(cb), "add_reader");
}
void event_loop::add_writer(int fd, callback cb) {
    watch(fd, &fd_watch::writer, std::move(cb), "add_writer");
}
bool event_loop::remove_reader(int fd) { return unwatch(fd, &fd_watch::reader); }
bool event_loop::remove_writer(int fd) { return unwatch(fd, &fd_watch::writer); }
#if AIO_LESSON >= 9
void event_loop::add_edge_reader(int fd, callback cb) {
    watch(fd, &fd_watch::reader, std::move(cb), "add_edge_reader");
    // Then again as edge-triggered: one more epoll_ctl, once per fd, for a simpler watch().
    fd_watch& w = watches_[fd];
    w.edge_triggered = true;
    w.hung_up = false;   // (maybe left by a writer on an earlier socket of this number: the MOD reports anew)
    update_epoll(fd, w, "add_edge_reader");
}
bool event_loop::hung_up(int fd) const noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < watches_.size() && watches_[fd].hung_up;
}
#endif // lesson 09

// ANCHOR: watch
void event_loop::watch(int fd, callback fd_watch::*slot, callback cb, const char* caller) {
    if (fd < 0) throw std::invalid_argument(std::string(caller) + ": invalid fd " + std::to_string(fd));
    if (!cb) throw std::invalid_argument(std::string(caller) + ": empty callback");
#if AIO_LESSON >= 12
    check_thread(caller);
#endif // lesson 12
    if (static_cast<std::size_t>(fd) >= watches_.size()) {
        // Grow the table only for an fd that exists: a wild number is EBADF, not bad_alloc.
        if (::fcntl(fd, F_GETFD) < 0)
            throw_os_error(std::string(caller) + ": fd " + std::to_string(fd));
        watches_.resize(fd + 1);
    }
    fd_watch& w = watches_[fd];
    if (w.*slot)
        throw std::logic_error(std::string(caller) + ": fd " + std::to_string(fd) +
                               " is already watched (remove it first)");
    w.*slot = std::move(cb);
    try {
        update_epoll(fd, w, caller);
    } catch (...) {
        (w.*slot) = nullptr;   // a refused fd (closed, a regular file...) leaves no trace
        throw;
    }
}

bool event_loop::unwatch(int fd, callback fd_watch::*slot) {
#if AIO_LESSON >= 12
    check_thread("remove_reader/remove_writer");
#endif // lesson 12
    if (fd < 0 || static_cast<std::size_t>(fd) >= watches_.size() || !(watches_[fd].*slot))
        return false;
    fd_watch& w = watches_[fd];
    w.*slot = nullptr;
#if AIO_LESSON >= 9
    if (slot == &fd_watch::reader) w.edge_triggered = w.hung_up = false;
#endif // lesson 09
    try {
        update_epoll(fd, w, "remove");
    } catch (const std::system_error&) {
        // The fd was closed while still watched, so the kernel already dropped it from the
        // epoll set: forget it entirely. (The rule is remove first, close after.)
        w = fd_watch{};
        --watched_fds_;
    }
    return true;
}
// ANCHOR_END: watch

// ANCHOR: update_epoll
// Tells epoll what we now want to hear about `fd`: ADD the first interest, MOD when it changes,
// DEL when nothing is left.
void event_loop::update_epoll(int fd, fd_watch& w, const char* caller) {
#if AIO_EXERCISE == 1
    (void)fd, (void)w, (void)caller;
    throw not_implemented("lesson 01, hole update_epoll: epoll_ctl ADD, MOD or DEL the fd, "
                          "with EPOLLIN for a reader and EPOLLOUT for a writer");
#else
    epoll_event ev{};
    ev.events = (w.reader ? EPOLLIN : 0u) | (w.writer ? EPOLLOUT : 0u);
#if AIO_LESSON >= 9
    if (w.reader && w.edge_triggered) ev.events |= EPOLLET | EPOLLRDHUP;
#endif // lesson 09
    ev.data.fd = fd;
    int op = !w.registered ? EPOLL_CTL_ADD : ev.events != 0 ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
    if (::epoll_ctl(epoll_fd_, op, fd, &ev) < 0)
        throw_os_error(std::string(caller) + ": epoll_ctl(fd " + std::to_string(fd) + ")");
    if (op == EPOLL_CTL_ADD) ++watched_fds_;
    if (op == EPOLL_CTL_DEL) --watched_fds_;
    w.registered = op != EPOLL_CTL_DEL;
#endif
}
// ANCHOR_END: update_epoll

// Runs the reader or writer of `fd` if it is still there: an earlier callback of the same step
// may have removed it. The callback is copied first, because it may remove itself while running.
void event_loop::run_fd_callback(int fd, callback fd_watch::*slot) {
    if (callback cb = watches_[fd].*slot) cb();
}

// ---- running -----------------------------------------------------------------------------------

void event_loop::stop() { stopping_ = true; }

bool event_loop::idle() const {
#if AIO_LESSON >= 12
    if (expecting_threads()) return false;
#endif // lesson 12
    return ready_.empty() && timers_.empty() && watched_fds_ == 0;
}

// Like asyncio, a stop() requested before the loop starts still lets it run one step.
void event_loop::run_forever() {
    running_scope scope(this, running_, stopping_);
#if AIO_LESSON >= 12
    running_thread running_here(running_thread_);
#endif // lesson 12
    do {
        if (idle() && !stopping_)
            throw std::runtime_error(
                "run_forever: the loop is idle (nothing ready, no timer, no fd watched): "
                "nothing could ever wake it");
        run_once();
    } while (!stopping_);
}

void event_loop::run_until_idle() {
    running_scope scope(this, running_, stopping_);
#if AIO_LESSON >= 12
    running_thread running_here(running_thread_);
#endif // lesson 12
    while (!idle()) {
        run_once();
        if (stopping_) break;
    }
}

// ANCHOR: run_once
// One step of the loop, in asyncio's order: I/O first, then timers, then the ready queue.
void event_loop::run_once() {
    wait_for_events();
#if AIO_LESSON >= 13
    if (detail::dump_requested()) [[unlikely]] dump_tasks();   // lesson 13: SIGQUIT came
#endif // lesson 13
#if AIO_LESSON >= 12
    if (inbox_->has_mail()) take_threadsafe_calls();
#endif // lesson 12
    move_due_timers_to_ready();
    run_ready();
}
// ANCHOR_END: run_once

// ANCHOR: wait_for_events
// Waits until an fd is ready or the next timer is due — but not at all when something is
// already ready. Ready fds put their callbacks on the ready queue.
void event_loop::wait_for_events() {
    bool must_not_block = !ready_.empty() || stopping_;
#if AIO_LESSON >= 12
    must_not_block = must_not_block || inbox_->has_mail();
    // A thread may answer while we wait: the virtual clock must not jump past its answer.
    const bool only_timers_can_wake = watched_fds_ == 0 && !expecting_threads();
#else
    const bool only_timers_can_wake = watched_fds_ == 0;
#endif // lesson 12
    if (must_not_block && watched_fds_ == 0) return;   // the hot path: no system call at all

    int timeout_ms = -1;                                // no timer: wait for I/O only
    if (must_not_block) {
        timeout_ms = 0;
    } else if (!timers_.empty()) {
        duration wait = timers_.top()->when - time();
        if (wait <= duration::zero()) {
            if (watched_fds_ == 0) return;   // a timer is due and no fd to poll: no system call
            timeout_ms = 0;
        } else if (mode_ == clock_mode::virtual_time && only_timers_can_wake) {
            virtual_now_ = timers_.top()->when;   // nothing else can happen: jump
            return;
        } else {
            // Round up: waking a little early would only spin until the deadline.
            auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
            timeout_ms = ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
        }
    }

    std::array<epoll_event, 64> events;
#if AIO_LESSON >= 13
    if (timeout_ms != 0)
        if (detail::task_observer* o = detail::task_observer::current) [[unlikely]] o->loop_sleeping(*this);
#endif // lesson 13
    const time_point waited_from = clock::now();
    int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return;   // a signal: just go round again
        throw_os_error("epoll_wait");
    }
#if AIO_LESSON >= 13
    if (detail::task_observer* o = detail::task_observer::current) [[unlikely]]
        o->loop_waited(*this, waited_from, clock::now(), n);   // lesson 13: the loop slept
#endif // lesson 13
    if (timeout_ms > 0 && mode_ == clock_mode::virtual_time) {
        // Waiting for real I/O takes real time. If nothing came, jump to the timer we waited
        // for; if something did, let virtual time follow the real time that passed (so an fd
        // that is always ready cannot stop the clock), never beyond that timer.
        const time_point deadline = timers_.top()->when;
        const duration waited = clock::now() - waited_from;
        virtual_now_ = n == 0 ? deadline : std::min(deadline, virtual_now_ + waited);
    }
    for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
#if AIO_LESSON >= 12
        if (fd == inbox_->fd()) continue;   // mail: run_once takes it, right after this
#endif // lesson 12
#if AIO_LESSON >= 9
        // Sticky: an edge-triggered reader hears of the peer's close once, maybe together with
        // the last bytes, and must not then wait for news that will never come.
        if (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) watches_[fd].hung_up = true;
#endif // lesson 09
        // Errors and hang-ups wake both sides, as in Python's selectors: the read or write
        // that follows is what reports them.
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            ready_.emplace_back([this, fd] { run_fd_callback(fd, &fd_watch::reader); });
        if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            ready_.emplace_back([this, fd] { run_fd_callback(fd, &fd_watch::writer); });
    }
}
// ANCHOR_END: wait_for_events

// ANCHOR: move_due_timers_to_ready
void event_loop::move_due_timers_to_ready() {
    if (timers_.empty()) return;   // do not even read the clock
#if AIO_EXERCISE == 1
    throw not_implemented("lesson 01, hole move_due_timers_to_ready: pop every timer whose "
                          "deadline is <= time() from timers_ (earliest first), mark it due, "
                          "count it in due_timers_ and append it to ready_");
#else
    time_point now = time();
    while (!timers_.empty() && timers_.top()->when <= now) {
        detail::timer* t = timers_.pop();
        t->due = true;
        ++due_timers_;
        ready_.emplace_back(t);   // a ticket: the callback stays in the node until it runs
    }
#endif
}

// Runs a timer that fell due, unless it was cancelled since (then the node is recycled, maybe
// already reused by a newer timer: the sequence number tells).
void event_loop::run_due_timer(detail::timer* t, std::uint64_t sequence) {
    if (t->sequence != sequence || !t->due) return;
    callback cb = std::move(t->callback);
    --due_timers_;
    recycle(t);   // before the call: the callback may schedule new timers, or cancel this one
    cb();
}
// ANCHOR_END: move_due_timers_to_ready

// ANCHOR: run_ready
// Runs exactly what was ready when the step began. Callbacks scheduled meanwhile land in the
// (now empty) ready_ and wait for the next step: a callback that reschedules itself can never
// starve timers and I/O.
void event_loop::run_ready() {
#if AIO_EXERCISE == 1
    throw not_implemented("lesson 01, hole run_ready: swap ready_ into now_running_, run each item "
                          "in order, then clear now_running_");
#else
    now_running_.swap(ready_);
    std::size_t i = 0;
    try {
        for (; i < now_running_.size(); ++i) run(now_running_[i]);
    } catch (...) {
        // Keep the callbacks that did not run yet, ahead of anything scheduled since.
        ready_.insert(ready_.begin(), std::make_move_iterator(now_running_.begin() + i + 1),
                      std::make_move_iterator(now_running_.end()));
        now_running_.clear();
        throw;
    }
    now_running_.clear();
#endif
}
// ANCHOR_END: run_ready

#if AIO_LESSON >= 12
// ---- other threads (lesson 12) -----------------------------------------------------------------

// ANCHOR: call_soon_threadsafe
void event_loop::call_soon_threadsafe(callback cb) {
    if (!cb) throw std::invalid_argument("call_soon_threadsafe: empty callback");
    if (!inbox_->post(cb)) throw std::runtime_error("call_soon_threadsafe: the event loop is closed");
}

// Mail goes to the back of the ready queue, in the order it was posted.
void event_loop::take_threadsafe_calls() {
    inbox_->take(mail_);
    for (callback& cb : mail_) ready_.emplace_back(std::move(cb));
    mail_.clear();
}
// ANCHOR_END: call_soon_threadsafe

bool event_loop::expecting_threads() const noexcept { return inbox_->expected > 0; }

thread_pool& event_loop::default_executor() {
    check_thread("default_executor");
    if (!default_executor_) default_executor_ = std::make_unique<thread_pool>();
    return *default_executor_;
}

// asyncio.run's last step: the executor's threads are joined on a thread of their own, while
// the loop runs the calls they still make. The loop waits for that thread's answer as for any
// thread call (expected), so it is not idle until the threads are joined.
void event_loop::shutdown_default_executor() {
    if (running_) throw std::logic_error("shutdown_default_executor: the loop is running");
    if (!default_executor_) return;
    if (default_executor_->workers() == 0) {   // never started a thread: nothing to wait for
        default_executor_.reset();
        return;
    }
    // Shared: if a callback throws out of run_until_idle, the answer may come after we are gone.
    auto joined = std::make_shared<bool>(false);
    thread_pool joiner(1);
    joiner.submit([this, joined] {
        default_executor_->shutdown();
        call_soon_threadsafe([inbox = inbox_.get(), joined] {
            *joined = true;
            --inbox->expected;
        });
    });
    ++inbox_->expected;
    while (!*joined) run_until_idle();   // (again if something called stop())
    default_executor_.reset();
}

keep_alive_token event_loop::keep_alive() {
    check_thread("keep_alive");
    ++inbox_->expected;
    return keep_alive_token(inbox_);
}

keep_alive_token& keep_alive_token::operator=(keep_alive_token&& other) noexcept {
    if (this != &other) {
        release();
        inbox_ = std::move(other.inbox_);
    }
    return *this;
}

// From any thread: the count is the loop's, so it goes down on the loop's thread, by mail (which
// also wakes the loop to see it is idle now). A closed inbox refuses it: no loop to let go.
void keep_alive_token::release() noexcept {
    std::shared_ptr<detail::inbox> inbox = std::move(inbox_);
    if (!inbox) return;
    // Runs on the loop's thread, where the loop holds the inbox: a plain pointer will do.
    std::function<void()> let_go = [box = inbox.get()] { --box->expected; };
    inbox->post(let_go);
}

// asyncio's debug mode refuses a non-thread-safe call from a thread other than the loop's: such
// a call would race with the loop on its unlocked data. We check always, as assert() does: unless
// NDEBUG is defined. (One relaxed atomic load; a loop that is not running may be set up from
// any thread.)
void event_loop::check_thread(const char* caller) const {
#ifndef NDEBUG
    const void* runner = running_thread_.load(std::memory_order_relaxed);
    if (runner != nullptr && runner != &running_loop)
        throw std::logic_error(std::string(caller) + ": called from a thread that is not the "
                               "event loop's (use call_soon_threadsafe)");
#else
    (void)caller;
#endif
}
#endif // lesson 12

} // namespace aio
