// tests/support/no_leaks.hpp — at the end of a test: every frame and counted object is gone.
//
// Declare one first thing in a test: `no_leaks check;`. Its destructor runs last and checks
// that as many coroutine frames (aio::detail::live_frames) and `counted` objects are alive as
// when the test began. A frame that is never destroyed is a leak no exception would report.
#pragma once

#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/counted.hpp"

#include <string>

class no_leaks {
public:
    // `hint` is added to the failure messages: a lesson can name the hole that frees frames,
    // so that `make check` points there.
    explicit no_leaks(std::string hint = "") : hint_(std::move(hint)) {}
    ~no_leaks() {
        const std::string frame_message = "a coroutine frame leaked (or was freed twice)" + hint_;
        const std::string object_message = "an object held by a frame leaked" + hint_;
        // (Not CHECK_MESSAGE: doctest would print its message with any other failure too.)
        if (aio::detail::live_frames != frames_) FAIL_CHECK(frame_message);
        if (counted::alive != objects_) FAIL_CHECK(object_message);
    }
    no_leaks(const no_leaks&) = delete;
    no_leaks& operator=(const no_leaks&) = delete;

private:
    std::string hint_;
    std::size_t frames_ = aio::detail::live_frames;
    int objects_ = counted::alive;
};
