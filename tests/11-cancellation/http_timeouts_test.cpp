// Lesson 11: the time bounds of aio::http, as timeout blocks — the server's keepalive_timeout and
// head_timeout (runtime/aio/http/server.hpp), the client's total timeout and sock_read
// (runtime/aio/http/client.hpp). Real sockets on 127.0.0.1, on the real clock, so the bounds are
// short (a few hundred ms) and the checks on elapsed time leave room for a busy machine. Every
// wait is bounded: the raw clients below read under a stream read timeout, the sessions have
// their total timeout, and the test servers wait for ever on nothing but their client.
// The hole table is in timeout_test.cpp.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/fds.hpp"
#include "support/no_leaks.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

namespace {

aio::time_point now() { return aio::get_running_loop().time(); }

std::string url(std::uint16_t port, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port) + path;
}

aio::coroutine<aio::http::response> say_ok(aio::http::request) {
    aio::http::response out;
    out.body = "ok";
    co_return out;
}

aio::coroutine<aio::server> ok_server(aio::http::server_options options) {
    co_return co_await aio::http::serve(say_ok, "127.0.0.1", 0, options);
}

// A raw client's request on a kept-alive connection, and say_ok's answer read to its end.
aio::coroutine<std::string> ask(aio::stream* conn, std::string path) {
    co_await conn->write("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n");
    std::string head = co_await conn->read_until("\r\n\r\n");
    std::string body = co_await conn->read_exactly(2);   // "ok"
    co_return head.substr(0, head.find('\r')) + " " + body;
}

// What became of a client that sends a head one byte every 100 ms (a slowloris).
struct drip_outcome {
    std::size_t sent = 0;   // bytes of the head sent before the server hung up
    std::string heard;      // what the server said meanwhile
    bool reset = false;     // the server's close came as a reset, not an end of stream
    bool ended = false;     // the server hung up (else: the whole head went, and 2 s of silence)
    aio::duration took{};   // from the first byte to the hang-up
};

// Sends `head` on `conn` one byte every 100 ms, listening between two bytes, until the server
// hangs up (or, all sent, until it has been silent for 2 s).
aio::coroutine<drip_outcome> drip(aio::stream* conn, std::string head) {
    drip_outcome out;
    conn->set_read_timeout(100ms);   // each read listens for 100 ms: the pace of the drip
    const aio::time_point start = now();
    for (int quiet_rounds = 0; quiet_rounds < 20;) {
        if (out.sent < head.size()) {
            const std::string_view next = std::string_view(head).substr(out.sent, 1);
            bool reset = false;
            try {
                co_await conn->write(next);
            } catch (const std::system_error&) {
                reset = true;
            }
            if (reset) {
                out.reset = out.ended = true;
                break;
            }
            ++out.sent;
        } else {
            ++quiet_rounds;
        }
        std::string got;
        bool quiet = false;
        try {
            got = co_await conn->read();
        } catch (const aio::timeout_error&) {
            quiet = true;
        } catch (const std::system_error&) {
            out.reset = out.ended = true;
            break;
        }
        if (quiet) continue;
        if (got.empty()) {
            out.ended = true;
            break;
        }
        out.heard += got;
    }
    out.took = now() - start;
    co_return out;
}

aio::coroutine<drip_outcome> slowloris(std::uint16_t port, std::string head) {
    aio::stream conn = co_await aio::open_connection("127.0.0.1", port);
    drip_outcome out = co_await drip(&conn, std::move(head));
    co_return out;
}

// A well-behaved client meanwhile: four GETs on one session, 50 ms apart; when each was answered.
aio::coroutine<std::vector<aio::duration>> polite(std::uint16_t port) {
    aio::http::client_options options;
    options.timeout = 2s;
    aio::http::client_session session(options);
    const aio::time_point start = now();
    std::vector<aio::duration> answered;
    for (int i = 0; i < 4; ++i) {
        aio::http::response r = co_await session.get(url(port, "/polite"));
        CHECK(r.body == "ok");
        answered.push_back(now() - start);
        co_await aio::sleep(50ms);
    }
    co_return answered;
}

const std::string slow_head =
    "GET /slow HTTP/1.1\r\nHost: test\r\nUser-Agent: one byte at a time, for as long as it takes\r\n\r\n";

bool refused_with_408(const drip_outcome& d) {
    // A 408, then the end; or, if a byte of ours was still unread when the server closed, a
    // reset that may have overtaken the 408.
    return d.heard.rfind("HTTP/1.1 408 ", 0) == 0 || (d.reset && d.heard.empty());
}

// ---- hand-made servers for the client's bounds ----------------------------------------------

// Reads a request head, then says nothing, until the client closes.
aio::coroutine<> hear_then_hang(aio::stream conn) {
    try {
        co_await conn.read_until("\r\n\r\n");
        for (;;) {
            std::string more = co_await conn.read();
            if (more.empty()) break;
        }
    } catch (const std::exception&) {
    }
}

// Answers a request with a 10-byte body of which it sends `bytes`, one every `gap`; then says
// nothing more until the client closes.
aio::coroutine<> body_in_drops(aio::stream conn, aio::duration gap, int bytes) {
    try {
        co_await conn.read_until("\r\n\r\n");
        co_await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        for (int i = 0; i < bytes; ++i) {
            co_await aio::sleep(gap);
            co_await conn.write("x");
        }
        for (;;) {
            std::string more = co_await conn.read();
            if (more.empty()) break;
        }
    } catch (const std::exception&) {
    }
}

// GET /hop is answered after 300 ms with a redirect to /hang, on the same connection; /hang never.
aio::coroutine<> hop_then_hang(aio::stream conn) {
    try {
        for (;;) {
            std::string head = co_await conn.read_until("\r\n\r\n");
            if (head.rfind("GET /hop ", 0) != 0) break;
            co_await aio::sleep(300ms);
            co_await conn.write("HTTP/1.1 302 Found\r\nLocation: /hang\r\nContent-Length: 0\r\n\r\n");
        }
        for (;;) {
            std::string more = co_await conn.read();
            if (more.empty()) break;
        }
    } catch (const std::exception&) {
    }
}

aio::coroutine<aio::server> raw_server(aio::server::handler on_connection) {
    co_return co_await aio::start_server(std::move(on_connection), "127.0.0.1", 0);
}

// What a session's GET of `target` threw: "http: <what>" for an http::timeout_error (caught as
// aio::timeout_error, so that the test sees it is one), "other: ..." else, "" when it answered.
aio::coroutine<std::string> get_failure(aio::http::client_session* session, std::string target) {
    try {
        co_await session->get(std::move(target));
    } catch (const aio::timeout_error& e) {
        const bool http = dynamic_cast<const aio::http::timeout_error*>(&e) != nullptr;
        co_return std::string(http ? "http: " : "other: ") + e.what();
    }
    co_return "";
}

aio::coroutine<> get_into(aio::http::client_session* session, std::string target, aio::http::response* out) {
    *out = co_await session->get(std::move(target));
}

} // namespace

TEST_CASE("http_timeouts: a slowloris client, one byte every 100 ms, gets a 408 and is disconnected "
          "after head_timeout, while the server answers others meanwhile") {
    no_leaks check;
    const int fds_before = open_fd_count();
    auto main = []() -> aio::coroutine<> {
        aio::http::server_options options;
        options.head_timeout = 300ms;
        aio::server s = co_await ok_server(options);
        auto [slow, others] = co_await aio::gather(slowloris(s.port(), slow_head), polite(s.port()));
        CHECK(slow.ended);
        CHECK(refused_with_408(slow));
        CHECK(slow.took >= 250ms);   // not before its time...
        CHECK(slow.took < 2s);       // ...and long before the head could have been complete
        CHECK(slow.sent < slow_head.size());
        REQUIRE(others.size() == 4);
        CHECK(others.back() < slow.took);   // all four answered while the slowloris held on
        s.close();
    };
    aio::run(main());
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("http_timeouts: a connection that never sends a byte is closed without a word after "
          "head_timeout") {
    no_leaks check;
    auto main = []() -> aio::coroutine<> {
        aio::http::server_options options;
        options.head_timeout = 200ms;
        options.keepalive_timeout = 10s;   // not this one: a new connection is not idle, it is late
        aio::server s = co_await ok_server(options);
        aio::stream conn = co_await aio::open_connection("127.0.0.1", s.port());
        conn.set_read_timeout(3s);
        const aio::time_point start = now();
        std::string heard = co_await conn.read();
        const aio::duration took = now() - start;
        CHECK(heard.empty());   // the end of the stream, and no 408: nothing was asked
        CHECK(took >= 150ms);
        CHECK(took < 2s);
    };
    aio::run(main());
}

TEST_CASE("http_timeouts: an idle kept-alive connection is closed without a word after "
          "keepalive_timeout; each request starts the idle clock again") {
    no_leaks check;
    const int fds_before = open_fd_count();
    auto main = []() -> aio::coroutine<> {
        aio::http::server_options options;
        options.keepalive_timeout = 300ms;
        options.head_timeout = 10s;   // not this one: nothing of a head comes
        aio::server s = co_await ok_server(options);
        aio::stream conn = co_await aio::open_connection("127.0.0.1", s.port());
        conn.set_read_timeout(3s);
        const std::string first = co_await ask(&conn, "/1");
        CHECK(first == "HTTP/1.1 200 OK ok");
        co_await aio::sleep(200ms);   // idle, but not for long enough
        const std::string second = co_await ask(&conn, "/2");
        CHECK(second == "HTTP/1.1 200 OK ok");
        co_await aio::sleep(200ms);   // 400 ms since the first request, 200 since the last
        const std::string third = co_await ask(&conn, "/3");
        CHECK(third == "HTTP/1.1 200 OK ok");
        const aio::time_point idle_from = now();
        std::string heard = co_await conn.read();
        const aio::duration idle = now() - idle_from;
        CHECK(heard.empty());
        CHECK(idle >= 250ms);
        CHECK(idle < 2s);
        s.close();
    };
    aio::run(main());
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("http_timeouts: on a kept-alive connection the head_timeout starts at the head's first "
          "byte, not when the connection fell idle") {
    no_leaks check;
    auto main = []() -> aio::coroutine<> {
        aio::http::server_options options;
        options.keepalive_timeout = 5s;
        options.head_timeout = 300ms;
        aio::server s = co_await ok_server(options);
        aio::stream conn = co_await aio::open_connection("127.0.0.1", s.port());
        conn.set_read_timeout(3s);
        const std::string first = co_await ask(&conn, "/1");
        CHECK(first == "HTTP/1.1 200 OK ok");
        co_await aio::sleep(500ms);   // idle for longer than head_timeout: allowed
        const std::string second = co_await ask(&conn, "/2");
        CHECK(second == "HTTP/1.1 200 OK ok");
        co_await aio::sleep(100ms);
        drip_outcome slow = co_await drip(&conn, slow_head);   // a slowloris on a kept-alive connection
        CHECK(slow.ended);
        CHECK(refused_with_408(slow));
        CHECK(slow.took >= 250ms);
        CHECK(slow.took < 2s);
        s.close();
    };
    aio::run(main());
}

TEST_CASE("http_timeouts: the client's total timeout is an http::timeout_error, an aio::timeout_error, "
          "naming the URL and the limit; it spans redirects; no fd and no timer is left") {
    no_leaks check;
    const int fds_before = open_fd_count();
    auto main = []() -> aio::coroutine<> {
        aio::server hang = co_await raw_server(hear_then_hang);
        aio::server hop = co_await raw_server(hop_then_hang);
        aio::http::client_options options;
        options.timeout = 150ms;
        aio::http::client_session session(options);
        const std::string silent = url(hang.port(), "/silent");
        const aio::time_point start = now();
        const std::string failure = co_await get_failure(&session, silent);
        const aio::duration took = now() - start;
        CHECK(failure == "http: request to " + silent + " timed out after 150 ms");
        CHECK(took >= 140ms);
        CHECK(took < 2s);
        CHECK(session.idle_connections() == 0);
        CHECK(aio::get_running_loop().scheduled_timers() == 0);

        // One bound for the whole request: the redirect comes after 300 ms of 450, and the
        // request it leads to has the 150 ms that are left, not 450 of its own.
        aio::http::client_options redirected;
        redirected.timeout = 450ms;
        aio::http::client_session hopping(redirected);
        const std::string first = url(hop.port(), "/hop");
        const aio::time_point hop_start = now();
        const std::string hop_failure = co_await get_failure(&hopping, first);
        const aio::duration hop_took = now() - hop_start;
        CHECK(hop_failure == "http: request to " + first + " timed out after 450 ms");
        CHECK(hop_took >= 430ms);
        CHECK(hop_took < 700ms);   // 750 ms had each hop had its own 450
        CHECK(aio::get_running_loop().scheduled_timers() == 0);
        hang.close();
        hop.close();
    };
    aio::run(main());
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("http_timeouts: sock_read bounds each silence of the server, not the whole answer: a "
          "body in slow drops arrives, a server that stops is an http::timeout_error at once") {
    no_leaks check;
    const int fds_before = open_fd_count();
    auto main = []() -> aio::coroutine<> {
        auto steady = [](aio::stream conn) { return body_in_drops(std::move(conn), 40ms, 10); };
        auto stalls = [](aio::stream conn) { return body_in_drops(std::move(conn), 20ms, 3); };
        aio::server steady_server = co_await raw_server(steady);
        aio::server stalling_server = co_await raw_server(stalls);
        aio::http::client_options options;
        options.timeout = 5s;
        options.sock_read = 150ms;
        aio::http::client_session session(options);

        aio::http::response r;
        co_await get_into(&session, url(steady_server.port(), "/steady"), &r);   // 400 ms in all
        CHECK(r.body == "xxxxxxxxxx");

        const std::string stalling = url(stalling_server.port(), "/stalls");
        const aio::time_point start = now();
        const std::string failure = co_await get_failure(&session, stalling);
        const aio::duration took = now() - start;
        CHECK(failure == "http: request to " + stalling + " timed out: nothing read for 150 ms (sock_read)");
        CHECK(took >= 190ms);   // three drops 20 ms apart, then 150 ms of silence
        CHECK(took < 2s);       // not the 5 s of the total
        CHECK(session.idle_connections() == 1);   // the steady one; the stalled one is closed
        session.close();
        CHECK(aio::get_running_loop().scheduled_timers() == 0);
        steady_server.close();
        stalling_server.close();
    };
    aio::run(main());
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("http_timeouts: an outer timeout around a request goes through the request's own "
          "timeout block as an aio::timeout_error of its own, not as http::timeout_error") {
    no_leaks check;
    const int fds_before = open_fd_count();
    auto main = []() -> aio::coroutine<> {
        aio::server hang = co_await raw_server(hear_then_hang);
        aio::http::client_options options;
        options.timeout = 5s;
        options.sock_read = 3s;
        aio::http::client_session session(options);
        std::string failure = "no timeout";
        aio::http::response r;
        auto outer = aio::timeout(100ms);
        auto request = [&session, &r, target = url(hang.port(), "/silent")]() {
            return get_into(&session, target, &r);
        };
        const aio::time_point start = now();
        try {
            co_await aio::async_with(outer, request);
        } catch (const aio::http::timeout_error& e) {
            failure = std::string("http::timeout_error: ") + e.what();
        } catch (const aio::timeout_error&) {
            failure = "";
        }
        const aio::duration took = now() - start;
        CHECK(failure == "");
        CHECK(outer.expired());
        CHECK(took < 2s);
        CHECK(session.idle_connections() == 0);
        CHECK(aio::get_running_loop().scheduled_timers() == 0);
        hang.close();
    };
    aio::run(main());
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("http_timeouts: bounds that are not positive are refused at once") {
    no_leaks check;
    aio::http::client_options no_read;
    no_read.sock_read = 0ms;
    CHECK_THROWS_AS(aio::http::client_session{no_read}, std::invalid_argument);
    no_read.sock_read = -5ms;
    CHECK_THROWS_AS(aio::http::client_session{no_read}, std::invalid_argument);
    auto main = []() -> aio::coroutine<> {
        aio::http::server_options never_idle;
        never_idle.keepalive_timeout = 0s;
        CHECK_THROWS_AS(co_await ok_server(never_idle), std::invalid_argument);   // (before listening)
        aio::http::server_options no_head;
        no_head.head_timeout = -1s;
        CHECK_THROWS_AS(co_await ok_server(no_head), std::invalid_argument);
    };
    aio::run(main());
}
