// Lesson 11: every suspension point of the runtime is cancellable, and leaves nothing behind. The
// hole table is in timeout_test.cpp.
//
// One table, one row per place where a task can be suspended: sleep, the stream's read and write,
// connect, accept, the queue's get, put and join, lock, semaphore, condition and event waits,
// awaiting a task, gather, a generator's next(), an async_with's aexit, an HTTP request, and
// lesson 11's own: a timeout block, wait_for, shield, a task group's block and its aexit. Each row
// sets up its resource and gives the coroutine that waits there; the test runs it as a task until
// it is suspended at that point, cancels it, awaits it, and checks that
//  * it ended cancelled, at that point (a doctest SUBCASE names the row in any failure);
//  * no timer is left on the loop, the fds are back to what they were, no frame is alive at the
//    end (no_leaks); where an await says cancel() undoes its timer or fd registration at once
//    (sleep, the fd waits), that is checked right after cancel(), before any destructor could;
//  * the primitive works as if the wait had never been: a lock is free for the next task at once,
//    the queue's next put goes to the next getter, the connection limit of a session is not held,
//    a socket can be waited on again (nothing of the cancelled wait is registered with the loop).
// The accept loop is the server's own task, cancelled by server::close(): its test follows the
// table's. Rows with sockets use real ones on 127.0.0.1 and the real clock (a few ms each); the others the
// virtual clock.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/fds.hpp"
#include "support/no_leaks.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

using namespace std::chrono_literals;

namespace {

constexpr aio::clock_mode virtual_time = aio::clock_mode::virtual_time;
constexpr aio::clock_mode real_time = aio::clock_mode::real;

// ---- helpers --------------------------------------------------------------------------------------

// Lets every other ready coroutine take `n` steps.
aio::coroutine<> steps(int n) {
    for (int i = 0; i < n; ++i) co_await aio::sleep(0s);
}

// Lets the loop run up to `n` steps for `t` to finish; true if it did. (Rather than awaiting it:
// a row whose wake-up is lost fails, and the other rows still run. aio::run abandons the task.)
template <typename T>
aio::coroutine<bool> finishes_within(aio::task<T> t, int n) {
    for (int i = 0; i < n && !t.done(); ++i) co_await aio::sleep(0s);
    co_return t.done();
}

aio::coroutine<> sleep_for(aio::duration d) { co_await aio::sleep(d); }
aio::coroutine<> nothing() { co_return; }
aio::coroutine<> wait_event(aio::event* ev) { co_await ev->wait(); }
aio::coroutine<int> get_one(aio::queue<int>* q) {
    int v = co_await q->get();
    co_return v;
}
aio::coroutine<> put_one(aio::queue<int>* q, int v) { co_await q->put(v); }
aio::coroutine<int> answer_when_set(aio::event* go) {
    co_await go->wait();
    co_return 42;
}
aio::coroutine<> notified(aio::condition* c) {
    auto wait = [c] { return c->wait(); };
    co_await aio::async_with(*c, wait);
}
aio::async_generator<int> ticking() {
    for (int i = 0;; ++i) {
        co_await aio::sleep(1h);
        co_yield i;
    }
}

// The number the next socket() will get: the lowest free one (POSIX). A row checks it was right
// before it relies on it.
int next_fd() {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::close(fd);
    return fd;
}

// The port of the peer `fd` is connected to, or (`local`) its own; 0 if it is not a socket that
// has one.
std::uint16_t port_of(int fd, bool local = false) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    const int rc = local ? ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len)
                         : ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return rc == 0 ? ntohs(a.sin_port) : 0;
}

// A socket listening on 127.0.0.1 that nobody accepts from: connections wait in its backlog.
class listener {
public:
    listener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 16) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("listener: cannot listen on 127.0.0.1");
        port_ = ntohs(a.sin_port);
    }
    ~listener() { ::close(fd_); }
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;
    int fd() const { return fd_; }
    std::uint16_t port() const { return port_; }

private:
    int fd_;
    std::uint16_t port_ = 0;
};

// ---- the table ----------------------------------------------------------------------------------

// One suspension point: how to bring a task there, and how to show afterwards that what it waited
// on was left as it should be.
class point {
public:
    virtual ~point() = default;
    // Sets up the resource (a server, a lock held...) before anything is counted.
    virtual aio::coroutine<> prepare() { co_return; }
    // The task's coroutine: sets `arrived` just before the await at the point, `passed` after it.
    virtual aio::coroutine<> suspend() = 0;
    // Runs the loop until the task waits at the point.
    virtual aio::coroutine<> reach() { co_await steps(3); }
    // Right after cancel(), before the task runs again: what the await undoes at once (a timer,
    // an fd's registration), where it says it does.
    virtual void just_cancelled() {}
    // After the cancellation: the primitive still works, and nothing of the wait is left in it.
    virtual aio::coroutine<> still_works() { co_return; }
    // Fds the row expects still open after the cancellation, besides those open before the task.
    virtual int fds_kept() const { return 0; }

    bool arrived = false;
    bool passed = false;
};

class at_sleep final : public point {
    aio::coroutine<> suspend() override {
        arrived = true;
        co_await aio::sleep(1h);
        passed = true;
    }
    void just_cancelled() override {
        CHECK_MESSAGE(aio::get_running_loop().scheduled_timers() == 0, "cancel() left the timer for later");
    }
    aio::coroutine<> still_works() override {
        const aio::time_point start = aio::get_running_loop().time();
        co_await aio::sleep(5s);
        CHECK(aio::get_running_loop().time() - start == 5s);   // no earlier timer in the way
    }
};

// sleep(0) has no timer: the task is already scheduled to run when the cancel comes.
class at_yield final : public point {
    aio::coroutine<> suspend() override {
        arrived = true;
        co_await aio::sleep(0s);
        passed = true;
    }
    aio::coroutine<> reach() override { co_await steps(1); }
};

class at_event_wait final : public point {
    aio::coroutine<> suspend() override {
        arrived = true;
        co_await ev_.wait();
        passed = true;
    }
    aio::coroutine<> still_works() override {
        aio::task<> next = aio::create_task(wait_event(&ev_));
        co_await steps(1);
        ev_.set();
        bool woken = co_await finishes_within(next, 3);
        CHECK_MESSAGE(woken, "set() did not wake the next waiter");
    }
    aio::event ev_;
};

class at_lock_acquire final : public point {
    aio::coroutine<> prepare() override { co_await lk_.acquire(); }
    aio::coroutine<> suspend() override {
        arrived = true;
        co_await lk_.acquire();
        passed = true;
        lk_.release();
    }
    aio::coroutine<> still_works() override {
        CHECK(lk_.locked());   // still ours
        lk_.release();
        auto next = lk_.acquire();
        const bool at_once = next.await_ready();   // nobody queued: a newcomer takes it
        CHECK_MESSAGE(at_once, "the lock is free, but a newcomer must queue behind the cancelled waiter");
        if (at_once) {
            next.await_resume();
            lk_.release();
        }
        co_return;
    }
    aio::lock lk_;
};

class at_semaphore_acquire final : public point {
    aio::coroutine<> suspend() override {
        arrived = true;
        co_await slots_.acquire();
        passed = true;
    }
    aio::coroutine<> still_works() override {
        CHECK(slots_.value() == 0);
        slots_.release();
        CHECK(slots_.value() == 1);   // no slot reserved for the cancelled waiter
        CHECK_FALSE(slots_.locked());
        auto next = slots_.acquire();
        const bool at_once = next.await_ready();
        CHECK(at_once);
        if (at_once) next.await_resume();
        co_return;
    }
    aio::semaphore slots_{0};
};

class at_condition_wait final : public point {
    aio::coroutine<> suspend() override {
        auto body = [this] { return wait_notified(); };
        co_await aio::async_with(cond_, body);
        passed = true;
    }
    aio::coroutine<> wait_notified() {
        arrived = true;
        co_await cond_.wait();
    }
    aio::coroutine<> still_works() override {
        CHECK_FALSE(cond_.locked());   // wait() took the lock again, and async_with gave it back
        aio::task<> next = aio::create_task(notified(&cond_));
        co_await steps(2);
        co_await cond_.acquire();
        cond_.notify(1);   // the one notification goes to the live waiter
        cond_.release();
        bool woken = co_await finishes_within(next, 4);
        CHECK_MESSAGE(woken, "notify(1) did not wake the next waiter");
    }
    aio::condition cond_;
};

class at_queue_get final : public point {
    aio::coroutine<> suspend() override {
        arrived = true;
        int v = co_await q_.get();
        passed = true;
        (void)v;
    }
    aio::coroutine<> still_works() override {
        aio::task<int> next = aio::create_task(get_one(&q_));
        co_await steps(1);
        q_.put_nowait(7);
        bool got = co_await finishes_within(next, 3);
        CHECK_MESSAGE(got, "the next put did not reach the next getter");
        if (got) CHECK(next.result() == 7);
        CHECK(q_.empty());
    }
    aio::queue<int> q_;
};

class at_queue_put final : public point {
    aio::coroutine<> prepare() override {
        q_.put_nowait(1);
        co_return;
    }
    aio::coroutine<> suspend() override {
        arrived = true;
        co_await q_.put(2);
        passed = true;
    }
    aio::coroutine<> still_works() override {
        CHECK(q_.qsize() == 1);   // the cancelled put put nothing
        aio::task<> next = aio::create_task(put_one(&q_, 3));
        co_await steps(1);
        CHECK(q_.get_nowait() == 1);   // frees the slot for the next putter
        bool put = co_await finishes_within(next, 3);
        CHECK_MESSAGE(put, "a get did not let the next putter in");
        CHECK(q_.qsize() == 1);
        if (q_.qsize() == 1) CHECK(q_.get_nowait() == 3);
    }
    aio::queue<int> q_{1};
};

class at_queue_join final : public point {
    aio::coroutine<> prepare() override {
        q_.put_nowait(1);
        co_return;
    }
    aio::coroutine<> suspend() override {
        arrived = true;
        co_await q_.join();
        passed = true;
    }
    aio::coroutine<> still_works() override {
        aio::task<> next = aio::create_task(join(&q_));
        co_await steps(1);
        CHECK(q_.get_nowait() == 1);
        q_.task_done();
        bool joined = co_await finishes_within(next, 3);
        CHECK(joined);
    }
    static aio::coroutine<> join(aio::queue<int>* q) { co_await q->join(); }
    aio::queue<int> q_;
};

class at_task_await final : public point {
    aio::coroutine<> suspend() override {
        inner_ = aio::create_task(sleep_for(1h));
        arrived = true;
        co_await inner_;
        passed = true;
    }
    aio::coroutine<> still_works() override {
        CHECK(inner_.cancelled());   // the cancellation went on to the task awaited (asyncio's rule)
        co_return;
    }
    aio::task<> inner_;
};

class at_gather final : public point {
    aio::coroutine<> suspend() override {
        a_ = aio::create_task(sleep_for(1h));
        b_ = aio::create_task(sleep_for(2h));
        arrived = true;
        co_await aio::gather(a_, b_);
        passed = true;
    }
    aio::coroutine<> still_works() override {
        CHECK(a_.cancelled());
        CHECK(b_.cancelled());
        co_return;
    }
    aio::task<> a_, b_;
};

class at_generator_next final : public point {
    aio::coroutine<> suspend() override {
        gen_ = ticking();
        arrived = true;
        std::optional<int> tick = co_await gen_.next();   // the body sleeps inside next()
        passed = true;
        (void)tick;
    }
    aio::coroutine<> still_works() override {
        std::optional<int> after = co_await gen_.next();   // the cancellation ended the body
        CHECK_FALSE(after.has_value());
    }
    aio::async_generator<int> gen_;
};

class at_async_with_exit final : public point {
    class slow_exit {
    public:
        explicit slow_exit(point& p) : p_(p) {}
        aio::coroutine<> aenter() { co_return; }
        aio::coroutine<bool> aexit(std::exception_ptr) {
            p_.arrived = true;
            co_await aio::sleep(1h);   // a close that takes a round trip
            p_.passed = true;
            co_return false;
        }

    private:
        point& p_;
    };

    aio::coroutine<> suspend() override {
        auto body = [] { return nothing(); };
        co_await aio::async_with(manager_, body);
    }
    slow_exit manager_{*this};
};

class at_timeout_block final : public point {
    aio::coroutine<> suspend() override {
        deadline_.emplace(aio::duration(1h));
        auto body = [this] { return marked_sleep(); };
        co_await aio::async_with(*deadline_, body);
        passed = true;
    }
    aio::coroutine<> marked_sleep() {
        arrived = true;
        co_await aio::sleep(2h);
    }
    aio::coroutine<> still_works() override {
        CHECK_FALSE(deadline_->expired());   // a cancel() from outside is not a timeout
        co_return;
    }
    std::optional<aio::timeout> deadline_;
};

class at_wait_for final : public point {
    aio::coroutine<> suspend() override {
        arrived = true;
        co_await aio::wait_for(sleep_for(2h), 1h);
        passed = true;
    }
};

class at_wait_for_task final : public point {
    aio::coroutine<> suspend() override {
        inner_ = aio::create_task(sleep_for(2h));
        arrived = true;
        co_await aio::wait_for(inner_, 1h);
        passed = true;
    }
    aio::coroutine<> still_works() override {
        CHECK(inner_.cancelled());
        co_return;
    }
    aio::task<> inner_;
};

class at_shield final : public point {
    aio::coroutine<> suspend() override {
        inner_ = aio::create_task(answer_when_set(&go_));
        arrived = true;
        int v = co_await aio::shield(inner_);
        passed = true;
        (void)v;
    }
    aio::coroutine<> still_works() override {
        CHECK_FALSE(inner_.done());   // the shielded work goes on...
        go_.set();
        int v = co_await inner_;      // ...and ends normally
        CHECK(v == 42);
    }
    aio::event go_;
    aio::task<int> inner_;
};

class at_task_group_block final : public point {
    aio::coroutine<> suspend() override {
        auto body = [this] { return start_and_sleep(); };
        co_await aio::async_with(group_, body);
        passed = true;
    }
    aio::coroutine<> start_and_sleep() {
        child_ = group_.create_task(sleep_for(1h));
        arrived = true;
        co_await aio::sleep(2h);
    }
    aio::coroutine<> still_works() override {
        CHECK(child_.cancelled());
        co_return;
    }
    aio::task_group group_;
    aio::task<> child_;
};

// The block has ended; aexit waits for the children.
class at_task_group_exit final : public point {
    aio::coroutine<> suspend() override {
        auto body = [this] { return start_children(); };
        co_await aio::async_with(group_, body);
        passed = true;
    }
    aio::coroutine<> start_children() {
        a_ = group_.create_task(sleep_for(1h));
        b_ = group_.create_task(sleep_for(2h));
        arrived = true;
        co_return;
    }
    aio::coroutine<> still_works() override {
        CHECK(a_.cancelled());
        CHECK(b_.cancelled());
        co_return;
    }
    aio::task_group group_;
    aio::task<> a_, b_;
};

// Two ends of a TCP connection on 127.0.0.1: `near` from open_connection, `far` from start_server.
class tcp_point : public point {
protected:
    aio::coroutine<> prepare() override {
        aio::server::handler on_connection = [this](aio::stream s) { return take(std::move(s)); };
        aio::server server = co_await aio::start_server(on_connection, "127.0.0.1", 0);
        aio::stream connected = co_await aio::open_connection("127.0.0.1", server.port());
        near_ = std::move(connected);
        co_await accepted_.wait();
        server.close();
    }
    aio::coroutine<> take(aio::stream s) {
        far_ = std::move(s);
        accepted_.set();
        co_return;
    }
    aio::stream near_, far_;
    aio::event accepted_;
};

class at_read final : public tcp_point {
    aio::coroutine<> suspend() override {
        arrived = true;
        std::string got = co_await near_.read();
        passed = true;
    }
    aio::coroutine<> still_works() override {
        co_await far_.write("late\n");
        std::string got = co_await near_.read();   // the stream reads again
        CHECK(got == "late\n");
    }
};

class at_write final : public tcp_point {
    // Small socket buffers: a 1 MiB write fills them at once, and they drain fast afterwards.
    aio::coroutine<> prepare() override {
        co_await tcp_point::prepare();
        const int size = 32 * 1024;
        ::setsockopt(near_.fd(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        ::setsockopt(far_.fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    aio::coroutine<> suspend() override {
        arrived = true;
        co_await near_.write(std::string(1024 * 1024, 'z'));   // far more than the buffers
        passed = true;
    }
    void just_cancelled() override {
        CHECK_FALSE(aio::get_running_loop().remove_writer(near_.fd()));   // unregistered at once
    }
    aio::coroutine<> still_works() override {
        CHECK_FALSE(aio::get_running_loop().remove_writer(near_.fd()));   // no writer left
        aio::task<std::string> reader = aio::create_task(far_.read_until("x", 16 * 1024 * 1024));
        co_await near_.write("x");   // the stream writes again, once the reader makes room
        std::string got = co_await reader;
        CHECK(got.back() == 'x');
    }
};

class at_connect final : public point {
    aio::coroutine<> suspend() override {
        socket_ = next_fd();
        arrived = true;
        aio::stream s = co_await aio::open_connection("127.0.0.1", listening_.port());
        passed = true;
    }
    void just_cancelled() override {
        CHECK_FALSE(aio::get_running_loop().remove_writer(socket_));   // unregistered at once
    }
    // One step: the connect is under way (EINPROGRESS) and its writability not yet seen.
    aio::coroutine<> reach() override {
        co_await steps(1);
        CHECK_MESSAGE(port_of(socket_) == listening_.port(), "the connecting socket is not fd " << socket_);
    }
    aio::coroutine<> still_works() override {
        CHECK_FALSE(aio::get_running_loop().remove_writer(socket_));   // no writer left
        aio::stream s = co_await aio::open_connection("127.0.0.1", listening_.port());
        CHECK(s.fd() == socket_);   // the same number, registered again without complaint
    }
    listener listening_;
    int socket_ = -1;
};

// The wait of the server's accept loop (aio::detail::fd_wait on the listening socket). The loop
// itself is the server's own task, cancelled by server::close(): see the test after the table.
class at_accept final : public point {
    aio::coroutine<> suspend() override {
        arrived = true;
        co_await aio::detail::fd_wait(listening_.fd(), aio::detail::fd_wait::readable);
        passed = true;
    }
    void just_cancelled() override {
        CHECK_FALSE(aio::get_running_loop().remove_reader(listening_.fd()));   // unregistered at once
    }
    aio::coroutine<> still_works() override {
        CHECK_FALSE(aio::get_running_loop().remove_reader(listening_.fd()));   // no reader left
        co_return;
    }
    listener listening_;
};

class at_http_request final : public point {
    aio::coroutine<> prepare() override {
        aio::http::handler on_request = [this](aio::http::request&& r) { return answer_later(std::move(r)); };
        aio::server serving = co_await aio::http::serve(on_request, "127.0.0.1", 0);
        server_ = std::move(serving);
        url_ = "http://127.0.0.1:" + std::to_string(server_.port()) + "/";
    }
    aio::coroutine<aio::http::response> answer_later(aio::http::request) {
        asked_ = true;
        co_await answer_.wait();
        aio::http::response r;
        r.body = "late\n";
        co_return r;
    }
    aio::coroutine<> suspend() override {
        arrived = true;
        aio::http::response r = co_await session_.get(url_);
        passed = true;
    }
    // Until the server has the request: the client then waits for the answer.
    aio::coroutine<> reach() override {
        for (int i = 0; i < 200 && !asked_; ++i) co_await aio::sleep(1ms);
        CHECK(asked_);
    }
    // The server's end of the connection: its handler still waits.
    int fds_kept() const override { return 1; }
    aio::coroutine<> still_works() override {
        CHECK(session_.idle_connections() == 0);   // a connection cut mid-answer is not kept
        answer_.set();
        // One connection at most: a slot the cancelled request kept would make this one wait
        // until the session's timeout.
        aio::http::response r = co_await session_.get(url_);
        CHECK(r.status == 200);
        CHECK(r.body == "late\n");
        session_.close();
        server_.close();
    }
    static aio::http::client_options one_connection() {
        aio::http::client_options o;
        o.limit = 1;
        o.timeout = 2s;
        return o;
    }

    aio::server server_;
    std::string url_;
    bool asked_ = false;
    aio::event answer_;
    aio::http::client_session session_{one_connection()};
};

struct row {
    const char* name;
    aio::clock_mode clock;
    std::unique_ptr<point> (*make)();
};

template <typename P>
std::unique_ptr<point> make() {
    return std::make_unique<P>();
}

const row rows[] = {
    {"sleep", virtual_time, make<at_sleep>},
    {"sleep(0)", virtual_time, make<at_yield>},
    {"stream read", real_time, make<at_read>},
    {"stream write", real_time, make<at_write>},
    {"connect", real_time, make<at_connect>},
    {"accept", real_time, make<at_accept>},
    {"queue get", virtual_time, make<at_queue_get>},
    {"queue put", virtual_time, make<at_queue_put>},
    {"queue join", virtual_time, make<at_queue_join>},
    {"lock acquire", virtual_time, make<at_lock_acquire>},
    {"semaphore acquire", virtual_time, make<at_semaphore_acquire>},
    {"condition wait", virtual_time, make<at_condition_wait>},
    {"event wait", virtual_time, make<at_event_wait>},
    {"task await", virtual_time, make<at_task_await>},
    {"gather", virtual_time, make<at_gather>},
    {"generator next", virtual_time, make<at_generator_next>},
    {"async_with's aexit", virtual_time, make<at_async_with_exit>},
    {"HTTP request", real_time, make<at_http_request>},
    {"timeout block", virtual_time, make<at_timeout_block>},
    {"wait_for a coroutine", virtual_time, make<at_wait_for>},
    {"wait_for a task", virtual_time, make<at_wait_for_task>},
    {"shield", virtual_time, make<at_shield>},
    {"task_group block", virtual_time, make<at_task_group_block>},
    {"task_group's aexit", virtual_time, make<at_task_group_exit>},
};

// Brings a task to the row's point, cancels it there, and checks what it left.
aio::coroutine<> cancel_there(const row* r) {
    std::unique_ptr<point> p = r->make();
    co_await p->prepare();
    aio::event_loop& loop = aio::get_running_loop();
    const std::size_t timers = loop.scheduled_timers();
    const int fds = open_fd_count();
    aio::task<> waiting = aio::create_task(p->suspend());
    co_await p->reach();
    CHECK_MESSAGE(p->arrived, "the task never got to the point");
    CHECK_MESSAGE(!p->passed, "the task went past the point before the cancel");
    CHECK_MESSAGE(!waiting.done(), "the task finished before the cancel");
    CHECK(waiting.cancel());
    p->just_cancelled();
    // A cancellation takes a few steps to unwind. Bounded: a lost wake-up fails the row, and
    // the other rows still run.
    const bool finished = co_await finishes_within(waiting, 50);
    if (!finished) {
        FAIL_CHECK("the cancelled task did not finish");
        co_return;
    }
    std::string ending = "returned";
    try {
        co_await waiting;
    } catch (const aio::cancelled_error&) {
        ending = "cancelled";
    } catch (const std::exception& e) {
        ending = std::string("threw: ") + e.what();
    }
    CHECK(ending == "cancelled");
    CHECK(waiting.cancelled());
    CHECK_MESSAGE(!p->passed, "the await let the task through instead of throwing cancelled_error");
    CHECK_MESSAGE(loop.scheduled_timers() == timers, "a timer was left on the loop");
    CHECK_MESSAGE(open_fd_count() == fds + p->fds_kept(), "an fd was left open");
    co_await p->still_works();
}

} // namespace

TEST_CASE("cancel_anywhere: a task cancelled at any await of the runtime ends cancelled there, and "
          "leaves no timer, fd, frame or waiter behind; what it waited on works on") {
    for (const row& r : rows) {
        SUBCASE(r.name) {
            no_leaks check;
            const int fds = open_fd_count();
            try {
                aio::run(cancel_there(&r), r.clock);
            } catch (const std::exception& e) {
                FAIL_CHECK("aio::run threw: " << e.what());
            }
            CHECK(open_fd_count() == fds);
        }
    }
}

TEST_CASE("cancel_anywhere: server::close() cancels the accept loop where it waits: its frame, its "
          "registration and its socket go at once") {
    no_leaks check;
    const int before = open_fd_count();
    auto main = []() -> aio::coroutine<> {
        aio::event_loop& loop = aio::get_running_loop();
        const std::size_t frames = aio::detail::live_frames;
        const int listening = next_fd();
        aio::server::handler ignore = [](aio::stream) { return nothing(); };
        aio::server server = co_await aio::start_server(ignore, "127.0.0.1", 0);
        const std::uint16_t port = server.port();
        co_await steps(2);   // the accept loop waits for a connection
        CHECK(port_of(listening, true) == port);         // it listens on the fd we think
        CHECK(aio::detail::live_frames == frames + 1);   // the accept loop
        server.close();
        CHECK_FALSE(loop.remove_reader(listening));   // no reader left on its fd...
        co_await steps(2);
        CHECK(aio::detail::live_frames == frames);   // ...and its frame is gone
        CHECK(loop.scheduled_timers() == 0);
        bool refused = false;
        try {
            aio::stream s = co_await aio::open_connection("127.0.0.1", port);
        } catch (const std::system_error& e) {
            refused = e.code() == std::errc::connection_refused;
        }
        CHECK(refused);
    };
    aio::run(main());
    CHECK(open_fd_count() == before);
}
