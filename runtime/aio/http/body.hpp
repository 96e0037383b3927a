// aio/http/body.hpp — lesson 09: reading an HTTP body from a stream, however it is framed.
//
// Shared by the client (responses) and the server (requests). The head says how the body is
// delimited (http/message.hpp's body_framing); this reads exactly that much, no more, so that
// the next message on a kept-alive connection starts where it should.
#pragma once

#include "aio/coroutine.hpp"
#include "aio/http/message.hpp"
#include "aio/net/stream.hpp"

#include <cstddef>
#include <string>

namespace aio::http {

/// The body that follows a head on `conn`. A body larger than `max_body` bytes, a malformed or
/// truncated chunk, or a stream that ends before Content-Length bytes: protocol_error.
coroutine<std::string> read_body(stream& conn, body_framing framing, std::size_t max_body);

} // namespace aio::http
