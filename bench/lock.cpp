// bench/lock.cpp — 4 tasks share N acquire/release pairs of one aio::lock; every 100th time a task
// yields (sleep(0)) while holding it, so the others queue on the lock (and, FIFO, it stays
// contended from then on); checks the count and that no two tasks were ever inside at once. Same
// workload and output as ../shared/peers/py/lock.py (Asio has no coroutine mutex: no Asio peer).
//   usage: lock [N]
// It is lesson 10's `async with lock:` as a user would write it: aio::async_with(lk, body).
#include <aio/aio.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace std::chrono_literals;

struct shared_state {
    long inside = 0;
    bool overlap = false;
    long count = 0;
};

aio::coroutine<> worker(aio::lock* lk, long n, shared_state* state) {
    for (long i = 0; i < n; ++i) {
        auto critical = [state, i]() -> aio::coroutine<> {   // named: CODING.md, g++ 12 pattern 1
            state->inside += 1;
            state->overlap |= state->inside != 1;
            state->count += 1;
            if (i % 100 == 0) co_await aio::sleep(0s);
            state->inside -= 1;
        };
        co_await aio::async_with(*lk, critical);   // async with lock:
    }
}

aio::coroutine<> all(long n, shared_state* state) {
    constexpr long tasks = 4;
    aio::lock lk;
    co_await aio::gather(worker(&lk, n / tasks, state), worker(&lk, n / tasks, state),
                         worker(&lk, n / tasks, state), worker(&lk, n / tasks, state));
}

int main(int argc, char** argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 1'000'000;
    shared_state state;
    auto t0 = std::chrono::steady_clock::now();
    aio::run(all(n, &state));
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bool ok = state.count == n && !state.overlap;
    std::printf("RESULT lock ns_per_acquire=%.1f ok=%d\n", s * 1e9 / n, ok);
    return ok ? 0 : 1;
}
