// bench/timers.cpp — N tasks each sleep a pseudo-random 0..1000 ms (the peers' LCG: x = (x *
// 1103515245 + 12345) mod 2^31 from x = 12345, ms = x mod 1001) and main awaits them all. Same
// workload and output as ../shared/peers/{asio/timers.cpp, py/timers.py}.   usage: timers [N]
#include <aio/aio.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

aio::coroutine<> sleeper(unsigned ms, long* done) {
    co_await aio::sleep(std::chrono::milliseconds(ms));
    ++*done;
}

aio::coroutine<> all(long n, long* done) {
    std::vector<aio::coroutine<>> sleepers;
    sleepers.reserve(n);
    std::uint32_t x = 12345;
    for (long i = 0; i < n; ++i) {
        x = (x * 1103515245u + 12345u) & 0x7fffffffu;
        sleepers.push_back(sleeper(x % 1001, done));
    }
    co_await aio::gather(std::move(sleepers));
}

int main(int argc, char** argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 100'000, done = 0;
    auto t0 = std::chrono::steady_clock::now();
    aio::run(all(n, &done));
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    bool ok = done == n;
    std::printf("RESULT timers wall_s=%.3f peak_rss_kb=%ld ok=%d\n", s, ru.ru_maxrss, ok);
    return ok ? 0 : 1;
}
