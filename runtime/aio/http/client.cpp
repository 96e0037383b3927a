// aio/http/client.cpp — lesson 09: client_session (see http/client.hpp).
#include "aio/http/client.hpp"
#include "aio/http/body.hpp"
#include "aio/not_implemented.hpp"
#include "aio/cancelled_error.hpp"
#include "aio/task.hpp"
#if AIO_LESSON >= 11
#include "aio/detail/current_task.hpp"
#include "aio/timeout.hpp"
#endif // lesson 11

#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <system_error>

namespace aio::http {

namespace {

// ANCHOR: request_bytes
// Is `name` one of the headers that say where a message ends, or what becomes of the connection?
bool framing_header(std::string_view name) {
    return equal_ignoring_case(name, "Content-Length") || equal_ignoring_case(name, "Transfer-Encoding") ||
           equal_ignoring_case(name, "Connection");
}

std::string request_bytes(const std::string& method, const url& where, const std::string& body,
                          const headers& extra) {
    // Everything is checked before the first byte is written: a name that is not a token or a
    // value with a CR, LF or NUL would let the caller's data end the line and write its own.
    const std::string authority = where.authority();
    std::string_view host = authority;
    for (const auto& [name, value] : extra) {
        if (!is_token(name)) throw std::invalid_argument("request: invalid header name " + quote(name));
        if (!is_field_value(value))
            throw std::invalid_argument("request: the value of " + name + " contains a control character: " + quote(value));
        // The framing is ours: a caller's Content-Length beside our own, or a chunked one over a
        // body we send whole, would tell the server a length that is not the body's.
        if (framing_header(name))
            throw std::invalid_argument("request: " + name + " is the client's to send, not the caller's");
        if (equal_ignoring_case(name, "Host")) host = value;   // as aiohttp: the caller's (last) Host wins
    }
    std::string out = method + " " + where.target + " HTTP/1.1\r\n";
    out.append("Host: ").append(host).append("\r\n");
    if (!extra.contains("User-Agent")) out += "User-Agent: aio/0.9\r\n";
    if (!extra.contains("Accept")) out += "Accept: */*\r\n";
    for (const auto& [name, value] : extra)
        if (!equal_ignoring_case(name, "Host")) out += name + ": " + value + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT")
        out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "\r\n";
    out += body;
    return out;
}
// ANCHOR_END: request_bytes

#if AIO_LESSON >= 11
std::string as_ms(duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}
#else
// Cancels a timer when the request is over, however it ends (even if its frame is destroyed).
class timer_guard {
public:
    explicit timer_guard(timer_handle timer) : timer_(timer) {}
    ~timer_guard() { timer_.cancel(); }
    timer_guard(const timer_guard&) = delete;
    timer_guard& operator=(const timer_guard&) = delete;

private:
    timer_handle timer_;
};
#endif // lesson 11

} // namespace

client_session::client_session(client_options options) : options_(options) {
    if (options_.timeout <= duration::zero())
        throw std::invalid_argument("client_session: the timeout must be positive");
    if (options_.max_redirects < 0)
        throw std::invalid_argument("client_session: max_redirects must not be negative");
#if AIO_LESSON >= 11
    if (options_.sock_read && *options_.sock_read <= duration::zero())
        throw std::invalid_argument("client_session: sock_read must be positive");
#endif // lesson 11
}

coroutine<response> client_session::get(std::string url, headers extra) {
    co_return co_await request("GET", std::move(url), {}, std::move(extra));
}

// ANCHOR: request
#if AIO_LESSON >= 11
// Lesson 11: the whole request is a timeout block over the caller's task (aio/timeout.hpp), as
// wait_for would make it, but written with the block's two halves, enter() and exit(), to give
// the error the URL and the limit. The caller's own cancellation goes through untouched.
coroutine<response> client_session::request(std::string method, std::string url_text, std::string body,
                                            headers extra) {
    url where = parse_url(url_text);   // a bad URL fails here, before any I/O
    if (!is_token(method)) throw std::invalid_argument("request: invalid method " + quote(method));
    aio::timeout deadline(options_.timeout);
    detail::task_state* running = co_await detail::current_task();
    deadline.enter(running);
    std::exception_ptr error;
    std::optional<response> answer;
    try {
        response r = co_await follow_redirects(std::move(method), std::move(where), std::move(body), std::move(extra));
        answer.emplace(std::move(r));
    } catch (...) {
        error = std::current_exception();
    }
    try {
        deadline.exit(error);   // aio::timeout_error if our deadline cancelled the request
    } catch (const aio::timeout_error&) {
        throw timeout_error("request to " + url_text + " timed out after " + as_ms(options_.timeout));
    }
    if (error) {
        try {
            std::rethrow_exception(error);
        } catch (const timeout_error&) {
            throw;
        } catch (const aio::timeout_error&) {   // a stream's read bound: sock_read
            if (!options_.sock_read) throw;
            throw timeout_error("request to " + url_text + " timed out: nothing read for " +
                                as_ms(*options_.sock_read) + " (sock_read)");
        }
    }
    co_return std::move(*answer);
}
#else
// The request runs as a task of its own, so that a timer can cancel it: the timeout is a
// cancellation that we turn into a timeout_error (lesson 11 gives this pattern a name: wait_for).
coroutine<response> client_session::request(std::string method, std::string url_text, std::string body,
                                            headers extra) {
    url where = parse_url(url_text);   // a bad URL fails here, before any I/O
    if (!is_token(method)) throw std::invalid_argument("request: invalid method " + quote(method));
    task<response> work =
        create_task(follow_redirects(std::move(method), std::move(where), std::move(body), std::move(extra)));
    auto timed_out = std::make_shared<bool>(false);
    event_loop::callback on_timeout = [work, timed_out]() mutable {
        *timed_out = true;
        work.cancel();
    };
    timer_guard guard(get_running_loop().call_later(options_.timeout, std::move(on_timeout)));
    try {
        co_return co_await work;
    } catch (const cancelled_error&) {
        if (!*timed_out) {
            work.cancel();   // we are being cancelled: the request goes down with us
            throw;
        }
    }
    throw timeout_error("request to " + url_text + " timed out after " +
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(options_.timeout).count()) +
                        " ms");
}
#endif // lesson 11
// ANCHOR_END: request

// ANCHOR: follow_redirects
coroutine<response> client_session::follow_redirects(std::string method, url where, std::string body,
                                                     headers extra) {
#if AIO_EXERCISE == 9
    (void)method, (void)where, (void)body, (void)extra;
    throw not_implemented("lesson 09, hole follow_redirects: exchange() the request; set r.url; "
                          "on 301/302/303/307/308 with a Location, resolve_location() and go "
                          "again (more than max_redirects: too_many_redirects; max_redirects 0: "
                          "return the 3xx as it is); a 303 becomes a "
                          "GET without a body (HEAD stays HEAD), and so does a POST on 301/302; "
                          "drop Authorization, Cookie and Host when the host:port changes");
    co_return response();   // (never reached: keeps the stub a coroutine)
#else
    for (int redirects = 0;; ++redirects) {
        response r = co_await exchange(method, where, body, extra);
        r.url = "http://" + where.authority() + where.target;
        const std::string* location = r.headers.find("Location");
        const bool redirect = r.status == 301 || r.status == 302 || r.status == 303 ||
                              r.status == 307 || r.status == 308;
        // max_redirects 0: redirects are not followed, and a 3xx is an answer like any other.
        if (!redirect || location == nullptr || options_.max_redirects == 0) co_return r;
        if (redirects == options_.max_redirects)
            throw too_many_redirects("more than " + std::to_string(options_.max_redirects) +
                                     " redirects, the last to " + *location);
        url next = resolve_location(where, *location);
        // As aiohttp: a 303 is answered with a GET (but a HEAD stays a HEAD), a 301 or 302 to a
        // POST too, as every browser does; 307 and 308 repeat the request as it was.
        if ((r.status == 303 && method != "HEAD") || ((r.status == 301 || r.status == 302) && method == "POST")) {
            method = "GET";
            body.clear();
        }
        // Credentials are for the host they were meant for; so is a Host the caller gave.
        if (next.authority() != where.authority()) {
            extra.remove("Authorization");
            extra.remove("Cookie");
            extra.remove("Host");
        }
        where = std::move(next);
    }
#endif
}
// ANCHOR_END: follow_redirects

namespace {
// ANCHOR: silent
// An idle connection has nothing to say until we ask. Bytes that came while it sat idle (or its
// close) answer no request of ours: taken for the next answer, they would let whoever sent them
// choose it. recv with MSG_PEEK looks without taking, MSG_DONTWAIT without waiting; EAGAIN
// means "nothing there". (urllib3 checks a pooled connection the same way before reuse.)
bool silent(const stream& conn) {
    char byte;
    return conn.buffered() == 0 && ::recv(conn.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
           (errno == EAGAIN || errno == EWOULDBLOCK);
}
// ANCHOR_END: silent
} // namespace

std::unique_ptr<stream> client_session::take_idle(const std::string& authority) {
    for (auto it = idle_.rbegin(); it != idle_.rend();) {
        if (it->authority != authority) {
            ++it;
            continue;
        }
        std::unique_ptr<stream> conn = std::move(it->conn);
        it = std::make_reverse_iterator(idle_.erase(std::next(it).base()));
        if (silent(*conn)) return conn;   // else it closes here, and we look further
    }
    return nullptr;
}

namespace {
// More than a client has any use for: a 100 Continue and a few 103 Early Hints.
constexpr int max_interim_responses = 10;

// Methods that mean the same when sent twice (RFC 9110, 9.2.2): only those are retried.
bool idempotent(const std::string& method) {
    return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
           method == "OPTIONS" || method == "TRACE";
}
} // namespace

// ANCHOR: exchange
// One request and its response, on a kept-alive connection if the session has one.
coroutine<response> client_session::exchange(const std::string& method, const url& where,
                                             const std::string& body, const headers& extra) {
    const std::string bytes = request_bytes(method, where, body, extra);
    const std::string authority = where.authority();
#if AIO_LESSON >= 10
    connection_limits::held slots = co_await limits_.acquire(authority);   // until we return
#endif // lesson 10
    std::unique_ptr<stream> conn = take_idle(authority);
    if (conn) {
        bool answered = false;
        try {
            co_return co_await exchange_on(conn, method, where, bytes, answered);
        } catch (const std::system_error&) {
            if (answered || !idempotent(method)) throw;
        } catch (const incomplete_read_error&) {
            if (answered) throw;
            if (!idempotent(method))
                throw protocol_error("the server at " + authority + " closed a kept-alive connection "
                                     "without answering (" + method + " is not retried)");
        }
        // The server closed the idle connection before we used it: once more, on a new one.
    }
    stream fresh = co_await open_connection(where.host, where.port);
#if AIO_LESSON >= 11
    fresh.set_read_timeout(options_.sock_read);   // kept while the connection is
#endif // lesson 11
    conn = std::make_unique<stream>(std::move(fresh));
    bool answered = false;
    try {
        co_return co_await exchange_on(conn, method, where, bytes, answered);
    } catch (const incomplete_read_error&) {
        if (answered) throw;
    }
    throw protocol_error("the server at " + authority + " closed the connection without answering");
}
// ANCHOR_END: exchange

// ANCHOR: exchange_on
coroutine<response> client_session::exchange_on(std::unique_ptr<stream>& connection, const std::string& method,
                                                const url& where, const std::string& request_bytes,
                                                bool& answered) {
    stream& conn = *connection;
    co_await conn.write(request_bytes);
    response_head head;
    // Interim responses ("100 Continue", "103 Early Hints") come before the answer: skipped, but
    // counted, or a server could keep us reading them for as long as it likes.
    for (int interim = 0;; ++interim) {
        std::string bytes;
        try {
            bytes = co_await conn.read_until("\r\n\r\n", options_.max_head);
        } catch (const std::length_error&) {
            answered = true;
            throw protocol_error("response head larger than " + std::to_string(options_.max_head) + " bytes");
        } catch (const incomplete_read_error& e) {
            if (e.partial.empty() && !answered) throw;   // closed without a word (exchange() knows what to do)
            if (e.partial.empty()) throw protocol_error("the server closed after an interim response, before the answer");
            answered = true;
            throw protocol_error("response head cut off after " + std::to_string(e.partial.size()) + " bytes");
        }
        answered = true;
        head = parse_response_head(bytes);
        if (head.status >= 200) break;
        // After a 101 the connection speaks another protocol, which we never asked for.
        if (head.status == 101) throw protocol_error("101 Switching Protocols, but no upgrade was asked for");
        if (interim == max_interim_responses)
            throw protocol_error("more than " + std::to_string(max_interim_responses) + " interim (1xx) responses");
    }
    body_framing framing = response_body_framing(head, method);
    response r;
    r.body = co_await read_body(conn, framing, options_.max_body);
    r.status = head.status;
    r.reason = std::move(head.reason);
    r.headers = std::move(head.headers);
    // Reusable only if the body ended where its framing said and nothing came after it: bytes
    // past the end (more than Content-Length, a body after a 204) would be read as the next
    // answer.
    if (framing.kind != body_framing::until_close && conn.buffered() == 0 &&
        keeps_alive(head.minor_version, r.headers))
        idle_.emplace_back(where.authority(), std::move(connection));
    co_return r;
}
// ANCHOR_END: exchange_on

coroutine<response> get(std::string url, client_options options) {
    client_session session(options);
    co_return co_await session.get(std::move(url));
}

} // namespace aio::http
