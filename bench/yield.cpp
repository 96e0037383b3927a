// bench/yield.cpp — two tasks each yield to the loop N times with sleep(0), interleaved. Same
// workload and output as ../shared/peers/{asio/yield.cpp, py/yield.py}.   usage: yield [N]
#include <aio/aio.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace std::chrono_literals;

aio::coroutine<> yielder(long n, long* count) {
    for (long i = 0; i < n; ++i) {
        co_await aio::sleep(0s);
        ++*count;
    }
}

aio::coroutine<> both(long n, long* count) { co_await aio::gather(yielder(n, count), yielder(n, count)); }

int main(int argc, char** argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 1'000'000, count = 0;
    auto t0 = std::chrono::steady_clock::now();
    aio::run(both(n, &count));
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bool ok = count == 2 * n;
    std::printf("RESULT yield ns_per_yield=%.1f ok=%d\n", s * 1e9 / count, ok);
    return ok ? 0 : 1;
}
