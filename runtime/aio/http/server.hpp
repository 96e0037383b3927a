// aio/http/server.hpp — lesson 09: a small HTTP/1.1 server (aiohttp.web in a few lines).
//
//     auto hello = [](aio::http::request r) -> aio::coroutine<aio::http::response> {
//         co_return aio::http::response{.body = "hello, " + r.path() + "\n"};
//     };
//     aio::server server = co_await aio::http::serve(hello, "127.0.0.1", 8080);
//
// Design principles:
//  * A connection is a task (lesson 08's start_server) running a loop: read a head, read the
//    body it announces, call the handler, write the response, and again while both sides keep
//    the connection alive (HTTP/1.1's default). Requests sent back to back without waiting
//    (pipelining) are answered in order: the stream's buffer keeps what was read ahead.
//  * The handler sees a whole request and returns a whole response; the server frames it
//    (Content-Length, Connection; no body with 204 and 304) and checks every header it sends,
//    so that a handler cannot get the framing wrong, nor split one response into two.
//  * Bad input never reaches the handler: a malformed head gets 400, one too large 431, a body
//    too large 413, and the connection is closed. A handler that throws, or returns a response
//    that is not valid HTTP, gets its client a 500 (and a line on stderr); the other connections
//    never notice.
#if AIO_LESSON >= 11
//  * Lesson 11: a client gets a bounded time, so that it cannot hold a connection (a task, an fd,
//    a buffer) for nothing. Two bounds, two server_options, both aio::timeout blocks (one block
//    per head: its deadline moves with reschedule() when the first byte comes):
//    - keepalive_timeout, 75 s: how long a kept-alive connection may sit idle between requests;
//      then it is closed without a word (HTTP lets a server do that; a client retries on a new
//      connection). 75 s is aiohttp's default, and nginx's.
//    - head_timeout, 15 s: how long the whole request line and headers may take, from the first
//      byte (from the opening, for a connection's first request, as nginx's
//      client_header_timeout). A slowloris client, which sends a head one byte at a time to hold
//      a connection for ever, is cut off after it: with a 408 if part of a head came, silently
//      if nothing did. Why 15 s: a real client sends its head in one write, a segment or two
//      that arrive within one round trip; 15 s still lets TCP resend a lost segment three
//      times over (Linux resends after 1 s, then 2 s and 4 s more: the fourth try leaves 7 s
//      in, a fifth would leave at 15 s), while an attacker must open a new connection every
//      15 s for each one it wants to hold. (nginx and Node.js wait 60 s, Apache 20 to 40 s;
//      aiohttp 3.8 has no such bound.)
//    What it costs: a timer armed and cancelled per request, and two coroutine frames; no system
//    call (the clock is read through the vDSO). Measured with callgrind under wrk, the user-space
//    instructions per kept-alive request went from about 4,200 to 5,000.
#endif // lesson 11
//
#if AIO_LESSON >= 11
// Simplified: no time bound on a request body or on writing an answer (a client that sends its
// body slowly, or reads the answer slowly, holds its connection: nginx's client_body_timeout and
// send_timeout), none on the handler, no streaming bodies, no "Expect: 100-continue", no routing
// (the handler looks at r.path()), no lingering close: after a 400 or 413 the connection closes
// at once, and a client still sending a large body may see a reset instead of the answer (nginx
// reads on for a while).
#else
// Simplified: no keep-alive idle timeout (an idle client holds its connection until it closes
// it), no streaming bodies, no "Expect: 100-continue", no routing (the handler looks at
// r.path()), no lingering close: after a 400 or 413 the connection closes at once, and a client
// still sending a large body may see a reset instead of the answer (nginx reads on for a while).
#endif // lesson 11
#pragma once

#include "aio/coroutine.hpp"
#include "aio/http/message.hpp"
#include "aio/net/stream.hpp"
#if AIO_LESSON >= 11
#include "aio/event_loop.hpp"
#endif // lesson 11

#if AIO_LESSON >= 11
#include <chrono>
#endif // lesson 11
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace aio::http {

/// A handler takes the request by value, as any coroutine should (its frame keeps it); the
/// std::function passes it on by reference, which spares one move per request.
using handler = std::function<coroutine<response>(request&&)>;

struct server_options {
    std::size_t max_head = 64 * 1024;          // request line and headers
    std::size_t max_body = 1024 * 1024;
#if AIO_LESSON >= 11
    /// An idle kept-alive connection is closed after this (aiohttp's keepalive_timeout).
    duration keepalive_timeout = std::chrono::seconds(75);
    /// A request head (line and headers) must arrive whole within this, from its first byte (or
    /// the connection's opening); else 408 and close. Both must be positive (serve() checks).
    duration head_timeout = std::chrono::seconds(15);
#endif // lesson 11
};

/// Listens on host:port (0: any free port; ask the server which) and answers every request with
/// `on_request`. Close the returned server to stop accepting. An empty handler (or, from lesson
/// 11, a timeout that is not positive) is std::invalid_argument.
coroutine<server> serve(handler on_request, std::string host, std::uint16_t port, server_options options = {});

/// Appends a response's bytes on the wire to `out`: status line, the handler's headers,
/// Content-Length (and "Connection: close" unless `keep_alive`), then the body (unless
/// `head_only`; never with 204 or 304). Appends, so that a connection reuses one buffer for all
/// its answers. A response that is not valid HTTP (a 1xx, a header name that is not a token, a
/// control character in a value or the reason) is std::invalid_argument, and `out` is left as
/// it was.
void append_response_bytes(std::string& out, const response& r, bool keep_alive, bool head_only = false);

} // namespace aio::http
