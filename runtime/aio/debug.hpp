// aio/debug.hpp — lesson 13: debug mode, asyncio's `PYTHONASYNCIODEBUG=1` for aio.
//
// `AIO_DEBUG=1 ./program` (or aio::set_debug(true) before the loop is made) turns on checks that
// cost time, each of which reports on stderr a mistake that would otherwise go unseen:
//
//  * a step that holds the loop longer than slow_callback_duration() (100 ms, asyncio's): a
//    blocking call in a coroutine, a loop over a million items. Every other task waited that
//    long. The report names the task (or the callback) and the time.
//  * a coroutine destroyed without ever running: `fetch()` where `co_await fetch()` was meant
//    (CPython's "coroutine 'fetch' was never awaited").
//
// Always on, debug mode or not: a task whose exception nobody retrieved (task.cpp), a loop call
// from another thread (lesson 12's check_thread, unless NDEBUG).
//
// Simplified: the switch is for the whole process, read when a loop is made (asyncio's is per
// loop); the report is a line on stderr, not a logging call.
#pragma once

#include "aio/event_loop.hpp"

namespace aio {

/// Is debug mode on for loops made from now on? (AIO_DEBUG=1 in the environment, or set_debug.)
bool get_debug() noexcept;
void set_debug(bool on) noexcept;

/// A step longer than this is reported in debug mode (100 ms by default, asyncio's).
duration slow_callback_duration() noexcept;
void set_slow_callback_duration(duration limit) noexcept;

} // namespace aio
