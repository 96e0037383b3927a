// aio/detail/read_interest.hpp — lesson 09: a stream's fd stays registered for reading.
//
// Lesson 08's fd_wait registers the fd with epoll when a read has to wait and removes it when the
// wait is over: epoll_ctl ADD, then DEL, for every request a keep-alive server answers. perf
// showed those two system calls taking a quarter of the server's CPU time. A read_interest keeps
// the registration from the first read that waits until the stream closes, and remembers which
// read (if any) is waiting, so that a read that waits costs no system call at all.
//
// epoll here is level-triggered, as asyncio's selectors: an fd with unread bytes is reported at
// every step. Two consequences:
//  * The waiting read is resumed at once, inside the loop's callback, not in the next step: it
//    takes the bytes before the next epoll_wait, which would otherwise report them a second time
//    (asyncio's transports read inside the callback for the same reason).
//  * An fd reported while no read waits is removed, or it would wake the loop at every step;
//    the next read that waits registers it again.
// The stream removes the interest before it closes the fd (remove first, close after: a closed
// fd's number is soon another file's). The loop may be gone by then, when a stream outlives the
// aio::run it was read in; the loop's liveness token says so.
#pragma once

#include "aio/event_loop.hpp"
#include "aio/task.hpp"

#include <coroutine>
#include <memory>

namespace aio::detail {

class read_interest {
public:
    class awaiter;

    read_interest() = default;
    read_interest(const read_interest&) = delete;   // the loop's callback points at this object
    read_interest& operator=(const read_interest&) = delete;
    ~read_interest() { stop(); }

    /// Suspends until `fd` is readable; registers the fd with the running loop the first time.
    awaiter wait(int fd) noexcept;
    /// Removes the registration (if any): call it before closing the fd.
    void stop() noexcept;

private:
    void start(awaiter* reader, int fd);
    void on_readable() noexcept;

    event_loop* loop_ = nullptr;       // where the fd is registered (null: nowhere)
    std::weak_ptr<const void> loop_alive_;
    int fd_ = -1;
    awaiter* waiting_ = nullptr;       // the read suspended now, if any
};

class read_interest::awaiter final : public cancellable_await {
public:
    awaiter(read_interest& interest, int fd) noexcept : interest_(interest), fd_(fd) {}
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;
    ~awaiter() {
        if (interest_.waiting_ == this) interest_.waiting_ = nullptr;   // abandoned while waiting
    }

    bool await_ready() const noexcept { return false; }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiting) {
        if (!begin_wait(task_of(waiting))) return false;
        waiting_ = waiting;
        loop_ = &get_running_loop();
        interest_.start(this, fd_);
        return true;
    }

    void await_resume() { end_wait(); }

private:
    friend class read_interest;
    void cancel() noexcept override {
        interest_.waiting_ = nullptr;   // the registration stays: the next read will want it
        loop_->call_soon(waiting_);
    }

    read_interest& interest_;
    int fd_;
    event_loop* loop_ = nullptr;
    std::coroutine_handle<> waiting_;
};

inline read_interest::awaiter read_interest::wait(int fd) noexcept { return awaiter(*this, fd); }

inline void read_interest::start(awaiter* reader, int fd) {
    event_loop& loop = get_running_loop();
    // (A new loop may sit where a dead one was: the token tells them apart.)
    if (loop_ != &loop || fd_ != fd || loop_alive_.expired()) {
        stop();
        loop.add_reader(fd, [this] { on_readable(); });
        loop_ = &loop;
        loop_alive_ = loop.liveness();
        fd_ = fd;
    }
    waiting_ = reader;
}

inline void read_interest::on_readable() noexcept {
    if (awaiter* reader = std::exchange(waiting_, nullptr))
        reader->resume_now(reader->waiting_);   // may close or destroy us: touch nothing after
    else
        stop();   // nobody reads this fd now: stop hearing about it at every step
}

inline void read_interest::stop() noexcept {
    if (loop_ != nullptr && !loop_alive_.expired()) loop_->remove_reader(fd_);
    loop_ = nullptr;
    fd_ = -1;
}

} // namespace aio::detail
