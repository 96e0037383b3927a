// Lesson 07: async context managers — the C++ port of example.py.
#include <aio/aio.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

std::string what(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    }
}

// A pretend network connection whose close needs a round trip.
class connection {
public:
    explicit connection(std::string name) : name(std::move(name)) {}

    aio::coroutine<connection*> aenter() {
        co_await aio::sleep(10ms);
        std::printf("%s: connected\n", name.c_str());
        co_return this;
    }

    aio::coroutine<bool> aexit(std::exception_ptr error) {
        co_await aio::sleep(10ms);   // say goodbye to the server
        std::string how = error ? "after '" + what(error) + "'" : "cleanly";
        std::printf("%s: closed %s\n", name.c_str(), how.c_str());
        co_return false;
    }

    std::string name;
};

// Python's @asynccontextmanager: acquire, yield once, release.
aio::async_context_manager<std::string> transaction(std::string name) {
    std::printf("%s: begin\n", name.c_str());
    try {
        co_yield name;
    } catch (const std::invalid_argument& e) {
        std::printf("%s: rollback, because %s\n", name.c_str(), e.what());
        throw;
    }
    co_await aio::sleep(10ms);
    std::printf("%s: commit\n", name.c_str());
}

aio::coroutine<> say(std::string text) {
    std::printf("%s\n", text.c_str());
    co_return;
}

aio::coroutine<> main_coro() {
    connection db("db");
    co_await aio::async_with(db, [](connection* conn) -> aio::coroutine<> {
        std::printf("using %s\n", conn->name.c_str());
        co_return;
    });

    connection cache("cache");
    try {
        co_await aio::async_with(cache, [](connection*) -> aio::coroutine<> {
            throw std::invalid_argument("lost the key");
            co_return;
        });
    } catch (const std::invalid_argument& e) {
        std::printf("main: caught %s\n", e.what());
    }

    auto t1 = transaction("t1");
    co_await aio::async_with(t1, [](std::string& t) -> aio::coroutine<> {
        std::printf("%s: insert a row\n", t.c_str());
        co_return;
    });
    auto t2 = transaction("t2");
    try {
        co_await aio::async_with(t2, [](std::string&) -> aio::coroutine<> {
            throw std::invalid_argument("constraint violated");
            co_return;
        });
    } catch (const std::invalid_argument&) {
        std::printf("main: t2 failed\n");
    }

    std::vector<connection> servers;
    for (int i = 0; i < 3; ++i) servers.emplace_back("server" + std::to_string(i));
    aio::exit_stack stack;
    auto talk = [&servers](aio::exit_stack* s) -> aio::coroutine<> {   // named first: see
        for (connection& server : servers) co_await s->enter_async_context(server);   // CODING.md
        s->push_async_callback([] { return say("the stack says goodbye first: last in, first out"); });
        std::printf("talking to %zu servers\n", servers.size());
    };
    co_await aio::async_with(stack, talk);
    std::printf("done\n");
}

int main() { aio::run(main_coro()); }
