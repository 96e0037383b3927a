// aio/http/client.hpp — lesson 09: an HTTP/1.1 client session (aiohttp's ClientSession).
//
//     aio::http::client_session session;
//     aio::http::response page = co_await session.get("http://127.0.0.1:8080/");
//     std::cout << page.status << "\n" << page.body;
//
// Design principles:
//  * A session keeps connections alive and reuses them: the second request to the same host
//    and port makes no new connection (no handshake, no new socket). A connection goes back to
//    the session only once its response was read exactly to its end, with nothing after it, and
//    both sides agreed to keep it; it is used again only if it has said nothing while idle.
//    Bytes that came unasked would be read as the next answer: a response injection.
//  * A reused connection may be closed by the server just as we send on it. If a request
//    that is safe to repeat (GET, HEAD, PUT, DELETE, OPTIONS, TRACE: not POST) fails before a single
//    byte of the answer came, it is sent again on a new connection, once (as newer aiohttp
//    versions do); any later failure is the caller's.
//  * Idle connections are kept as unique_ptr<stream>: a stream stays where it is, and keeps its
//    fd registered with the loop from one request to the next (moving a stream re-registers).
//  * Everything has a bound: the time (one timeout for the whole request, redirects included),
//    the redirects, the size of a head and of a body. Past a bound, an exception says which.
#if AIO_LESSON >= 11
//  * Lesson 11: the time bounds are aiohttp's ClientTimeout, as aio::timeout blocks
//    (aio/timeout.hpp) over the caller's own task — no task, timer or flag of the client's own:
//    - `timeout` (total), 30 s: one block around the whole request — waiting for a connection
//      slot, connecting, sending, every redirect, reading. aiohttp waits 5 minutes; 30 s is
//      lesson 09's choice, kept: a program that waits longer should say so.
//    - `sock_read`, none by default (as aiohttp): the longest silence while an answer is read.
//      Each wait for the server's bytes is a block of its own (stream::set_read_timeout), so
//      bytes that arrive start the clock again: a slow but steady download is not cut, a server
//      that stops talking is, long before the total would run out.
//    Either is an http::timeout_error, which is an aio::timeout_error (aiohttp's timeouts are
//    asyncio.TimeoutError); its message names the URL and the bound. Being blocks over the
//    caller's task, they tell their cancellation from the caller's: an outer timeout or a
//    cancel() of the caller goes through as what it is, never as the request's timeout.
#endif // lesson 11
//  * An HTTP error status is a response, not an exception (aiohttp's default).
//
// Simplified: no TLS (http:// only), no cookies, no proxies, no compression, no streaming of
// bodies (a body is read whole into a string), no limit on the number of connections (lesson 10
// adds aiohttp's: aio/http/connection_limits.hpp). Host names other than IP
// literals and "localhost" are looked up with a blocking getaddrinfo, which freezes the loop
// while DNS answers: a bug that lesson 12 fixes with a thread.
#pragma once

#include "aio/coroutine.hpp"
#include "aio/event_loop.hpp"
#include "aio/http/message.hpp"
#include "aio/net/stream.hpp"
#if AIO_LESSON >= 10
#include "aio/http/connection_limits.hpp"
#endif // lesson 10
#if AIO_LESSON >= 11
#include "aio/timeout.hpp"
#endif // lesson 11

#include <chrono>
#include <memory>
#include <cstddef>
#if AIO_LESSON >= 11
#include <optional>
#endif // lesson 11
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace aio::http {

#if AIO_LESSON >= 11
/// The request did not finish within client_options::timeout, or the server said nothing for
/// client_options::sock_read: an aio::timeout_error, as aiohttp's are asyncio.TimeoutError.
class timeout_error : public aio::timeout_error {
public:
    explicit timeout_error(const std::string& what) : aio::timeout_error(what) {}
};
#else
/// The request did not finish within client_options::timeout (asyncio.TimeoutError).
class timeout_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
#endif // lesson 11

/// More redirects than client_options::max_redirects (aiohttp's TooManyRedirects).
class too_many_redirects : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct client_options {
    duration timeout = std::chrono::seconds(30);   // per request, redirects included
    /// Redirects followed per request; one more is too_many_redirects. 0 follows none: the 3xx
    /// is returned as the answer (aiohttp's allow_redirects=False; aiohttp's own max_redirects=0
    /// would mean no limit at all). Redirects are followed to any host and port, as aiohttp and
    /// browsers do: a server you ask can send you anywhere, 127.0.0.1 included. Authorization,
    /// Cookie and a Host of yours are dropped when the host:port changes; check r.url for where
    /// the answer came from, or set 0 and follow yourself.
    int max_redirects = 10;
    std::size_t max_head = 64 * 1024;              // status line and headers
    std::size_t max_body = 64 * 1024 * 1024;
#if AIO_LESSON >= 10
    /// Requests that hold a connection at once, in all and per host:port (aiohttp's
    /// TCPConnector limit and limit_per_host); 0: no bound.
    std::size_t limit = 100;
    std::size_t limit_per_host = 0;
#endif // lesson 10
#if AIO_LESSON >= 11
    /// The longest the server may stay silent while we wait for its answer, restarted by every
    /// arrival (aiohttp's sock_read); std::nullopt: no bound but `timeout`. If set, positive
    /// (std::invalid_argument else, like a timeout that is not).
    std::optional<duration> sock_read;
#endif // lesson 11
};

// ANCHOR: client_session
class client_session {
public:
    /// A timeout that is not positive or a negative max_redirects: std::invalid_argument.
    explicit client_session(client_options options = {});
    client_session(const client_session&) = delete;   // it owns connections
    client_session& operator=(const client_session&) = delete;

    /// GET `url` (http://host[:port]/path), following redirects.
    coroutine<response> get(std::string url, headers extra = {});
    /// Any method, with a body (sent with a Content-Length) and extra headers. The framing is
    /// the session's: a Content-Length, Transfer-Encoding or Connection in `extra`, a method or
    /// header name that is not a token, a value with a control character (CR, LF, NUL...) are
    /// std::invalid_argument before anything is sent. A Host in `extra` replaces the session's
    /// (aiohttp's rule), for the first host only: a redirect to another host:port drops it.
    coroutine<response> request(std::string method, std::string url, std::string body = {},
                                headers extra = {});

    /// Connections kept alive, waiting for the next request.
    std::size_t idle_connections() const noexcept { return idle_.size(); }
    /// Closes the idle connections (the destructor does too).
    void close() noexcept { idle_.clear(); }

private:
    struct idle_connection {
        // (A constructor, not a braced aggregate: in exchange_on, a coroutine, g++ 12 -O1 with
        // ASan built `{authority, std::move(conn)}` from the wrong bytes — a garbage pointer.)
        idle_connection(std::string where, std::unique_ptr<stream> c)
            : authority(std::move(where)), conn(std::move(c)) {}
        std::string authority;   // "host:port"
        std::unique_ptr<stream> conn;
    };
    coroutine<response> follow_redirects(std::string method, url where, std::string body, headers extra);
    coroutine<response> exchange(const std::string& method, const url& where, const std::string& body,
                                 const headers& extra);
    coroutine<response> exchange_on(std::unique_ptr<stream>& conn, const std::string& method,
                                    const url& where, const std::string& request_bytes, bool& answered);
    std::unique_ptr<stream> take_idle(const std::string& authority);

    client_options options_;
    std::vector<idle_connection> idle_;
#if AIO_LESSON >= 10
    connection_limits limits_{options_.limit, options_.limit_per_host};
#endif // lesson 10
};
// ANCHOR_END: client_session

/// One GET with a session of its own (aiohttp's `async with ClientSession() as s: await s.get()`).
coroutine<response> get(std::string url, client_options options = {});

} // namespace aio::http
