// aio/net/stream.hpp — lesson 08: non-blocking TCP as awaitable streams (asyncio's streams).
//
//     aio::stream conn = co_await aio::open_connection("127.0.0.1", port);
//     co_await conn.write("hello\n");                     // writer.write + await writer.drain()
//     std::string reply = co_await conn.read_line();      // await reader.readline()
//
// Design principles:
//  * Readiness, not completion: sockets are non-blocking; a read that would block becomes an
//    await on the loop's add_reader (lesson 01), a write that would block an await on
//    add_writer. The interest is registered only while a coroutine waits, and always removed —
//    when the fd is ready, when the waiting task is cancelled, when the frame is destroyed.
#if AIO_LESSON >= 9
//    Lesson 09 makes reads cheaper: a stream keeps its fd registered for reading from its first
//    wait until it closes (net/detail/read_interest.hpp), because ADD and DEL for every wait were a
//    quarter of a busy server's CPU time.
#endif // lesson 09
#if AIO_LESSON >= 11
//    Lesson 11 gives reads a time bound (set_read_timeout: the HTTP client's sock_read) and a
//    way to wait for bytes without taking them (wait_for_bytes: the HTTP server's keep-alive
//    wait). The bound is an aio::timeout around each wait (aio/timeout.hpp), no timer of its own.
#endif // lesson 11
//  * One object for both directions, where asyncio has a StreamReader and a StreamWriter: a
//    stream owns its fd and a read buffer (read_line and read_exactly read ahead).
//  * write() returns when the kernel has accepted every byte: asyncio's write() + drain().
//  * Errors are exceptions that name the call and the peer: std::system_error for the OS's
//    (refused, reset, ...), aio::incomplete_read_error when the peer closes in the middle of a
//    read_exactly. close() is synchronous, as asyncio's writer.close().
//
// Simplified: only TCP over IPv4/IPv6; names other than IP literals and "localhost" are resolved
// with a blocking getaddrinfo (lesson 12 moves it to a thread); no TLS; one reader and one writer
// at a time per stream (a second concurrent read is an error, as in asyncio).
#pragma once

#include "aio/coroutine.hpp"
#include "aio/event_loop.hpp"
#include "aio/task.hpp"
#if AIO_LESSON >= 9
#include "aio/net/detail/read_interest.hpp"
#endif // lesson 09

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#if AIO_LESSON >= 9
#include <optional>
#include <string_view>
#endif // lesson 09

namespace aio {

/// read_exactly() met the end of the stream first (asyncio.IncompleteReadError).
class incomplete_read_error : public std::runtime_error {
public:
    incomplete_read_error(std::string partial, std::size_t expected, const char* call = "read_exactly");
    std::string partial;    // what was read before the end
    std::size_t expected;   // how much was asked for
};

namespace detail {
// ANCHOR: fd_wait
// Suspends until `fd` is readable (or writable): lesson 01's add_reader as an await.
class fd_wait final : public cancellable_await {
public:
    enum direction { readable, writable };
    fd_wait(int fd, direction d) noexcept : fd_(fd), direction_(d) {}
    fd_wait(const fd_wait&) = delete;   // the loop's callback points at this object
    fd_wait& operator=(const fd_wait&) = delete;
    ~fd_wait() { unregister(); }   // destroyed while waiting (its task was abandoned)

    bool await_ready() const noexcept { return false; }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiting) {
        if (!begin_wait(task_of(waiting))) return false;
        loop_ = &get_running_loop();
        waiting_ = waiting;
        start_watching();
        return true;
    }

    void await_resume() { end_wait(); }

private:
    void start_watching();
    void unregister() noexcept;
    void cancel() noexcept override;

    int fd_;
    direction direction_;
    event_loop* loop_ = nullptr;
    std::coroutine_handle<> waiting_;
    bool registered_ = false;
};
// ANCHOR_END: fd_wait
} // namespace detail

// ANCHOR: stream
/// A connected TCP socket with a read buffer. Move-only; closes its fd when destroyed.
class stream {
public:
    stream() = default;
    /// Takes ownership of a connected socket, and makes it non-blocking (if that fails, the
    /// fd stays the caller's).
    explicit stream(int fd);
    stream(stream&& other) noexcept;
    stream& operator=(stream&& other) noexcept;
    ~stream() { close(); }

    /// Up to `max_bytes` bytes as soon as some are there; "" at the end of the stream.
    coroutine<std::string> read(std::size_t max_bytes = 65536);
    /// One line, '\n' included; at the end of the stream what is left (maybe "" or a partial
    /// line). A line longer than `limit` is an error (asyncio's LimitOverrunError).
    coroutine<std::string> read_line(std::size_t limit = 65536);
    /// Exactly `n` bytes, or incomplete_read_error if the stream ends first.
    coroutine<std::string> read_exactly(std::size_t n);
#if AIO_LESSON >= 9
    /// Everything up to and including `separator` (asyncio's readuntil): std::length_error if it
    /// is not within `limit` bytes, incomplete_read_error if the stream ends first.
    coroutine<std::string> read_until(std::string separator, std::size_t limit = 65536);
#endif // lesson 09
#if AIO_LESSON >= 9
    class write_awaitable;
    /// Sends `bytes` now, as far as the kernel's buffer takes them; the awaitable it returns
    /// sends the rest (a copy) and returns when the kernel has accepted every byte. Await it
    /// at once: `co_await conn.write(bytes)` (asyncio's write() + drain()).
    write_awaitable write(std::string_view bytes);
#else
    /// Returns when the kernel has accepted every byte (waits while its buffer is full).
    coroutine<> write(std::string bytes);
#endif // lesson 09
    /// Closes the socket now. Reading or writing afterwards is an error.
    void close() noexcept;

    bool is_open() const noexcept { return fd_ >= 0; }
    int fd() const noexcept { return fd_; }
#if AIO_LESSON >= 9
    /// Bytes read ahead and not handed out yet. A protocol that reuses a connection checks it
    /// is 0 first: bytes the peer sent beyond a message's end belong to no request of ours.
    std::size_t buffered() const noexcept { return buffer_.size(); }
#endif // lesson 09
#if AIO_LESSON >= 11
    /// Waits until the peer has sent a byte not read yet (true; at once if one is buffered) or
    /// has closed (false), and takes nothing (asyncio's StreamReader._wait_for_data): a server
    /// waits so for the next request on an idle connection, under its keep-alive timeout.
    coroutine<bool> wait_for_bytes();
    /// The bytes read ahead (buffered() of them), left where they are: what the next read hands
    /// out first. Valid until the next read or close.
    std::string_view peek() const noexcept { return buffer_; }
    /// Bounds every wait for the peer's bytes from now on: a read that hears nothing new for
    /// `limit` throws aio::timeout_error, and each arrival starts the clock again (aiohttp's
    /// sock_read). std::nullopt, the default: no bound. A read bounded so must run in a task.
    void set_read_timeout(std::optional<duration> limit) noexcept { read_timeout_ = limit; }
#endif // lesson 11

private:
    coroutine<bool> fill_buffer();   // reads more into buffer_; false at the end of the stream
#if AIO_LESSON >= 11
    coroutine<> wait_readable_within(duration limit);   // fill_buffer's wait, under read_timeout_
#endif // lesson 11
#if AIO_LESSON >= 9
    class writing_guard;
    coroutine<> write_rest(std::string rest, writing_guard guard);
#endif // lesson 09
    void check_open(const char* what) const;

    int fd_ = -1;
    std::string buffer_;   // read ahead, not yet handed out
    bool reading_ = false, writing_ = false;   // one reader and one writer at a time
#if AIO_LESSON >= 9
    detail::read_interest read_interest_;   // keeps the fd registered between reads
#endif // lesson 09
#if AIO_LESSON >= 11
    std::optional<duration> read_timeout_;   // see set_read_timeout
#endif // lesson 11
};
// ANCHOR_END: stream

#if AIO_LESSON >= 9
// ANCHOR: write_awaitable
/// What write() returns: nothing to wait for when the kernel took every byte (almost always,
/// for a server's answers), else the coroutine that sends the rest. Not awaited, the rest is
/// never sent: hence [[nodiscard]].
class [[nodiscard]] stream::write_awaitable {
public:
    write_awaitable() = default;
    explicit write_awaitable(coroutine<> rest) : rest_(std::move(rest)) {}

    bool await_ready() const noexcept { return !rest_; }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiting) {
        sending_.emplace(rest_->operator co_await());
        return sending_->await_suspend(waiting);
    }
    void await_resume() {
        if (sending_) sending_->await_resume();
    }

private:
    std::optional<coroutine<>> rest_;
    std::optional<coroutine<>::awaiter> sending_;
};
// ANCHOR_END: write_awaitable
#endif // lesson 09

/// Connects to host:port (asyncio.open_connection). `host` is an IPv4 or IPv6 literal or
#if AIO_LESSON >= 12
/// "localhost", or a name, looked up on a thread (lesson 12's getaddrinfo); the first address.
#else
/// "localhost"; any other name is looked up with a blocking getaddrinfo.
#endif // lesson 12
coroutine<stream> open_connection(std::string host, std::uint16_t port);

// ANCHOR: server
/// A listening socket and the task accepting on it (asyncio.Server).
class server {
public:
    using handler = std::function<coroutine<>(stream)>;

    server() = default;
    server(server&& other) noexcept;
    server& operator=(server&& other) noexcept;
    ~server() { close(); }

    /// The port it listens on (useful after asking for port 0: "any free port").
    std::uint16_t port() const noexcept { return port_; }
    /// Stops accepting and closes the listening socket. Connections already accepted go on.
    void close() noexcept;

private:
    friend coroutine<server> start_server(handler, std::string, std::uint16_t);
    int fd_ = -1;
    std::uint16_t port_ = 0;
    task<> accepting_;
};
// ANCHOR_END: server

/// Listens on host:port (port 0: any free port) and runs `on_connection(stream)` as a task of
/// its own for every connection (asyncio.start_server).
coroutine<server> start_server(server::handler on_connection, std::string host, std::uint16_t port);

} // namespace aio
