// Lesson 10: client_session's connection limits, aiohttp's TCPConnector limit and
// limit_per_host (runtime/aio/http/connection_limits.hpp), against our own server on 127.0.0.1.
// The hole table is in lock_test.cpp.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/fds.hpp"
#include "support/no_leaks.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// How many requests are being served at once, at most: of one server, or of several together.
struct busy_count {
    int busy = 0;
    int most = 0;
};

// A server that takes `work` per request and counts itself busy while it works (in `together`
// too, when given one).
struct busy_server {
    busy_count own;
    busy_count* together = nullptr;
    aio::duration work = aio::duration(20ms);

    aio::coroutine<aio::http::response> handle(aio::http::request) {
        for (busy_count* c : {&own, together})
            if (c) c->most = std::max(c->most, ++c->busy);
        co_await aio::sleep(work);
        for (busy_count* c : {&own, together})
            if (c) --c->busy;
        aio::http::response out;
        out.body = "done";
        co_return out;
    }
    aio::coroutine<aio::server> start() {
        aio::http::handler on_request = [this](aio::http::request&& r) { return handle(std::move(r)); };
        co_return co_await aio::http::serve(std::move(on_request), "127.0.0.1", 0);
    }
};

std::string url(const aio::server& s) { return "http://127.0.0.1:" + std::to_string(s.port()) + "/"; }

aio::coroutine<int> fetch(aio::http::client_session* session, std::string where) {
    aio::http::response r = co_await session->get(std::move(where));
    co_return r.status;
}

} // namespace

TEST_CASE("connection_limits: at most `limit` requests hold a connection at once, and no more "
          "sockets are opened than that") {
    no_leaks check;
    const int fds_before = open_fd_count();
    auto main = []() -> aio::coroutine<> {
        busy_server backend;
        aio::server server = co_await backend.start();
        aio::http::client_options options;
        options.limit = 3;
        aio::http::client_session session(options);
        std::vector<aio::coroutine<int>> requests;
        for (int i = 0; i < 12; ++i) requests.push_back(fetch(&session, url(server)));
        std::vector<int> statuses = co_await aio::gather(std::move(requests));
        CHECK(statuses == std::vector<int>(12, 200));
        CHECK(backend.own.most == 3);
        CHECK(session.idle_connections() == 3);   // three sockets, each reused four times
    };
    aio::run(main());
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("connection_limits: limit_per_host bounds each host:port on its own, within the "
          "session's limit") {
    no_leaks check;
    auto main = []() -> aio::coroutine<> {
        busy_server a, b;
        aio::server server_a = co_await a.start();
        aio::server server_b = co_await b.start();
        aio::http::client_options options;
        options.limit = 3;
        options.limit_per_host = 2;
        aio::http::client_session session(options);
        std::vector<aio::coroutine<int>> requests;
        for (int i = 0; i < 8; ++i) requests.push_back(fetch(&session, url(i % 2 ? server_b : server_a)));
        co_await aio::gather(std::move(requests));
        CHECK(a.own.most <= 2);
        CHECK(b.own.most <= 2);
        CHECK(a.own.most + b.own.most >= 3);   // both hosts were served side by side
        CHECK(session.idle_connections() <= 4);   // idle ones count in no limit: 2 per host at most
    };
    aio::run(main());
}

TEST_CASE("connection_limits: cancelled while it waits for the session's slot, a request gives "
          "back its host's slot and not the session's") {
    no_leaks check;
    auto main = []() -> aio::coroutine<> {
        busy_count both;
        busy_server a, b;
        a.together = b.together = &both;
        a.work = aio::duration(300ms);
        aio::server server_a = co_await a.start();
        aio::server server_b = co_await b.start();
        aio::http::client_options options;
        options.limit = 1;
        options.limit_per_host = 1;
        options.timeout = aio::duration(5s);   // a slot never given back fails, not hangs
        aio::http::client_session session(options);
        auto on_a = aio::create_task(fetch(&session, url(server_a)));   // holds both slots
        co_await aio::sleep(20ms);
        auto on_b = aio::create_task(fetch(&session, url(server_b)));   // holds b's, waits
        co_await aio::sleep(20ms);
        CHECK_FALSE(on_b.done());
        on_b.cancel();
        CHECK_THROWS_AS(co_await on_b, aio::cancelled_error);
        CHECK(co_await on_a == 200);
        // b's slot came back: without it this request would wait for it until its timeout.
        b.work = aio::duration(50ms);
        a.work = aio::duration(50ms);
        std::vector<aio::coroutine<int>> requests;
        requests.push_back(fetch(&session, url(server_b)));
        requests.push_back(fetch(&session, url(server_a)));
        std::vector<int> statuses = co_await aio::gather(std::move(requests));
        CHECK(statuses == std::vector<int>{200, 200});
        // The session's slot was not given back twice: still one request at a time in all.
        CHECK(both.most == 1);
        CHECK(b.own.most == 1);
    };
    aio::run(main());
}

TEST_CASE("connection_limits: 0 means no bound, as in aiohttp") {
    no_leaks check;
    auto main = []() -> aio::coroutine<> {
        busy_server backend;
        aio::server server = co_await backend.start();
        aio::http::client_options options;
        options.limit = 0;
        aio::http::client_session session(options);
        std::vector<aio::coroutine<int>> requests;
        for (int i = 0; i < 8; ++i) requests.push_back(fetch(&session, url(server)));
        co_await aio::gather(std::move(requests));
        CHECK(backend.own.most == 8);
    };
    aio::run(main());
}
