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

namespace aio_test {

inline std::string probe_threads() {
    using namespace std::chrono_literals;
    auto probe = []() -> aio::coroutine<int> {
        int answer = co_await aio::wait_for(aio::to_thread([] { return 42; }), 5s);
        co_return answer;
    };
    try {
        const int answer = aio::run(probe());
        if (answer != 42) return "to_thread([] { return 42; }) gave " + std::to_string(answer);
        return "";
    } catch (const aio::timeout_error&) {
        return "to_thread([] { return 42; }) gave no answer within 5 s: does a worker thread take "
               "the job and run it (thread_pool::work), does the job post its answer back "
               "(run_on_thread), does the post wake the loop (inbox::post)?";
    } catch (const std::exception& e) {
        return std::string("to_thread([] { return 42; }) threw: ") + e.what();
    }
}

inline void require_thread_answers() {
    static const std::string problem = probe_threads();
    if (!problem.empty()) FAIL(problem);
}

} // namespace aio_test
