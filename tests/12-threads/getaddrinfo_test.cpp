// Lesson 12 — getaddrinfo off the loop, and the streams that use it. (The hole table is in
// to_thread_test.cpp.) No test asks DNS: "127.1" is a name to inet_pton but a number to the C
// library's getaddrinfo, and a name with an empty label ("no..such.host") is refused by the
// C library before any question is sent (checked with strace: no packet leaves).
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/no_leaks.hpp"
#include "support/threads.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <stdexcept>
#include <string>
#include <vector>

using aio_test::require_thread_answers;

TEST_CASE("getaddrinfo: literals and localhost are answered without a thread") {
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        auto v4 = co_await aio::getaddrinfo("127.0.0.1", 80);
        CHECK(v4 == std::vector<aio::address_info>{{AF_INET, "127.0.0.1", 80}});
        auto v6 = co_await aio::getaddrinfo("0:0::1", 443);
        CHECK(v6 == std::vector<aio::address_info>{{AF_INET6, "::1", 443}});
        auto local = co_await aio::getaddrinfo("localhost", 8080);
        CHECK(local == std::vector<aio::address_info>{{AF_INET, "127.0.0.1", 8080}, {AF_INET6, "::1", 8080}});
        CHECK(aio::get_running_loop().default_executor().workers() == 0);   // no thread was started
    };
    aio::run(body());
}

TEST_CASE("getaddrinfo: a name is looked up on a thread, the loop's thread never blocks on it") {
    require_thread_answers();
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        auto found = co_await aio::getaddrinfo("127.1", 5000);
        CHECK(found == std::vector<aio::address_info>{{AF_INET, "127.0.0.1", 5000}});
        CHECK(aio::get_running_loop().default_executor().workers() == 1);
    };
    aio::run(body());
}

TEST_CASE("getaddrinfo: an unknown name is aio::gai_error naming the host; an empty one is "
          "std::invalid_argument") {
    require_thread_answers();
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        std::string what;
        int code = 0;
        try {
            co_await aio::getaddrinfo("no..such.host", 80);
        } catch (const aio::gai_error& e) {
            what = e.what();
            code = e.code();
        }
        CHECK(what == "getaddrinfo('no..such.host'): Name or service not known");
        CHECK(code == EAI_NONAME);
        bool refused = false;
        try {
            co_await aio::getaddrinfo("", 80);
        } catch (const std::invalid_argument&) {
            refused = true;
        }
        CHECK(refused);
    };
    aio::run(body());
}

TEST_CASE("getaddrinfo: open_connection and start_server resolve names through it") {
    require_thread_answers();
    no_leaks check;
    auto body = []() -> aio::coroutine<> {
        auto echo_once = [](aio::stream s) -> aio::coroutine<> {
            std::string line = co_await s.read_line();
            co_await s.write(line);
        };
        aio::server server = co_await aio::start_server(echo_once, "127.1", 0);
        aio::stream client = co_await aio::open_connection("127.1", server.port());
        co_await client.write("over 127.1\n");
        std::string back = co_await client.read_line();
        CHECK(back == "over 127.1\n");
        bool failed = false;
        try {
            co_await aio::open_connection("no..such.host", 80);
        } catch (const aio::gai_error&) {
            failed = true;
        }
        CHECK(failed);
        server.close();
    };
    aio::run(body());
}
