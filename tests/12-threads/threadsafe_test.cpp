// Lesson 12 — call_soon_threadsafe, and the check that other loop calls come from the loop's
// thread. (The hole table is in to_thread_test.cpp.)
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/fds.hpp"
#include "support/no_leaks.hpp"
#include "support/threads.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Runs `body` on a new thread and joins it; what it throws is rethrown here (an exception may
// not leave a thread's function: it would end the test program).
template <typename F>
void on_another_thread(F body) {
    std::exception_ptr error;
    std::thread t([&] {
        try {
            body();
        } catch (...) {
            error = std::current_exception();
        }
    });
    t.join();
    if (error) std::rethrow_exception(error);
}

} // namespace

TEST_CASE("call_soon_threadsafe: wakes a loop asleep in epoll_wait at once") {
    aio::event_loop loop;   // the real clock
    bool woken = false;
    // The loop sleeps in epoll_wait with nothing to wake it but the call itself, a timer 30 s
    // ahead (which fails the test), or a refused call, reported through a pipe (no polling).
    loop.call_later(30s, [&] {
        FAIL_CHECK("the loop slept until its 30 s timer: the call did not wake it");
        loop.stop();
    });
    int refusal[2];
    REQUIRE(::pipe2(refusal, O_CLOEXEC) == 0);
    loop.add_reader(refusal[0], [&] { loop.stop(); });
    std::exception_ptr refused;
    std::thread caller([&] {
        std::this_thread::sleep_for(50ms);   // long enough for the loop to be in epoll_wait
        try {
            loop.call_soon_threadsafe([&] {
                woken = true;
                loop.stop();
            });
        } catch (...) {
            refused = std::current_exception();   // an exception may not leave a thread
            const char byte = 1;
            (void)!::write(refusal[1], &byte, 1);
        }
    });
    const auto started = std::chrono::steady_clock::now();
    loop.run_forever();
    caller.join();
    loop.remove_reader(refusal[0]);
    ::close(refusal[0]);
    ::close(refusal[1]);
    if (refused) std::rethrow_exception(refused);
    CHECK(woken);
    CHECK(std::chrono::steady_clock::now() - started < 10s);
}

TEST_CASE("call_soon_threadsafe: a thread of your own holds a keep_alive_token: the loop waits "
          "for it until it is released") {
    aio_test::require_threadsafe_calls_arrive();   // its thread's token must reach the loop
    no_leaks check;
    // main waits for an event that a thread of its own sets (or not) through the loop.
    auto main_waiting_for = [](bool set_it, std::thread* helper, std::atomic<bool>* released) -> aio::coroutine<> {
        aio::event_loop& loop = aio::get_running_loop();
        auto done = std::make_shared<aio::event>();
        *helper = std::thread([&loop, done, set_it, released, held = loop.keep_alive()]() mutable {
            std::this_thread::sleep_for(20ms);   // the loop has nothing else to do meanwhile
            if (set_it) loop.call_soon_threadsafe([done] { done->set(); });
            released->store(true);
            held.release();   // the last use of the loop by this thread
        });
        co_await done->wait();
    };
    std::thread helper;
    std::atomic<bool> released{false};
    aio::run(main_waiting_for(true, &helper, &released));
    helper.join();
    CHECK(released.load());

    // A thread that lets go without calling: main waits for nothing now, which aio::run reports,
    // but only once the token is released (without one, at once).
    released = false;
    std::string error;
    try {
        aio::run(main_waiting_for(false, &helper, &released));
    } catch (const std::runtime_error& e) {
        error = e.what();
        CHECK(released.load());
    }
    helper.join();
    CHECK(error.find("lost wake-up") != std::string::npos);
}

TEST_CASE("call_soon_threadsafe: 8 threads x 100,000 calls at once, every one delivered, each "
          "thread's in the order it made them") {
    constexpr int threads = 8, calls = 100'000;
    aio::event_loop loop;
    std::vector<int> next(threads, 0);   // the loop's thread only: what each thread's next call is
    long long delivered = 0, out_of_order = 0;
    std::latch go(1);
    std::vector<std::thread> callers;
    std::atomic<int> failures{0};
    for (int t = 0; t < threads; ++t)
        callers.emplace_back([&, t] {
            go.wait();
            try {
                for (int i = 0; i < calls; ++i)
                    loop.call_soon_threadsafe([&, t, i] {
                        if (next[t] != i) ++out_of_order;
                        next[t] = i + 1;
                        if (++delivered == static_cast<long long>(threads) * calls) loop.stop();
                    });
            } catch (...) {
                failures.fetch_add(1);
            }
        });
    loop.call_later(60s, [&] { loop.stop(); });   // a lost call: fail rather than hang
    std::function<void()> watch = [&] {   // a refused call: fail at once
        if (failures.load() > 0) loop.stop();
        else loop.call_later(10ms, watch);
    };
    loop.call_later(10ms, watch);
    go.count_down();
    loop.run_forever();
    for (std::thread& c : callers) c.join();
    CHECK(failures.load() == 0);
    CHECK(delivered == static_cast<long long>(threads) * calls);
    CHECK(out_of_order == 0);
}

TEST_CASE("call_soon_threadsafe: from the loop's own thread too, in order with call_soon") {
    aio::event_loop loop;
    std::vector<int> order;
    loop.call_soon([&] { order.push_back(1); });
    loop.call_soon_threadsafe([&] { order.push_back(2); });
    loop.run_until_idle();
    CHECK(order == std::vector<int>{1, 2});
    CHECK_THROWS_AS(loop.call_soon_threadsafe(nullptr), std::invalid_argument);
}

TEST_CASE("call_soon_threadsafe: calls the loop never ran are destroyed with it, no leak") {
    no_leaks check;
    const int fds = open_fd_count();
    {
        aio::event_loop loop;
        counted c;
        on_another_thread([&] { loop.call_soon_threadsafe([c] {}); });
    }
    CHECK(open_fd_count() == fds);   // the eventfd went with the loop
}

TEST_CASE("thread_check: other loop calls from another thread while the loop runs are "
          "std::logic_error naming call_soon_threadsafe, as asyncio's debug mode") {
    aio::event_loop loop;
    std::vector<std::string> errors;
    std::mutex m;
    loop.call_soon([&] {
        on_another_thread([&] {
            auto expect_refused = [&](auto call) {
                try {
                    call();
                    std::lock_guard lock(m);
                    errors.push_back("accepted");
                } catch (const std::logic_error& e) {
                    std::lock_guard lock(m);
                    errors.push_back(e.what());
                }
            };
            expect_refused([&] { loop.call_soon([] {}); });
            expect_refused([&] { loop.call_later(1s, [] {}); });
            expect_refused([&] { loop.add_reader(0, [] {}); });
            expect_refused([&] { loop.remove_reader(0); });
            expect_refused([&] { loop.default_executor(); });
        });
    });
    loop.run_until_idle();
    REQUIRE(errors.size() == 5);
    for (const std::string& e : errors) {
        CAPTURE(e);
        CHECK(e.find("not the event loop's") != std::string::npos);
        CHECK(e.find("call_soon_threadsafe") != std::string::npos);
    }
    // A loop that is not running may be set up from any thread.
    on_another_thread([&] { loop.call_soon([] {}); });
    loop.run_until_idle();
}
