// bench/to_thread.cpp — N round trips of a trivial function (work(i) = 2i+1) to a thread and back,
// co_await aio::to_thread(work, i) one after another; checks the sum (= N²). Same workload and
// output as ../shared/peers/{py/to_thread.py, asio/to_thread.cpp}.   usage: to_thread [N]
// As the asyncio peer does, it uses the loop's default executor (min(32, cores + 4) threads,
// started on demand; Asio's peer has a 1-thread pool) and times the whole aio::run, as the peer
// times asyncio.run: the loop's end, which joins the executor's threads, included.
// run.sh pins us to cpu 0, the pool's threads too, so a call is two hand-offs on one core: the
// loop submits the job (the pool's mutex and condition variable: a futex wakes the thread) and
// sleeps in epoll_wait; the thread runs work(i), posts the answer to the loop's inbox (a mutex
// and an eventfd write: the loop wakes) and sleeps again. Two more figures, N ping-pongs each,
// say what the wake-up through the eventfd costs beside the plainest one the kernel has:
//   ns_per_futex_wakeup    two threads pass a turn back and forth with FUTEX_WAKE / FUTEX_WAIT
//                          (half a round trip). Raw futexes, not std::condition_variable: with
//                          glibc, a thread woken from a condition variable unlocks its mutex with
//                          one more system call, a third per hand-off.
//   ns_per_eventfd_wakeup  a thread calls loop.call_soon_threadsafe while the loop sleeps in
//                          epoll_wait, and the callback passes the turn back by futex: that round
//                          trip less one futex wake-up. It is call_soon_threadsafe to a sleeping
//                          loop, end to end: the eventfd write, epoll_wait's return, the loop
//                          emptying the eventfd and its inbox, the callback's call.
#include <aio/aio.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>

using namespace std::chrono_literals;
using seconds = std::chrono::duration<double>;

static long work(long i) { return i * 2 + 1; }

aio::coroutine<long> calls(long n) {
    long total = 0;
    for (long i = 0; i < n; ++i) total += co_await aio::to_thread(work, i);
    co_return total;
}

// A turn passed between two threads through one futex word: wait_for(k) sleeps until the k-th pass.
struct turn {
    std::atomic<std::uint32_t> passes{0};

    void pass() {
        passes.fetch_add(1, std::memory_order_release);
        ::syscall(SYS_futex, &passes, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }
    void wait_for(std::uint32_t k) {
        for (std::uint32_t seen; (seen = passes.load(std::memory_order_acquire)) < k;)
            ::syscall(SYS_futex, &passes, FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
    }
};

// Nanoseconds per round trip: a thread -> another thread -> back, by futex both ways.
double futex_round_trip_ns(std::uint32_t n) {
    turn there, back;
    std::thread other([&] {
        for (std::uint32_t i = 1; i <= n; ++i) {
            there.wait_for(i);
            back.pass();
        }
    });
    auto t0 = std::chrono::steady_clock::now();
    for (std::uint32_t i = 1; i <= n; ++i) {
        there.pass();
        back.wait_for(i);
    }
    double s = seconds(std::chrono::steady_clock::now() - t0).count();
    other.join();
    return s * 1e9 / n;
}

// Nanoseconds per round trip: a thread -> the loop asleep in epoll_wait (call_soon_threadsafe)
// -> back to the thread (a futex).
double loop_round_trip_ns(std::uint32_t n) {
    aio::event_loop loop;
    turn back;
    aio::timer_handle keep_running = loop.call_later(1h, [] {});   // else run_forever finds it idle
    double s = 0;
    std::thread pinger([&] {
        auto t0 = std::chrono::steady_clock::now();
        for (std::uint32_t i = 1; i <= n; ++i) {
            loop.call_soon_threadsafe([&back] { back.pass(); });
            back.wait_for(i);
        }
        s = seconds(std::chrono::steady_clock::now() - t0).count();
        loop.call_soon_threadsafe([&] {
            keep_running.cancel();
            loop.stop();
        });
    });
    loop.run_forever();
    pinger.join();
    return s * 1e9 / n;
}

int main(int argc, char** argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 100'000;
    auto t0 = std::chrono::steady_clock::now();
    long total = aio::run(calls(n));
    double s = seconds(std::chrono::steady_clock::now() - t0).count();
    bool ok = total == n * n;
    double futex_ns = futex_round_trip_ns(n) / 2;
    double eventfd_ns = loop_round_trip_ns(n) - futex_ns;
    std::printf("RESULT to_thread us_per_call=%.2f ns_per_eventfd_wakeup=%.0f ns_per_futex_wakeup=%.0f ok=%d\n",
                s * 1e6 / n, eventfd_ns, futex_ns, ok);
    return ok ? 0 : 1;
}
