// bench/queue.cpp — a producer and a consumer pass N integers (0..N-1) through an aio::queue of
// maxsize 1, then of 1024; checks the sum (= N(N-1)/2) of each. Same workload and output as
// ../shared/peers/{asio/queue.cpp, py/queue_items.py}.   usage: queue [N]
// It is lesson 10's co_await q.put(i) / co_await q.get(), as a user would write them.
#include <aio/aio.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

aio::coroutine<> producer(aio::queue<long>* q, long n) {
    for (long i = 0; i < n; ++i) co_await q->put(i);
}

aio::coroutine<> consumer(aio::queue<long>* q, long n, long* sum) {
    for (long i = 0; i < n; ++i) {
        long item = co_await q->get();
        *sum += item;
    }
}

// Seconds to pass n items through a queue of `maxsize`; their sum in *sum.
aio::coroutine<double> pass(long n, long maxsize, long* sum) {
    aio::queue<long> q(maxsize);
    auto t0 = std::chrono::steady_clock::now();
    co_await aio::gather(producer(&q, n), consumer(&q, n, sum));
    co_return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int main(int argc, char** argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 1'000'000, sum1 = 0, sum1024 = 0;
    double s1 = aio::run(pass(n, 1, &sum1));
    double s1024 = aio::run(pass(n, 1024, &sum1024));
    bool ok = sum1 == n * (n - 1) / 2 && sum1024 == sum1;
    std::printf("RESULT queue ns_per_item_q1=%.1f ns_per_item_q1024=%.1f ok=%d\n", s1 * 1e9 / n,
                s1024 * 1e9 / n, ok);
    return ok ? 0 : 1;
}
