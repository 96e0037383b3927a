// aio/net/detail/read_interest.hpp — lesson 09: a stream's fd stays registered for reading.
//
// Lesson 08's fd_wait registers the fd with epoll when a read has to wait and removes it when the
// wait is over: epoll_ctl ADD, then DEL, for every request a keep-alive server answers. perf
// showed those two system calls taking a quarter of the server's CPU time. A read_interest keeps
// the registration from the first read that waits until the stream closes, and remembers which
// read (if any) is waiting, so that a read that waits costs no system call at all.
//
// The registration is edge-triggered (add_edge_reader): epoll says "something new came" once,
// where level-triggered it would report the fd at every step until its bytes are read (and
// polling each reported fd again costs the kernel time at every epoll_wait). What the edge said
// must not be lost, so a read_interest carries one bit, `ready`: the socket may hold something
// not read yet.
//  * An edge sets it (and resumes the waiting read, if any, at once, inside the loop's callback).
//  * A recv that finds the socket empty clears it: EAGAIN (drained()), or fewer bytes than it
//    asked for (short_read(): the kernel gives all it has).
//  * A read waits only when it is clear; otherwise it asks recv first.
// One trap, and the reason for the loop's hung_up(): when the peer's last bytes and its close
// arrive in the same edge, the short recv that takes the bytes has not seen the end yet, and no
// new edge will come for it. So once epoll has reported a hang-up, `ready` stays set: every read
// asks recv, which returns the end (0) or the error. (Tokio keeps "closed" readiness for the same
// reason.)
//
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

    /// The socket may hold bytes, or its end, not read yet: recv before waiting.
    bool ready() const noexcept { return ready_; }
    /// recv said EAGAIN: the socket is empty, the next read waits for an edge.
    void drained() noexcept { ready_ = false; }
    /// recv returned less than it asked for: it took all there was, so the next read waits for
    /// an edge, unless the peer's close came with those bytes (the loop's hung_up), which no
    /// edge will announce again.
    void short_read() noexcept {
        if (loop_ == nullptr || loop_alive_.expired() || !loop_->hung_up(fd_)) ready_ = false;
    }
    /// Suspends until something arrives on `fd`; registers the fd with the running loop the
    /// first time.
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
    bool ready_ = true;                // unknown at first: ask recv
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
        loop.add_edge_reader(fd, [this] { on_readable(); });
        loop_ = &loop;
        loop_alive_ = loop.liveness();
        fd_ = fd;
    }
    waiting_ = reader;
}

inline void read_interest::on_readable() noexcept {
    ready_ = true;   // remembered for the next read if nobody waits now
    if (awaiter* reader = std::exchange(waiting_, nullptr))
        reader->resume_now(reader->waiting_);   // may close or destroy us: touch nothing after
}

inline void read_interest::stop() noexcept {
    if (loop_ != nullptr && !loop_alive_.expired()) loop_->remove_reader(fd_);
    loop_ = nullptr;
    fd_ = -1;
}

} // namespace aio::detail
