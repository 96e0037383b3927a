// Lesson 01 — the event loop: ready queue, timers, fd readiness, virtual clock.
//
// Holes: call_soon, run_ready, call_at, move_due_timers_to_ready, update_epoll.
// Test names start with the hole they pin, or a topic. What the tests of each need besides
// it (`make check` shows a test waiting for a hole that does not work rather than failing;
// `make test` checks this table against the exercise):
//   call_soon needs run_ready.
//   run_ready needs call_soon, call_at, move_due_timers_to_ready.
//   call_at needs run_ready, move_due_timers_to_ready.
//   move_due_timers_to_ready needs call_soon, call_at, run_ready.
//   update_epoll needs call_soon, run_ready.
//   call_later needs call_at.
//   event_loop needs call_soon, run_ready, call_at, move_due_timers_to_ready, update_epoll.
#include <aio/event_loop.hpp>
#include <doctest/doctest.h>

#include "support/fds.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("call_soon: callbacks run in the order they were scheduled") {
    aio::event_loop loop;
    std::string order;
    loop.call_soon([&] { order += 'a'; });
    loop.call_soon([&] { order += 'b'; });
    loop.call_soon([&] { order += 'c'; });
    loop.run_until_idle();
    CHECK(order == "abc");
}

TEST_CASE("call_soon: an empty callback is rejected") {
    aio::event_loop loop;
    CHECK_THROWS_AS(loop.call_soon(aio::event_loop::callback{}), std::invalid_argument);
}

TEST_CASE("run_ready: what a callback schedules runs in the next step, after what was ready") {
    aio::event_loop loop;
    std::string order;
    loop.call_soon([&] {
        order += 'a';
        loop.call_soon([&] { order += 'c'; });   // queued behind b
    });
    loop.call_soon([&] { order += 'b'; });
    loop.run_until_idle();
    CHECK(order == "abc");
}

TEST_CASE("run_ready: a callback that reschedules itself forever cannot starve a timer") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    int spins = 0;
    bool fired = false;
    std::function<void()> spin = [&] {
        ++spins;
        if (!fired) loop.call_soon(spin);
    };
    loop.call_soon(spin);
    loop.call_later(0s, [&] { fired = true; });
    loop.run_until_idle();
    CHECK(fired);
    CHECK(spins <= 3);   // the timer ran in the first or second step
}

TEST_CASE("run_ready: an exception from a callback leaves the loop usable") {
    aio::event_loop loop;
    std::string order;
    loop.call_soon([&] { order += 'a'; });
    loop.call_soon([] { throw std::runtime_error("boom"); });
    loop.call_soon([&] { order += 'b'; });
    CHECK_THROWS_WITH_AS(loop.run_until_idle(), "boom", std::runtime_error);
    CHECK(order == "a");
    CHECK_FALSE(loop.is_running());
    loop.run_until_idle();   // the callback after the throwing one was kept
    CHECK(order == "ab");
}

TEST_CASE("call_at: timers fire in deadline order, at their deadline (virtual clock)") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    const aio::time_point start = loop.time();
    std::vector<std::pair<char, aio::duration>> fired;
    auto record = [&](char name) {
        return [&fired, &loop, start, name] { fired.push_back({name, loop.time() - start}); };
    };
    loop.call_later(30ms, record('c'));
    loop.call_later(10ms, record('a'));
    loop.call_at(start + 20ms, record('b'));
    loop.run_until_idle();
    REQUIRE(fired.size() == 3);
    CHECK(fired[0] == std::pair<char, aio::duration>{'a', 10ms});
    CHECK(fired[1] == std::pair<char, aio::duration>{'b', 20ms});
    CHECK(fired[2] == std::pair<char, aio::duration>{'c', 30ms});
}

TEST_CASE("call_at: timers with the same deadline fire in the order they were created") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    std::string order;
    for (char c : std::string("abcdefgh")) loop.call_later(5ms, [&order, c] { order += c; });
    loop.run_until_idle();
    CHECK(order == "abcdefgh");
}

TEST_CASE("call_at: a deadline in the past runs in the next step") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    bool fired = false;
    loop.call_at(loop.time() - 1h, [&] { fired = true; });
    loop.run_until_idle();
    CHECK(fired);
}

TEST_CASE("call_later: a negative delay and an empty callback are rejected") {
    aio::event_loop loop;
    CHECK_THROWS_AS(loop.call_later(-1ms, [] {}), std::invalid_argument);
    CHECK_THROWS_AS(loop.call_later(1ms, nullptr), std::invalid_argument);
    CHECK_THROWS_AS(loop.call_at(loop.time(), nullptr), std::invalid_argument);
}

TEST_CASE("call_at: a cancelled timer never fires, and cancel says whether it was pending") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    bool cancelled_fired = false, other_fired = false;
    aio::timer_handle h = loop.call_later(10ms, [&] { cancelled_fired = true; });
    aio::timer_handle other = loop.call_later(20ms, [&] { other_fired = true; });
    CHECK(h.when() == loop.time() + 10ms);
    CHECK(h.cancel());
    CHECK_FALSE(h.cancel());   // twice: nothing left to cancel
    loop.run_until_idle();
    CHECK_FALSE(cancelled_fired);
    CHECK(other_fired);
    CHECK_FALSE(other.cancel());   // already fired
    CHECK_FALSE(aio::timer_handle{}.cancel());
}

TEST_CASE("move_due_timers_to_ready: a due timer cancelled earlier in the same step does not run") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    aio::timer_handle second;
    bool second_ran = false, cancelled = false;
    loop.call_later(10ms, [&] { cancelled = second.cancel(); });   // both fall due together
    second = loop.call_later(10ms, [&] { second_ran = true; });
    loop.run_until_idle();
    CHECK(cancelled);
    CHECK_FALSE(second_ran);
}

TEST_CASE("move_due_timers_to_ready: scheduled_timers counts due timers until they run or are cancelled") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    aio::timer_handle second;
    std::size_t seen_first = 9, seen_after_cancel = 9;
    loop.call_later(10ms, [&] {
        seen_first = loop.scheduled_timers();   // second is due, waiting in ready_
        second.cancel();
        seen_after_cancel = loop.scheduled_timers();
    });
    second = loop.call_later(10ms, [] {});
    CHECK(loop.scheduled_timers() == 2);
    loop.run_until_idle();
    CHECK(seen_first == 1);
    CHECK(seen_after_cancel == 0);
    CHECK(loop.scheduled_timers() == 0);
}

TEST_CASE("call_at: a stale handle cannot cancel the timer that reuses its node") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    bool fired = false;
    aio::timer_handle old = loop.call_later(10ms, [] {});
    CHECK(old.cancel());
    loop.call_later(20ms, [&] { fired = true; });   // takes the recycled node
    CHECK_FALSE(old.cancel());
    loop.run_until_idle();
    CHECK(fired);
}

TEST_CASE("move_due_timers_to_ready: the virtual clock jumps to the next timer") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    const aio::time_point start = loop.time();
    aio::duration seen{};
    loop.call_later(1h, [&] { seen = loop.time() - start; });
    loop.run_until_idle();   // an hour of virtual time: this returns at once
    CHECK(seen == 1h);
    CHECK(loop.time() - start == 1h);   // and time stays where it jumped
}

TEST_CASE("move_due_timers_to_ready: on the real clock a timer does not fire early") {
    aio::event_loop loop;
    const auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration waited{};
    loop.call_later(20ms, [&] { waited = std::chrono::steady_clock::now() - start; });
    loop.run_until_idle();
    CHECK(waited >= 20ms);
}

TEST_CASE("move_due_timers_to_ready: a timer due now joins the ready queue behind what is ready") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    std::string order;
    loop.call_later(0s, [&] { order += 't'; });
    loop.call_soon([&] { order += 'a'; });
    loop.run_until_idle();
    CHECK(order == "at");   // asyncio's order too: ready callbacks first, then due timers
}

TEST_CASE("update_epoll: a reader runs when its fd becomes readable, and not before") {
    aio::event_loop loop;
    socket_pair pair;
    std::string received;
    loop.add_reader(pair.fd[0], [&] {
        char buf[16];
        ssize_t n = ::read(pair.fd[0], buf, sizeof buf);
        received.append(buf, n > 0 ? n : 0);
        loop.remove_reader(pair.fd[0]);
    });
    bool read_before_write = false;
    loop.call_soon([&] { read_before_write = !received.empty(); });
    loop.call_soon([&] { loop.call_soon([&] { CHECK(::write(pair.fd[1], "ping", 4) == 4); }); });
    loop.run_until_idle();
    CHECK_FALSE(read_before_write);
    CHECK(received == "ping");
}

TEST_CASE("update_epoll: a writer runs while there is room, until removed") {
    aio::event_loop loop;
    socket_pair pair;
    int runs = 0;
    loop.add_writer(pair.fd[0], [&] {
        if (++runs == 3) CHECK(loop.remove_writer(pair.fd[0]));
    });
    loop.run_until_idle();
    CHECK(runs == 3);
}

TEST_CASE("update_epoll: reader and writer on one fd are independent") {
    aio::event_loop loop;
    socket_pair pair;
    bool wrote = false, read = false;
    loop.add_reader(pair.fd[0], [&] {
        char c;
        read = ::read(pair.fd[0], &c, 1) == 1;
        loop.remove_reader(pair.fd[0]);
    });
    loop.add_writer(pair.fd[0], [&] {
        wrote = ::write(pair.fd[0], "x", 1) == 1;
        loop.remove_writer(pair.fd[0]);
        CHECK(::write(pair.fd[1], "y", 1) == 1);   // now make the reader's side readable
    });
    loop.run_until_idle();
    CHECK(wrote);
    CHECK(read);
}

TEST_CASE("update_epoll: the peer closing wakes the reader (end of file)") {
    aio::event_loop loop;
    socket_pair pair;
    ssize_t got = -2;
    loop.add_reader(pair.fd[0], [&] {
        char buf[8];
        got = ::read(pair.fd[0], buf, sizeof buf);
        loop.remove_reader(pair.fd[0]);
    });
    pair.close(1);
    loop.run_until_idle();
    CHECK(got == 0);
}

TEST_CASE("update_epoll: remove_* says whether the fd was watched") {
    aio::event_loop loop;
    socket_pair pair;
    CHECK_FALSE(loop.remove_reader(pair.fd[0]));
    CHECK_FALSE(loop.remove_writer(-1));
    CHECK_FALSE(loop.remove_writer(100000));
    loop.add_reader(pair.fd[0], [] {});
    CHECK_FALSE(loop.remove_writer(pair.fd[0]));
    CHECK(loop.remove_reader(pair.fd[0]));
    CHECK_FALSE(loop.remove_reader(pair.fd[0]));
}

TEST_CASE("update_epoll: bad fds and double registration are clear errors that leave no trace") {
    aio::event_loop loop;
    socket_pair pair;
    CHECK_THROWS_AS(loop.add_reader(-1, [] {}), std::invalid_argument);
    CHECK_THROWS_AS(loop.add_reader(1'000'000'000, [] {}), std::system_error);   // EBADF, no huge table
    CHECK_THROWS_AS(loop.add_reader(pair.fd[0], nullptr), std::invalid_argument);

    loop.add_reader(pair.fd[0], [] {});
    CHECK_THROWS_AS(loop.add_reader(pair.fd[0], [] {}), std::logic_error);
    CHECK(loop.remove_reader(pair.fd[0]));

    int closed = ::dup(pair.fd[0]);
    ::close(closed);
    CHECK_THROWS_AS(loop.add_reader(closed, [] {}), std::system_error);   // EBADF
    CHECK_FALSE(loop.remove_reader(closed));

    int file = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);   // epoll refuses regular files
    REQUIRE(file >= 0);
    CHECK_THROWS_AS(loop.add_reader(file, [] {}), std::system_error);   // EPERM
    CHECK_FALSE(loop.remove_reader(file));
    ::close(file);
    loop.run_until_idle();   // nothing is watched: returns at once
}

TEST_CASE("update_epoll: a reader removed by an earlier callback of the same step does not run") {
    aio::event_loop loop;
    socket_pair a, b;
    int runs = 0;
    // Both become readable in the same step; whichever runs first removes the other.
    loop.add_reader(a.fd[0], [&] { ++runs; loop.remove_reader(a.fd[0]); loop.remove_reader(b.fd[0]); });
    loop.add_reader(b.fd[0], [&] { ++runs; loop.remove_reader(a.fd[0]); loop.remove_reader(b.fd[0]); });
    CHECK(::write(a.fd[1], "x", 1) == 1);
    CHECK(::write(b.fd[1], "x", 1) == 1);
    loop.run_until_idle();
    CHECK(runs == 1);
}

TEST_CASE("update_epoll: an fd closed while watched can still be removed") {
    aio::event_loop loop;
    int fd = -1;
    {
        socket_pair pair;
        fd = ::dup(pair.fd[0]);
    }
    loop.add_reader(fd, [] {});
    ::close(fd);   // the wrong order, but it happens: remove_reader must cope
    CHECK(loop.remove_reader(fd));
    loop.run_until_idle();   // and nothing is left watched
}

TEST_CASE("event_loop: the virtual clock waits for real I/O, then jumps if none comes") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    socket_pair pair;
    const aio::time_point start = loop.time();
    bool timed_out = false;
    loop.add_reader(pair.fd[0], [] {});
    loop.call_later(30ms, [&] {
        timed_out = true;
        loop.remove_reader(pair.fd[0]);
    });
    loop.run_until_idle();
    CHECK(timed_out);
    CHECK(loop.time() - start == 30ms);
}

TEST_CASE("event_loop: on the virtual clock an fd that is always ready does not stop time") {
    aio::event_loop loop(aio::clock_mode::virtual_time);
    socket_pair pair;
    bool fired = false;
    loop.add_writer(pair.fd[0], [] {});   // writable all the time
    loop.call_later(30ms, [&] {
        fired = true;
        loop.remove_writer(pair.fd[0]);
    });
    loop.run_until_idle();   // time follows the real time spent polling, up to the timer
    CHECK(fired);
}

TEST_CASE("event_loop: stop() ends run_forever after the current step") {
    aio::event_loop loop;
    std::string order;
    loop.call_soon([&] {
        order += 'a';
        loop.stop();
        loop.call_soon([&] { order += 'c'; });   // next step: after run_forever returns
    });
    loop.call_soon([&] { order += 'b'; });   // same step: still runs
    loop.run_forever();
    CHECK(order == "ab");
    loop.call_soon([&] { loop.stop(); });
    loop.run_forever();   // the loop can run again; 'c' was kept
    CHECK(order == "abc");
}

TEST_CASE("event_loop: stop() before run_forever runs one step, as in asyncio") {
    aio::event_loop loop;
    int runs = 0;
    loop.call_soon([&] { ++runs; loop.call_soon([&] { ++runs; }); });
    loop.stop();
    loop.run_forever();
    CHECK(runs == 1);
}

TEST_CASE("event_loop: run_forever on a loop with nothing to do is an error, not a hang") {
    aio::event_loop loop;
    CHECK_THROWS_AS(loop.run_forever(), std::runtime_error);
    CHECK_FALSE(loop.is_running());
}

TEST_CASE("event_loop: get_running_loop() is the loop running this callback") {
    CHECK_THROWS_AS(aio::get_running_loop(), std::runtime_error);
    aio::event_loop loop;
    aio::event_loop* seen = nullptr;
    bool running = false;
    loop.call_soon([&] {
        seen = &aio::get_running_loop();
        running = loop.is_running();
    });
    loop.run_until_idle();
    CHECK(seen == &loop);
    CHECK(running);
    CHECK_THROWS_AS(aio::get_running_loop(), std::runtime_error);
}

TEST_CASE("event_loop: running a loop inside a running loop is an error") {
    aio::event_loop loop, other;
    std::string errors;
    loop.call_soon([&] {
        try {
            loop.run_until_idle();
        } catch (const std::runtime_error&) {
            errors += "same ";
        }
        try {
            other.run_until_idle();
        } catch (const std::runtime_error&) {
            errors += "other";
        }
    });
    loop.run_until_idle();
    CHECK(errors == "same other");
}

TEST_CASE("event_loop: loops leak no file descriptors") {
    const int before = open_fd_count();
    {
        aio::event_loop loop;
        socket_pair pair;
        loop.add_reader(pair.fd[0], [] {});
        loop.add_writer(pair.fd[1], [] {});
        loop.remove_reader(pair.fd[0]);
        loop.remove_writer(pair.fd[1]);
    }
    CHECK(open_fd_count() == before);
}
