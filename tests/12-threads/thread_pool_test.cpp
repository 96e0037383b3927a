// Lesson 12 — aio::thread_pool, the executor behind to_thread. (The hole table is in
// to_thread_test.cpp.)
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/capture_stderr.hpp"

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {
// Waits up to 5 s for `flag`: a pool whose threads run no job fails the test, not hangs it.
bool wait_for_flag(const std::atomic<bool>& flag) {
    for (int i = 0; i < 5000 && !flag.load(); ++i) std::this_thread::sleep_for(1ms);
    return flag.load();
}
} // namespace

TEST_CASE("thread_pool: threads start on demand, never more than max_workers") {
    aio::thread_pool pool(3);
    CHECK(pool.workers() == 0);   // a pool that gets no work costs nothing
    std::latch release(1);
    std::atomic<int> running{0}, most{0};
    for (int i = 0; i < 10; ++i)
        pool.submit([&] {
            const int now = running.fetch_add(1) + 1;
            for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
            }
            release.wait();
            running.fetch_sub(1);
        });
    CHECK(pool.workers() == 3);
    release.count_down();
    pool.shutdown();
    CHECK(most.load() <= 3);
    CHECK(most.load() >= 1);
}

TEST_CASE("thread_pool: one thread runs its jobs in the order submitted; shutdown() runs the "
          "queued ones, then joins") {
    std::vector<int> order;   // one thread writes it; shutdown's join publishes it to us
    {
        aio::thread_pool one(1);
        for (int i = 0; i < 100; ++i) one.submit([&order, i] { order.push_back(i); });
        one.shutdown();
        CHECK(order.size() == 100);
        one.shutdown();   // twice: nothing more
    }
    std::vector<int> expected(100);
    for (int i = 0; i < 100; ++i) expected[i] = i;
    CHECK(order == expected);
}

TEST_CASE("thread_pool: the destructor waits for the jobs, queued ones included") {
    std::atomic<int> done{0};
    {
        aio::thread_pool pool(2);
        for (int i = 0; i < 20; ++i)
            pool.submit([&] {
                std::this_thread::sleep_for(1ms);
                done.fetch_add(1);
            });
    }
    CHECK(done.load() == 20);
}

TEST_CASE("thread_pool: bad use is a clear error: no worker, an empty job, submit after "
          "shutdown, shutdown from its own job; a job that throws is reported, the pool goes on") {
    CHECK_THROWS_WITH_AS(aio::thread_pool(0), "thread_pool: max_workers must be at least 1",
                         std::invalid_argument);
    aio::thread_pool pool(1);
    CHECK_THROWS_AS(pool.submit(nullptr), std::invalid_argument);

    std::string refused;
    std::atomic<bool> done{false};
    capture_stderr err;
    pool.submit([&] {
        try {
            pool.shutdown();
        } catch (const std::logic_error& e) {
            refused = e.what();
        }
        done.store(true);
    });
    REQUIRE(wait_for_flag(done));
    CHECK(refused.find("thread cannot join itself") != std::string::npos);

    std::atomic<bool> after{false};
    pool.submit([] { throw std::runtime_error("job failed on purpose"); });
    pool.submit([&] { after.store(true); });
    CHECK(wait_for_flag(after));   // the thread survived the throwing job
    pool.shutdown();
    CHECK(err.text().find("job failed on purpose") != std::string::npos);
    CHECK_THROWS_WITH_AS(pool.submit([] {}), "thread_pool::submit: the pool is shut down",
                         std::runtime_error);
}

TEST_CASE("thread_pool: submit from many threads at once; every job runs once") {
    aio::thread_pool pool(4);
    std::atomic<int> ran{0};
    std::vector<std::thread> submitters;
    for (int t = 0; t < 4; ++t)
        submitters.emplace_back([&] {
            for (int i = 0; i < 10'000; ++i) pool.submit([&] { ran.fetch_add(1); });
        });
    for (std::thread& s : submitters) s.join();
    pool.shutdown();
    CHECK(ran.load() == 40'000);
}
