// tests/support/counted.hpp — counts live objects, to prove frames release what they hold.
//
// A coroutine frame keeps its parameters and locals alive. If a frame leaks, so does every
// `counted` inside it, and `counted::alive` stays above zero: a leak the test can see.
#pragma once

struct counted {
    static inline int alive = 0;

    int value = 0;
    counted() noexcept { ++alive; }
    explicit counted(int v) noexcept : value(v) { ++alive; }
    counted(const counted& other) noexcept : value(other.value) { ++alive; }
    counted(counted&& other) noexcept : value(other.value) { ++alive; }
    counted& operator=(const counted&) = default;
    counted& operator=(counted&&) = default;
    ~counted() { --alive; }
};
