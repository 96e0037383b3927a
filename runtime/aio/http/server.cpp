// aio/http/server.cpp — lesson 09: serve() and the per-connection loop (see http/server.hpp).
#include "aio/http/server.hpp"
#include "aio/cancelled_error.hpp"
#include "aio/http/body.hpp"

#include <charconv>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace aio::http {

// ANCHOR: response_bytes
void append_response_bytes(std::string& out, const response& r, bool keep_alive, bool head_only) {
    // A 1xx is interim: the client reads on for the final answer, which would never come.
    if (r.status < 200 || r.status > 999)
        throw std::invalid_argument("response: status " + std::to_string(r.status) +
                                    (r.status >= 100 && r.status < 200 ? " is interim: an answer must be final"
                                                                       : " out of range"));
    const std::string_view reason = r.reason.empty() ? reason_phrase(r.status) : std::string_view(r.reason);
    const char status_line[] = {'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', static_cast<char>('0' + r.status / 100),
                                static_cast<char>('0' + r.status / 10 % 10), static_cast<char>('0' + r.status % 10), ' '};
    // Checked first, so that a refused response appends nothing. What the handler says goes out
    // as it is: it must be what a parser reads back the same, or one response could become two.
    if (!is_field_value(reason)) throw std::invalid_argument("response: control character in the reason " + quote(reason));
    for (const auto& [name, value] : r.headers) {
        if (!is_token(name)) throw std::invalid_argument("response: invalid header name " + quote(name));
        if (!is_field_value(value))
            throw std::invalid_argument("response: the value of " + name + " contains a control character: " + quote(value));
    }
    // 204 and 304 have no body, whatever the handler put there: a client reads none, and would
    // take the bytes for the next answer. aiohttp drops it the same way, and the length too.
    const bool has_body = r.status != 204 && r.status != 304;
    out.reserve(out.size() + 160 + r.body.size());
    // Each line begins with the CRLF that ends the one before: fewer, longer appends.
    out.append(status_line, sizeof status_line).append(reason);
    for (const auto& [name, value] : r.headers) {
        // The framing is ours to say; a handler's own would contradict it.
        if (equal_ignoring_case(name, "Content-Length") || equal_ignoring_case(name, "Connection") ||
            equal_ignoring_case(name, "Transfer-Encoding"))
            continue;
        out.append("\r\n").append(name).append(": ").append(value);
    }
    if (has_body) {
        if (!r.headers.contains("Content-Type")) out.append("\r\nContent-Type: text/plain; charset=utf-8");
        char length[24];
        const char* length_end = std::to_chars(length, length + sizeof length, r.body.size()).ptr;
        out.append("\r\nContent-Length: ").append(length, static_cast<std::size_t>(length_end - length));
    }
    out.append(keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
    if (has_body && !head_only) out.append(r.body);
}
// ANCHOR_END: response_bytes

namespace {

// Answers a request we could not read, and says why; the connection is closed after it.
coroutine<> refuse(stream& conn, int status, std::string why) {
    response r;
    r.status = status;
    r.body = std::move(why) + "\n";
    std::string out;
    append_response_bytes(out, r, false);
    co_await conn.write(out);
}

// A handler failed: one line on stderr that names the request, and a 500 in `answer`.
void answer_failure(std::string& answer, std::string_view head, const char* why, bool keep_alive, bool head_only) {
    const std::string_view request_line = head.substr(0, head.find('\r'));
    std::fprintf(stderr, "aio http: the handler of \"%.*s\" failed: %s\n", static_cast<int>(request_line.size()),
                 request_line.data(), why);
    response failed;
    failed.status = 500;
    failed.body = "Internal Server Error\n";
    answer.clear();   // (a bad_alloc halfway may have left a part)
    append_response_bytes(answer, failed, keep_alive, head_only);
}

// ANCHOR: serve_connection
coroutine<> serve_connection(stream conn, std::shared_ptr<const handler> on_request, server_options options) {
    std::string answer;   // one buffer for every answer on this connection: no allocation each
    for (;;) {
        std::string bytes;
        try {
            bytes = co_await conn.read_until("\r\n\r\n", options.max_head);
        } catch (const incomplete_read_error&) {
            co_return;   // the client closed the connection (between requests, or in the middle)
        } catch (const std::length_error&) {
            bytes.clear();
        }
        if (bytes.empty()) {
            co_await refuse(conn, 431, "request head larger than " + std::to_string(options.max_head) + " bytes");
            co_return;
        }
        request req;
        int minor_version = 1;
        body_framing framing;
        std::string error;
        try {
            request_head head = parse_request_head(bytes);
            check_host(head);
            framing = request_body_framing(head);
            minor_version = head.minor_version;
            req.method = std::move(head.method);
            req.target = std::move(head.target);
            req.headers = std::move(head.headers);
        } catch (const protocol_error& e) {
            error = e.what();
        }
        if (!error.empty()) {
            co_await refuse(conn, 400, std::move(error));
            co_return;
        }
        if (framing.kind == body_framing::content_length && framing.length > options.max_body) {
            co_await refuse(conn, 413, "body larger than " + std::to_string(options.max_body) + " bytes");
            co_return;
        }
        try {
            if (framing.kind != body_framing::none)
                req.body = co_await read_body(conn, framing, options.max_body);
        } catch (const protocol_error& e) {
            error = e.what();
        }
        if (!error.empty()) {
            co_await refuse(conn, 400, std::move(error));
            co_return;
        }
        const bool keep_alive = keeps_alive(minor_version, req.headers);
        const bool head_only = req.method == "HEAD";
        answer.clear();
        try {
            response r = co_await (*on_request)(std::move(req));
            append_response_bytes(answer, r, keep_alive, head_only);   // throws if r is not valid HTTP
        } catch (const cancelled_error&) {
            throw;   // the server is shutting down: not the handler's failure
        } catch (const std::exception& e) {
            answer_failure(answer, bytes, e.what(), keep_alive, head_only);
        } catch (...) {
            // C++ can throw anything (`throw 42;`). Anything let through here would end the
            // connection's task with an exception nobody awaits: no answer for the client, and a
            // "never retrieved" line on stderr.
            answer_failure(answer, bytes, "an exception that is not a std::exception", keep_alive, head_only);
        }
        co_await conn.write(answer);
        if (answer.capacity() > 64 * 1024) answer = std::string();   // an idle connection keeps no big buffer
        if (!keep_alive) co_return;
    }
}
// ANCHOR_END: serve_connection

// A connection's end is its own business: a client that resets it or sends garbage ends that
// connection, quietly, never the server.
coroutine<> guarded_connection(stream conn, std::shared_ptr<const handler> on_request, server_options options) {
    try {
        co_await serve_connection(std::move(conn), std::move(on_request), options);
    } catch (const std::system_error&) {
    } catch (const protocol_error&) {
    }
}

} // namespace

coroutine<server> serve(handler on_request, std::string host, std::uint16_t port, server_options options) {
    if (!on_request) throw std::invalid_argument("serve: empty handler");
    auto shared = std::make_shared<const handler>(std::move(on_request));
    server::handler on_connection = [shared, options](stream conn) {
        return guarded_connection(std::move(conn), shared, options);
    };
    co_return co_await start_server(std::move(on_connection), std::move(host), port);
}

} // namespace aio::http
