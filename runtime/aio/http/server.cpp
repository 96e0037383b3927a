// aio/http/server.cpp — lesson 09: serve() and the per-connection loop (see http/server.hpp).
#include "aio/http/server.hpp"
#include "aio/cancelled_error.hpp"
#include "aio/http/body.hpp"
#if AIO_LESSON >= 11
#include "aio/detail/current_task.hpp"
#include "aio/timeout.hpp"
#endif // lesson 11

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

#if AIO_LESSON >= 11
// ANCHOR: read_head
// The next request head, in time. A connection's first head must come whole within head_timeout
// of its opening. Between requests, an idle kept-alive connection has keepalive_timeout to send
// the first byte of its next head, and from that byte head_timeout for the rest: one timeout
// block, whose deadline the first byte moves — unless the whole head came with it, as it almost
// always does: then nothing is left to wait for, and moving the timer would be wasted work (300
// of the some 5,000 instructions the server spends in user space on a kept-alive request,
// measured with callgrind under wrk). Past the deadline, aio::timeout_error (what came of the
// head stays in conn's buffer); otherwise as read_until (incomplete_read_error when the client
// closes, std::length_error past max_head).
coroutine<std::string> read_head(stream& conn, const server_options& options, bool kept_alive) {
    const bool idle = kept_alive && conn.buffered() == 0;
    aio::timeout deadline(idle ? options.keepalive_timeout : options.head_timeout);
    detail::task_state* running = co_await detail::current_task();
    deadline.enter(running);
    std::exception_ptr error;
    std::string head;
    try {
        if (idle) {
            const bool more = co_await conn.wait_for_bytes();   // false: read_until sees the end
            if (more && !deadline.expired() && conn.peek().find("\r\n\r\n") == std::string_view::npos)
                deadline.reschedule(get_running_loop().time() + options.head_timeout);
        }
        head = co_await conn.read_until("\r\n\r\n", options.max_head);
    } catch (...) {
        error = std::current_exception();
    }
    deadline.exit(error);   // aio::timeout_error if the deadline cancelled the read
    if (error) std::rethrow_exception(error);
    co_return head;
}
// ANCHOR_END: read_head
#endif // lesson 11

// ANCHOR: serve_connection
coroutine<> serve_connection(stream conn, std::shared_ptr<const handler> on_request, server_options options) {
    std::string answer;   // one buffer for every answer on this connection: no allocation each
#if AIO_LESSON >= 11
    for (bool kept_alive = false;; kept_alive = true) {
        std::string bytes;
        bool late = false;
        try {
            bytes = co_await read_head(conn, options, kept_alive);
        } catch (const incomplete_read_error&) {
            co_return;   // the client closed the connection (between requests, or in the middle)
        } catch (const std::length_error&) {
            bytes.clear();
        } catch (const aio::timeout_error&) {
            late = true;
        }
        if (late) {
            // Idle for too long, or silent from the start: closed without a word, as HTTP allows
            // (a client retries on a new connection). Part of a head came: 408, then closed.
            if (conn.buffered() == 0) co_return;
            const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(options.head_timeout);
            co_await refuse(conn, 408, "request head not received within " + std::to_string(limit.count()) + " ms");
            co_return;
        }
#else
    for (;;) {
        std::string bytes;
        try {
            bytes = co_await conn.read_until("\r\n\r\n", options.max_head);
        } catch (const incomplete_read_error&) {
            co_return;   // the client closed the connection (between requests, or in the middle)
        } catch (const std::length_error&) {
            bytes.clear();
        }
#endif // lesson 11
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
#if AIO_LESSON >= 11
    if (options.keepalive_timeout <= duration::zero() || options.head_timeout <= duration::zero())
        throw std::invalid_argument("serve: keepalive_timeout and head_timeout must be positive");
#endif // lesson 11
    auto shared = std::make_shared<const handler>(std::move(on_request));
    server::handler on_connection = [shared, options](stream conn) {
        return guarded_connection(std::move(conn), shared, options);
    };
    co_return co_await start_server(std::move(on_connection), std::move(host), port);
}

} // namespace aio::http
