// aio/net/stream.cpp — lesson 08: streams, open_connection and start_server (see net/stream.hpp).
#include "aio/net/stream.hpp"
#include "aio/not_implemented.hpp"
#include "aio/sleep.hpp"
#if AIO_LESSON >= 11
#include "aio/detail/current_task.hpp"
#include "aio/timeout.hpp"
#endif // lesson 11
#if AIO_LESSON >= 12
#include "aio/net/getaddrinfo.hpp"
#endif // lesson 12

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>

namespace aio {

namespace {

[[noreturn]] void throw_os_error(int error, const std::string& what) {
    throw std::system_error(error, std::system_category(), what);
}

// Sets a flag for the duration of a read or write: a second concurrent one is an error.
class busy_flag {
public:
    busy_flag(bool& flag, const char* what) : flag_(flag) {
        if (flag_)
            throw std::logic_error(std::string("stream::") + what +
                                   ": another coroutine is already doing that on this stream");
        flag_ = true;
    }
    ~busy_flag() { flag_ = false; }
    busy_flag(const busy_flag&) = delete;
    busy_flag& operator=(const busy_flag&) = delete;

private:
    bool& flag_;
};

// An address to connect to or listen on. IP literals and "localhost" need no lookup; any other
// name goes through getaddrinfo, which blocks the loop while it asks DNS (lesson 12 fixes that).
struct address {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family() const { return storage.ss_family; }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

address resolve(const std::string& host, std::uint16_t port) {
    address a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    const std::string name = host == "localhost" ? "127.0.0.1" : host;
    if (::inet_pton(AF_INET, name.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.length = sizeof(sockaddr_in);
        return a;
    }
    if (::inet_pton(AF_INET6, name.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.length = sizeof(sockaddr_in6);
        return a;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &found); rc != 0)
        throw std::runtime_error("cannot resolve '" + host + "': " + ::gai_strerror(rc));
    std::memcpy(&a.storage, found->ai_addr, found->ai_addrlen);
    a.length = found->ai_addrlen;
    ::freeaddrinfo(found);
    if (a.family() == AF_INET) v4->sin_port = htons(port);
    else v6->sin6_port = htons(port);
    return a;
}

#if AIO_LESSON >= 12
// Lesson 12: the name's first address, looked up on a thread (getaddrinfo.hpp) unless it is a
// literal or "localhost"; resolve() then only turns the numeric answer into a sockaddr.
coroutine<address> lookup(std::string host, std::uint16_t port) {
    std::vector<address_info> found = co_await getaddrinfo(std::move(host), port);
    co_return resolve(found.front().host, port);
}
#endif // lesson 12

std::string where(const std::string& host, std::uint16_t port) {
    return host + ":" + std::to_string(port);
}

int new_socket(int family) {
    int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_os_error(errno, "socket");
    return fd;
}

void no_delay(int fd) {
    int one = 1;   // as asyncio: small writes (a request, a reply) leave at once
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

} // namespace

incomplete_read_error::incomplete_read_error(std::string partial_bytes, std::size_t expected_bytes,
                                             const char* call)
    : std::runtime_error(std::string(call) + ": the stream ended after " + std::to_string(partial_bytes.size()) +
                         " of " + std::to_string(expected_bytes) + " bytes"),
      partial(std::move(partial_bytes)), expected(expected_bytes) {}

// ---- waiting for an fd -------------------------------------------------------------------------

namespace detail {

// ANCHOR: start_watching
void fd_wait::start_watching() {
#if AIO_EXERCISE == 8
    throw not_implemented("lesson 08, hole start_watching: add a reader (or writer) for fd_ "
                          "whose callback unregisters and calls resume_soon; remember that "
                          "you are registered");
#else
    auto ready = [this] {
        unregister();   // level-triggered: stop watching before anything else
        resume_soon(*loop_, waiting_);
    };
    if (direction_ == readable)
        loop_->add_reader(fd_, ready);
    else
        loop_->add_writer(fd_, ready);
    registered_ = true;
#endif
}
// ANCHOR_END: start_watching

void fd_wait::unregister() noexcept {
    if (!registered_) return;
    registered_ = false;
    if (direction_ == readable)
        loop_->remove_reader(fd_);
    else
        loop_->remove_writer(fd_);
}

void fd_wait::cancel() noexcept {
    unregister();
    loop_->call_soon(waiting_);
}

} // namespace detail

// ---- stream --------------------------------------------------------------------------------------

stream::stream(int fd) : fd_(fd) {
    if (fd < 0) throw std::invalid_argument("stream: invalid fd " + std::to_string(fd));
    // A blocking fd would freeze the whole loop at its first read.
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || (!(flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)) {
        int error = errno;
        fd_ = -1;   // not ours after all: the caller still owns it
        throw_os_error(error, "stream: fcntl(fd " + std::to_string(fd) + ")");
    }
}

stream::stream(stream&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {
#if AIO_LESSON >= 9
    other.read_interest_.stop();   // the loop's callback knows `other`; we register anew
#endif // lesson 09
#if AIO_LESSON >= 11
    read_timeout_ = other.read_timeout_;
#endif // lesson 11
}

stream& stream::operator=(stream&& other) noexcept {
    if (this != &other) {
        close();
#if AIO_LESSON >= 9
        other.read_interest_.stop();
#endif // lesson 09
        fd_ = std::exchange(other.fd_, -1);
        buffer_ = std::move(other.buffer_);
#if AIO_LESSON >= 11
        read_timeout_ = other.read_timeout_;
#endif // lesson 11
    }
    return *this;
}

void stream::close() noexcept {
#if AIO_LESSON >= 9
    read_interest_.stop();   // remove first, close after
#endif // lesson 09
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    buffer_.clear();
}

void stream::check_open(const char* what) const {
    if (fd_ < 0) throw std::logic_error(std::string("stream::") + what + ": the stream is closed");
}

// ANCHOR: fill_buffer
#if AIO_LESSON >= 9
// Appends what the socket has to buffer_, waiting until it has something.
//
// Lesson 09: when the last recv emptied the socket, wait for epoll to say there is more instead
// of asking recv first and hearing EAGAIN: that was a wasted system call per request. The
// read_interest knows (see net/detail/read_interest.hpp): a recv that returns less than it could
// take has emptied the socket.
coroutine<bool> stream::fill_buffer() {
    static thread_local char scratch[65536];   // (one per thread, as in lesson 08)
    for (;;) {
        if (!read_interest_.ready()) {
#if AIO_LESSON >= 11
            if (read_timeout_) {
                co_await wait_readable_within(*read_timeout_);
            } else {
                co_await read_interest_.wait(fd_);
            }
#else
            co_await read_interest_.wait(fd_);
#endif // lesson 11
            check_open("read");
        }
        ssize_t n = ::recv(fd_, scratch, sizeof scratch, 0);
        if (n > 0) {
            if (static_cast<std::size_t>(n) < sizeof scratch) read_interest_.short_read();
            buffer_.append(scratch, static_cast<std::size_t>(n));
            co_return true;
        }
        if (n == 0) co_return false;   // the peer closed its side: end of the stream
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) throw_os_error(errno, "recv");
        read_interest_.drained();
    }
}
#else
// Appends what the socket has to buffer_, waiting until it has something.
coroutine<bool> stream::fill_buffer() {
    // One scratch area per thread, used between two awaits only: receiving into it and appending
    // what came copies just those bytes, where growing buffer_ by a whole chunk would first fill
    // the chunk with zeros (64 KiB for a 100-byte request).
    static thread_local char scratch[65536];
    for (;;) {
        ssize_t n = ::recv(fd_, scratch, sizeof scratch, 0);
        if (n > 0) {
            buffer_.append(scratch, static_cast<std::size_t>(n));
            co_return true;
        }
        if (n == 0) co_return false;   // the peer closed its side: end of the stream
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) throw_os_error(errno, "recv");
        co_await detail::fd_wait(fd_, detail::fd_wait::readable);
        check_open("read");
    }
}
#endif // lesson 09
// ANCHOR_END: fill_buffer

#if AIO_LESSON >= 11
// Lesson 11: fill_buffer's wait for an edge, inside a timeout block of `limit`. Each wait has a
// block of its own, so the clock starts again whenever bytes arrive: a peer is timed on its
// silences, not on how long the whole message takes (aiohttp's sock_read).
coroutine<> stream::wait_readable_within(duration limit) {
    timeout deadline(limit);
    detail::task_state* running = co_await detail::current_task();
    deadline.enter(running);
    std::exception_ptr error;
    try {
        co_await read_interest_.wait(fd_);
    } catch (...) {
        error = std::current_exception();
    }
    try {
        deadline.exit(error);   // timeout_error if the deadline cancelled the wait
    } catch (const timeout_error&) {
        throw timeout_error("stream: nothing received for " +
                            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()) +
                            " ms");
    }
    if (error) std::rethrow_exception(error);
}

coroutine<bool> stream::wait_for_bytes() {
    check_open("wait_for_bytes");
    busy_flag busy(reading_, "wait_for_bytes");
    if (!buffer_.empty()) co_return true;
    co_return co_await fill_buffer();
}
#endif // lesson 11

coroutine<std::string> stream::read(std::size_t max_bytes) {
    check_open("read");
    if (max_bytes == 0) co_return std::string();   // as asyncio: nothing asked, nothing waited for
    busy_flag busy(reading_, "read");
    if (buffer_.empty()) {
        bool more = co_await fill_buffer();
        if (!more) co_return std::string();
    }
    std::string out = buffer_.substr(0, max_bytes);
    buffer_.erase(0, out.size());
    co_return out;
}

// ANCHOR: read_line
coroutine<std::string> stream::read_line(std::size_t limit) {
    check_open("read_line");
    busy_flag busy(reading_, "read_line");
#if AIO_EXERCISE == 8
    (void)limit;
    throw not_implemented("lesson 08, hole read_line: look for '\\n' in buffer_; until there is "
                          "one, fill_buffer() (more than `limit` bytes without one: "
                          "std::length_error; the end: hand out what is left)");
    co_return std::string();   // (never reached: keeps the stub a coroutine)
#else
    std::size_t searched = 0;   // the part of buffer_ known to hold no '\n'
    for (;;) {
        std::size_t end = buffer_.find('\n', searched);
        if (end == std::string::npos ? buffer_.size() > limit : end + 1 > limit)
            throw std::length_error("read_line: no end of line within " + std::to_string(limit) +
                                    " bytes");
        if (end != std::string::npos) {
            std::string line = buffer_.substr(0, end + 1);
            buffer_.erase(0, end + 1);
            co_return line;
        }
        searched = buffer_.size();
        bool more = co_await fill_buffer();
        if (!more) co_return std::exchange(buffer_, {});   // the last line, without '\n'
    }
#endif
}
// ANCHOR_END: read_line

coroutine<std::string> stream::read_exactly(std::size_t n) {
    check_open("read_exactly");
    busy_flag busy(reading_, "read_exactly");
    while (buffer_.size() < n) {
        bool more = co_await fill_buffer();
        if (!more) throw incomplete_read_error(std::exchange(buffer_, {}), n);
    }
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    co_return out;
}

#if AIO_LESSON >= 9
// ANCHOR: read_until
coroutine<std::string> stream::read_until(std::string separator, std::size_t limit) {
    check_open("read_until");
    if (separator.empty()) throw std::invalid_argument("read_until: empty separator");
    busy_flag busy(reading_, "read_until");
    std::size_t searched = 0;   // where the separator may still start
    for (;;) {
        std::size_t at = buffer_.find(separator, searched);
        std::size_t end = at == std::string::npos ? buffer_.size() : at + separator.size();
        if (end > limit)
            throw std::length_error("read_until: no separator within " + std::to_string(limit) +
                                    " bytes");
        if (at != std::string::npos) {
            if (end == buffer_.size()) co_return std::exchange(buffer_, {});   // all of it: no copy
            std::string out = buffer_.substr(0, end);
            buffer_.erase(0, end);
            co_return out;
        }
        // The separator may straddle what we have and what comes next.
        searched = buffer_.size() < separator.size() ? 0 : buffer_.size() - separator.size() + 1;
        const bool more = co_await fill_buffer();
        if (!more) {
            std::string partial = std::exchange(buffer_, {});
            const std::size_t got = partial.size();
            throw incomplete_read_error(std::move(partial), got + separator.size(), "read_until");
        }
    }
}
// ANCHOR_END: read_until
#endif // lesson 09

// ANCHOR: write
#if AIO_LESSON >= 9
// Lesson 09: write() is no longer a coroutine. A server's answer almost always fits in the
// kernel's buffer, so the common case is one send() and no frame at all; and a string_view is
// safe here, because write() has used the bytes (or copied what is left) before it returns.
// Only when the kernel's buffer is full does a coroutine, write_rest, take over.

// Marks the stream as writing while the rest of a write is pending. write_rest takes it as a
// parameter, which lives in the frame: if the rest is never awaited, destroying the frame
// releases it. Once running, write_rest moves it into a local, released when the body ends.
class stream::writing_guard {
public:
    explicit writing_guard(bool& flag) : flag_(&flag) { *flag_ = true; }
    writing_guard(writing_guard&& other) noexcept : flag_(std::exchange(other.flag_, nullptr)) {}
    writing_guard& operator=(writing_guard&&) = delete;
    ~writing_guard() {
        if (flag_ != nullptr) *flag_ = false;
    }

private:
    bool* flag_;
};

namespace {
// Sends what the kernel takes of `bytes` now: how many bytes that was (all, or up to EAGAIN).
std::size_t send_now(int fd, std::string_view bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        // MSG_NOSIGNAL: a peer that has gone is an EPIPE error, not a SIGPIPE that kills us.
        ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n >= 0) {
            sent += static_cast<std::size_t>(n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else if (errno != EINTR) {
            throw_os_error(errno, "send");
        }
    }
    return sent;
}
} // namespace

stream::write_awaitable stream::write(std::string_view bytes) {
    check_open("write");
    if (writing_)   // the rest of an earlier write is still waiting for room: keep the order
        throw std::logic_error("stream::write: the rest of an earlier write is still being sent (await it first)");
    const std::size_t sent = send_now(fd_, bytes);
    if (sent == bytes.size()) return write_awaitable();
    return write_awaitable(write_rest(std::string(bytes.substr(sent)), writing_guard(writing_)));
}

coroutine<> stream::write_rest(std::string rest, writing_guard guard) {
    const writing_guard writing = std::move(guard);
    std::string_view left = rest;
    while (!left.empty()) {
        co_await detail::fd_wait(fd_, detail::fd_wait::writable);
        check_open("write");
        left.remove_prefix(send_now(fd_, left));
    }
}
#else
coroutine<> stream::write(std::string bytes) {
    check_open("write");
    busy_flag busy(writing_, "write");
#if AIO_EXERCISE == 8
    (void)bytes;
    throw not_implemented("lesson 08, hole write: send() what you can (MSG_NOSIGNAL); when the "
                          "kernel's buffer is full (EAGAIN), await fd_wait(fd_, writable); repeat "
                          "until every byte is sent");
    co_return;   // (never reached: keeps the stub a coroutine)
#else
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        // MSG_NOSIGNAL: a peer that has gone is an EPIPE error, not a SIGPIPE that kills us.
        ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n >= 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) throw_os_error(errno, "send");
        co_await detail::fd_wait(fd_, detail::fd_wait::writable);
        check_open("write");
    }
#endif
}
#endif // lesson 09
// ANCHOR_END: write

// ---- connecting and listening ------------------------------------------------------------------

// ANCHOR: open_connection
coroutine<stream> open_connection(std::string host, std::uint16_t port) {
    if (port == 0) throw std::invalid_argument("open_connection: port 0 (" + where(host, port) + ")");
#if AIO_LESSON >= 12
    address to = co_await lookup(host, port);
#else
    address to = resolve(host, port);
#endif // lesson 12
    stream s(new_socket(to.family()));   // owns the fd from here on: closed on any error
    if (::connect(s.fd(), to.get(), to.length) < 0) {
        if (errno != EINPROGRESS) throw_os_error(errno, "connect to " + where(host, port));
        // A non-blocking connect completes in the background; writable means it is over.
        co_await detail::fd_wait(s.fd(), detail::fd_wait::writable);
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) throw_os_error(error, "connect to " + where(host, port));
    }
    no_delay(s.fd());
    co_return std::move(s);
}
// ANCHOR_END: open_connection

namespace {
// ANCHOR: accept_loop
// Accepts connections for as long as the server is open, each handled by a task of its own.
coroutine<> accept_loop(int listening, server::handler on_connection) {
    for (;;) {
        int fd = ::accept4(listening, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            no_delay(fd);
            create_task(on_connection(stream(fd)));   // its failure is reported, not ours
            continue;
        }
        switch (errno) {
        case EINTR:
        case ECONNABORTED:   // the client gave up before we accepted: next one
        // Linux hands a new connection's network errors to accept(): they concern that
        // connection only (accept(2) says to treat them like EAGAIN).
        case ENETDOWN:
        case EPROTO:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
        case EPERM:   // a firewall rule refused it
            continue;
        case EAGAIN:
            co_await detail::fd_wait(listening, detail::fd_wait::readable);
            continue;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            // Out of fds or memory: the pending connection stays queued. Say so, give the
            // running connections time to finish and free some, and go on serving.
            std::fprintf(stderr, "aio: accept: %s; retrying in 100 ms\n", std::strerror(errno));
            co_await sleep(std::chrono::milliseconds(100));
            continue;
        default:
            throw_os_error(errno, "accept");
        }
    }
}
// ANCHOR_END: accept_loop
} // namespace

coroutine<server> start_server(server::handler on_connection, std::string host, std::uint16_t port) {
    if (!on_connection) throw std::invalid_argument("start_server: empty handler");
#if AIO_LESSON >= 12
    address at = co_await lookup(host, port);
#else
    address at = resolve(host, port);
#endif // lesson 12
    server s;
    s.fd_ = new_socket(at.family());
    int one = 1;   // restart at once on the same port, without waiting out TIME_WAIT
    ::setsockopt(s.fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.fd_, at.get(), at.length) < 0) throw_os_error(errno, "bind " + where(host, port));
    if (::listen(s.fd_, SOMAXCONN) < 0) throw_os_error(errno, "listen on " + where(host, port));
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(s.fd_, reinterpret_cast<sockaddr*>(&bound), &length);
    s.port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                               : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    s.accepting_ = create_task(accept_loop(s.fd_, std::move(on_connection)));
    co_return std::move(s);
}

server::server(server&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(other.port_), accepting_(std::move(other.accepting_)) {}

server& server::operator=(server&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        port_ = other.port_;
        accepting_ = std::move(other.accepting_);
    }
    return *this;
}

void server::close() noexcept {
    accepting_.cancel();   // unregisters its wait on the listening fd at once
    accepting_ = task<>{};
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

} // namespace aio
