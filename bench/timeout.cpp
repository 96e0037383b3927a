// bench/timeout.cpp — the cost of a deadline around an await that completes at once, N times
// each: a timeout block (`async with asyncio.timeout(10): await noop()`) and wait_for(noop(), 10s).
// Every 1,000th iteration yields once (sleep(0)), as the peers do so that their loops can drop
// cancelled timers. Same workload and output as ../shared/peers/py/timeout.py and asio/timeout.cpp.
//   usage: timeout [N]
// It is lesson 11's code as a user would write it: aio::async_with(deadline, body) and
// aio::wait_for(noop(), 10s). What a block costs: the timeout's timer armed and cancelled (a
// recycled node, no allocation), and the frames of async_with, aenter, aexit and the body.
#include <aio/aio.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace std::chrono_literals;

aio::coroutine<int> noop() { co_return 1; }

aio::coroutine<long> scopes(long n) {
    long total = 0;
    for (long i = 0; i < n; ++i) {
        auto deadline = aio::timeout(10s);
        auto body = [&total]() -> aio::coroutine<> {   // named: CODING.md, g++ 12 pattern 1
            int v = co_await noop();
            total += v;
        };
        co_await aio::async_with(deadline, body);
        if (i % 1000 == 999) co_await aio::sleep(0s);
    }
    co_return total;
}

aio::coroutine<long> wait_fors(long n) {
    long total = 0;
    for (long i = 0; i < n; ++i) {
        int v = co_await aio::wait_for(noop(), 10s);
        total += v;
        if (i % 1000 == 999) co_await aio::sleep(0s);
    }
    co_return total;
}

struct timed {
    double seconds;
    long total;
};

aio::coroutine<timed> measure(aio::coroutine<long> (*body)(long), long n) {
    auto t0 = std::chrono::steady_clock::now();
    long total = co_await body(n);
    co_return timed{std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), total};
}

aio::coroutine<bool> all(long n, double* scope_ns, double* wait_for_ns) {
    timed s = co_await measure(scopes, n);
    timed w = co_await measure(wait_fors, n);
    *scope_ns = s.seconds * 1e9 / n;
    *wait_for_ns = w.seconds * 1e9 / n;
    co_return s.total == n && w.total == n;
}

int main(int argc, char** argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 1'000'000;
    double scope_ns = 0, wait_for_ns = 0;
    bool ok = aio::run(all(n, &scope_ns, &wait_for_ns));
    std::printf("RESULT timeout ns_per_timeout_scope=%.1f ns_per_wait_for=%.1f ok=%d\n", scope_ns,
                wait_for_ns, ok);
    return ok ? 0 : 1;
}
