// aio/http/message.hpp — lesson 09: HTTP/1.1 messages, and the parsers that read them.
//
// Design principles:
//  * Parsing is separate from I/O. The functions here take bytes and return values (or throw
//    aio::http::protocol_error); the client and the server read those bytes from a stream.
//    Pure functions are what a fuzzer can hammer (make fuzz) and what a test can feed any
//    malformed input without a socket.
//  * Strict where being lenient is dangerous: a header block must end in CRLF CRLF, a bare CR or
//    LF, a control character, a space before the colon, a folded line, a Content-Length that is
//    not a plain number or disagrees with another, a Transfer-Encoding other than chunked or in
//    an HTTP/1.0 message: each is a protocol_error naming what was wrong. (Two parsers that
//    disagree about where a message ends are how request smuggling works.)
//  * Header names compare case-insensitively, and keep their order and repetitions, as
//    aiohttp's CIMultiDict.
//
// Simplified: HTTP/1.0 and 1.1 only (no HTTP/2, no upgrade), no trailers kept, URLs are
// http://host[:port][/path] only (no https: there is no TLS in aio).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aio::http {

/// The peer sent something that is not HTTP/1.1 as we accept it; the message says what.
class protocol_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// ANCHOR: headers
/// Header fields in the order they came. Names compare case-insensitively.
class headers {
public:
    using field = std::pair<std::string, std::string>;

    headers() = default;
    headers(std::initializer_list<field> fields) : fields_(fields) {}

    void add(std::string_view name, std::string_view value) { fields_.emplace_back(name, value); }
    void reserve(std::size_t n) { fields_.reserve(n); }
    /// Removes every field called `name`.
    void remove(std::string_view name) noexcept;
    /// The value of the first field called `name`, or null.
    const std::string* find(std::string_view name) const noexcept;
    /// The value of the first field called `name`, or `fallback`.
    std::string get(std::string_view name, std::string_view fallback = {}) const;
    bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }
    /// Does any `name` field list `token` (comma-separated, any case)? "Connection: close".
    bool has_token(std::string_view name, std::string_view token) const noexcept;

    std::size_t size() const noexcept { return fields_.size(); }
    auto begin() const noexcept { return fields_.begin(); }
    auto end() const noexcept { return fields_.end(); }

private:
    std::vector<field> fields_;
};
// ANCHOR_END: headers

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept;

// What a sender checks before a name or a value goes out: the parsers below refuse anything
// else from a peer, and a message of ours must be one that they (and every other parser) read
// the same way.
/// RFC 9110's token, which a method or a header name is made of: one or more letters, digits
/// or !#$%&'*+-.^_`|~.
bool is_token(std::string_view s) noexcept;
/// Text that may stand as a header value or a reason phrase: no control character but tab.
/// (A CR or LF would end the line and start one of the sender's choosing; a NUL ends the
/// string in many a C parser.)
bool is_field_value(std::string_view s) noexcept;
/// Untrusted bytes rendered for an error message: quoted, at most 40, controls escaped.
std::string quote(std::string_view bytes);

/// The request line and headers of a request: "GET /path HTTP/1.1".
struct request_head {
    std::string method, target;
    int minor_version = 1;   // HTTP/1.<minor_version>
    http::headers headers;
};

/// The status line and headers of a response: "HTTP/1.1 200 OK".
struct response_head {
    int minor_version = 1;
    int status = 0;
    std::string reason;
    http::headers headers;
};

// ANCHOR: messages
/// A request as a server's handler sees it.
struct request {
    std::string method = "GET";
    std::string target = "/";   // path and query, as sent: "/search?q=aio"
    http::headers headers;
    std::string body;
    /// The target without its query: "/search".
    std::string path() const { return target.substr(0, target.find('?')); }
};

/// A response: what a client receives, and what a server's handler returns. An error status
/// (404, 500) is a response like any other, not an exception (aiohttp's default).
struct response {
    int status = 200;
    std::string reason;         // "" in a handler's response: the usual phrase for the status
    http::headers headers;
    std::string body;
    std::string url;            // for a client: where it finally came from, after redirects
    bool ok() const noexcept { return status < 400; }
};
// ANCHOR_END: messages

/// Most header fields a message may have: more is a protocol_error (a cheap flood otherwise).
inline constexpr std::size_t max_header_fields = 100;

// ANCHOR: parse_heads
/// Parses a head: everything up to and including the empty line ("\r\n\r\n").
request_head parse_request_head(std::string_view head);
response_head parse_response_head(std::string_view head);
// ANCHOR_END: parse_heads

/// RFC 9112, 3.2: an HTTP/1.1 request has exactly one Host, any request at most one, and its
/// value must be fit for a host[:port]; otherwise protocol_error (a server answers 400). Two
/// Hosts leave each hop to pick one: a proxy may route by one and the application trust the
/// other.
void check_host(const request_head& head);

/// How the body that follows a head is delimited.
struct body_framing {
    enum kind { none, content_length, chunked, until_close } kind = none;
    std::uint64_t length = 0;   // for content_length
};
/// A request's body: Content-Length or chunked; neither means no body. (Transfer-Encoding in
/// an HTTP/1.0 message, or beside a Content-Length, is faulty framing: protocol_error.)
body_framing request_body_framing(const request_head& head);
/// A response's body, which also depends on the request's method (HEAD has none).
body_framing response_body_framing(const response_head& head, std::string_view request_method);
/// Whether the connection may carry another message after this one.
bool keeps_alive(int minor_version, const headers& h) noexcept;

/// The size line of a chunk ("1a\r\n", "1a;name=value\r\n"): the size, 26.
std::uint64_t parse_chunk_size(std::string_view line);

/// http://host[:port][/target]
struct url {
    std::string host;
    std::uint16_t port = 80;
    std::string target = "/";   // path and query
    /// "host:port", as the Host header says it (the port only when not 80).
    std::string authority() const;
};
url parse_url(std::string_view text);
/// A Location header resolved against the URL it came from (absolute, or a path on the same host).
url resolve_location(const url& base, std::string_view location);

/// The reason phrase of common status codes ("OK", "Not Found"); "" for others.
std::string_view reason_phrase(int status) noexcept;

} // namespace aio::http
