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
//
// Simplified: no keep-alive idle timeout (an idle client holds its connection until it closes
// it), no streaming bodies, no "Expect: 100-continue", no routing (the handler looks at
// r.path()), no lingering close: after a 400 or 413 the connection closes at once, and a client
// still sending a large body may see a reset instead of the answer (nginx reads on for a while).
#pragma once

#include "aio/coroutine.hpp"
#include "aio/http/message.hpp"
#include "aio/net/stream.hpp"

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
};

/// Listens on host:port (0: any free port; ask the server which) and answers every request with
/// `on_request`. Close the returned server to stop accepting.
coroutine<server> serve(handler on_request, std::string host, std::uint16_t port, server_options options = {});

/// Appends a response's bytes on the wire to `out`: status line, the handler's headers,
/// Content-Length (and "Connection: close" unless `keep_alive`), then the body (unless
/// `head_only`; never with 204 or 304). Appends, so that a connection reuses one buffer for all
/// its answers. A response that is not valid HTTP (a 1xx, a header name that is not a token, a
/// control character in a value or the reason) is std::invalid_argument, and `out` is left as
/// it was.
void append_response_bytes(std::string& out, const response& r, bool keep_alive, bool head_only = false);

} // namespace aio::http
