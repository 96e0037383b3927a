// Lesson 09: coroutine frames are recycled per thread (aio/detail/frame_cache.hpp).
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/no_leaks.hpp"

using aio::detail::frame_cache;

TEST_CASE("frame_cache: a freed frame is reused for the next frame of its size, only") {
    void* first = frame_cache::allocate(250);
    frame_cache::release(first, 250);
    void* other = frame_cache::allocate(240);   // another size, in the same slot: not that block
    CHECK(other != first);
    void* second = frame_cache::allocate(250);
    if (aio::detail::recycle_frames)
        CHECK(second == first);
    else
        CHECK(second != nullptr);   // under AddressSanitizer every frame is a fresh allocation
    frame_cache::release(second, 250);
    frame_cache::release(other, 240);
    void* big = frame_cache::allocate(5000);   // any size is cached, large ones too
    CHECK(big != nullptr);
    frame_cache::release(big, 5000);
}

TEST_CASE("frame_cache: coroutines still count their frames, and every one goes") {
    no_leaks check;
    const std::size_t before = aio::detail::live_frames;
    auto body = []() -> aio::coroutine<int> {
        int sum = 0;
        for (int i = 0; i < 1000; ++i)
            sum += co_await [](int x) -> aio::coroutine<int> { co_return x; }(i);
        co_return sum;
    };
    CHECK(aio::run(body()) == 499500);
    CHECK(aio::detail::live_frames == before);
}
