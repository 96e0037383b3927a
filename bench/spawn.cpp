// bench/spawn.cpp — create and complete N trivial tasks (task i returns 2i+1), awaited in batches
// of 10,000 through a gather; checks the sum (= N²). Same workload and output as
// ../shared/peers/{asio/spawn.cpp, py/spawn.py}.   usage: spawn [N]
#include <aio/aio.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

aio::coroutine<long> work(long i) { co_return i * 2 + 1; }

aio::coroutine<long> run_batches(long n, long batch) {
    long sum = 0;
    for (long base = 0; base < n; base += batch) {
        std::vector<aio::task<long>> tasks;
        tasks.reserve(batch);
        for (long i = base; i < base + batch && i < n; ++i) tasks.push_back(aio::create_task(work(i)));
        std::vector<long> results = co_await aio::gather(std::move(tasks));
        for (long r : results) sum += r;
    }
    co_return sum;
}

int main(int argc, char** argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 1'000'000;
    auto t0 = std::chrono::steady_clock::now();
    long sum = aio::run(run_batches(n, 10'000));
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bool ok = sum == n * n;
    std::printf("RESULT spawn ns_per_task=%.1f ok=%d\n", s * 1e9 / n, ok);
    return ok ? 0 : 1;
}
