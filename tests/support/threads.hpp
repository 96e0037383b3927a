// tests/support/threads.hpp — for the tests of lesson 12 on: threads that must answer.
//
// A test that awaits a thread hangs, rather than fails, when the answer never comes back (a
// worker loop that runs no job, an answer never posted, a post that does not wake the loop).
// So each such test first asks require_thread_answers(): one trivial to_thread, given 5 s,
// tried once per test process. When it gets no answer the test fails at once, saying where to
// look, instead of hanging; the tests after it fail at once too, without waiting again.
#pragma once

#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <exception>
#include <string>
#include <thread>

namespace aio_test {

inline std::string probe_threads() {
    using namespace std::chrono_literals;
    std::string problem;
    auto probe = [](std::string* problem) -> aio::coroutine<> {
        try {
            const int answer = co_await aio::wait_for(aio::to_thread([] { return 42; }), 5s);
            if (answer != 42) *problem = "to_thread([] { return 42; }) gave " + std::to_string(answer);
        } catch (const aio::timeout_error&) {
            *problem = "to_thread([] { return 42; }) gave no answer within 5 s: does a worker "
                       "thread take the job and run it (thread_pool::work), does the job post its "
                       "answer back (run_on_thread), does the post wake the loop (inbox::post)?";
        } catch (const std::exception& e) {
            *problem = std::string("to_thread([] { return 42; }) threw: ") + e.what();
        }
        aio::get_running_loop().stop();
    };
    // A loop of its own rather than aio::run: aio::run ends by joining the executor's threads
    // while its loop waits for every call still out, and a call whose answer never comes would
    // hang there, where this probe is meant to fail fast. This loop's destructor joins without
    // waiting for answers.
    aio::event_loop loop;
    aio::task<> running = aio::create_task(probe(&problem), loop);
    loop.run_forever();
    return problem;
}

inline void require_thread_answers() {
    static const std::string problem = probe_threads();
    if (!problem.empty()) FAIL(problem);
}

// The same for a test whose own thread calls the loop: one call_soon_threadsafe from another
// thread must reach a loop asleep in epoll_wait, given 5 s. (A test whose thread cannot reach
// the loop would otherwise leave its loop waiting for ever, or end the program from a noexcept
// destructor.)
inline std::string probe_threadsafe_calls() {
    using namespace std::chrono_literals;
    aio::event_loop loop;
    bool arrived = false;
    aio::timer_handle give_up = loop.call_later(5s, [&loop] { loop.stop(); });
    std::string refused;
    std::thread caller([&] {
        try {
            loop.call_soon_threadsafe([&] {
                arrived = true;
                loop.stop();
            });
        } catch (const std::exception& e) {
            refused = e.what();
        }
    });
    loop.run_forever();
    caller.join();
    give_up.cancel();
    if (!refused.empty()) return "call_soon_threadsafe from another thread threw: " + refused;
    if (!arrived)
        return "call_soon_threadsafe from another thread did not reach the loop within 5 s: does "
               "inbox::post keep the callback and wake the loop's epoll_wait?";
    return "";
}

inline void require_threadsafe_calls_arrive() {
    static const std::string problem = probe_threadsafe_calls();
    if (!problem.empty()) FAIL(problem);
}

} // namespace aio_test
