// Lesson 11: cancellation you can rely on — the C++ port of example.py.
//
// A crawler that gives up in time: one page with a time limit (wait_for), pages fetched together
// in a task group, a deadline over a whole group (timeout), results saved by a task that a
// deadline must not tear (shield), and a group in which one page fails and stops the others.
// Nothing goes over the network: a "fetch" sleeps as long as the table says, and /broken fails.
#include <aio/aio.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

const std::map<std::string, aio::duration> seconds = {
    {"/", 100ms}, {"/about", 200ms}, {"/news", 300ms}, {"/broken", 200ms}, {"/slow", 2s}};

aio::coroutine<int> fetch(std::string path) {
    try {
        co_await aio::sleep(seconds.at(path));
    } catch (const aio::cancelled_error&) {
        std::printf("  %s: cancelled\n", path.c_str());
        throw;   // cleaned up; the cancellation goes on
    }
    if (path == "/broken") throw std::runtime_error(path + ": HTTP 500");
    std::printf("  %s: fetched\n", path.c_str());
    co_return 100 * static_cast<int>(path.size());   // the length of the body we pretend to have read
}

aio::coroutine<std::string> save(int pages) {
    std::printf("  saving...\n");
    co_await aio::sleep(300ms);
    std::printf("  saved\n");
    co_return std::to_string(pages) + " pages saved";
}

aio::coroutine<> main_coro() {
    std::printf("wait_for: one page, at most 0.5 s\n");
    for (std::string path : {"/news", "/slow"}) {
        try {
            int size = co_await aio::wait_for(fetch(path), 500ms);
            std::printf("  %s: %d bytes\n", path.c_str(), size);
        } catch (const aio::timeout_error&) {
            std::printf("  %s: gave up\n", path.c_str());
        }
    }

    std::printf("task group: three pages at once\n");
    {
        aio::task_group group;
        std::vector<aio::task<int>> tasks;
        auto body = [&]() -> aio::coroutine<> {   // named first: see CODING.md
            for (std::string path : {"/", "/news", "/about"}) tasks.push_back(group.create_task(fetch(path)));
            co_return;
        };
        co_await aio::async_with(group, body);
        int total = 0;
        for (aio::task<int>& t : tasks) total += t.result();
        std::printf("  %d bytes\n", total);
    }

    std::printf("timeout: 0.25 s for a whole group\n");
    try {
        auto deadline = aio::timeout(250ms);
        auto crawl = []() -> aio::coroutine<> {
            aio::task_group group;
            auto body = [&]() -> aio::coroutine<> {
                for (std::string path : {"/", "/slow", "/about"}) group.create_task(fetch(path));
                co_return;
            };
            co_await aio::async_with(group, body);
        };
        co_await aio::async_with(deadline, crawl);
    } catch (const aio::timeout_error&) {
        std::printf("  timed out: a timeout, not a failure of the group\n");
    }

    std::printf("shield: a deadline of 0.1 s, a save of 0.3 s\n");
    auto saving = aio::create_task(save(3));
    try {
        auto deadline = aio::timeout(100ms);
        auto wait = [&]() -> aio::coroutine<> { co_await aio::shield(saving); };
        co_await aio::async_with(deadline, wait);
    } catch (const aio::timeout_error&) {
        std::printf("  stopped waiting; the save goes on\n");
    }
    std::string saved = co_await saving;
    std::printf("  %s\n", saved.c_str());

    std::printf("task group: a page fails\n");
    try {
        aio::task_group group;
        auto body = [&]() -> aio::coroutine<> {
            for (std::string path : {"/news", "/broken", "/"}) group.create_task(fetch(path));
            co_return;
        };
        co_await aio::async_with(group, body);
    } catch (const aio::exception_group& failed) {
        for (const std::exception_ptr& error : failed.exceptions()) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                std::printf("  failed: %s\n", e.what());
            }
        }
    }
}

int main() { aio::run(main_coro()); }
