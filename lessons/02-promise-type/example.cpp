// Lesson 02: driving a coroutine by hand — the C++ port of example.py.
//
// An event loop drives coroutines with resume(): each call runs the body up to its next
// suspension; done() tells that it reached its end, and result() gives what it returned.
#include <aio/aio.hpp>

#include <coroutine>
#include <cstdio>
#include <stdexcept>
#include <string>

aio::coroutine<std::string> countdown(std::string name, int n) {
    std::printf("%s: started\n", name.c_str());
    while (n > 0) {
        std::printf("%s: %d\n", name.c_str(), n);
        --n;
        co_await std::suspend_always{};   // Python's `await Pause()`: back to the driver
    }
    std::printf("%s: lift-off\n", name.c_str());
    co_return name + " has flown";
}

aio::coroutine<int> broken() {
    std::printf("broken: started\n");
    co_await std::suspend_always{};
    throw std::invalid_argument("something went wrong");
}

// Resume the coroutine until it finishes, and return its result.
template <typename T>
T drive(aio::coroutine<T>& coro) {
    int steps = 0;
    for (;;) {
        coro.resume();
        if (coro.done()) {
            T value = coro.result();   // rethrows what the body threw
            std::printf("driver: finished after %d suspension(s)\n", steps);
            return value;
        }
        ++steps;
        std::printf("driver: suspended (%d)\n", steps);
    }
}

int main() {
    aio::coroutine<std::string> rocket = countdown("rocket", 3);
    std::printf("driver: created the coroutine; nothing has run yet\n");
    std::printf("driver: the result is '%s'\n", drive(rocket).c_str());
    try {
        aio::coroutine<int> b = broken();
        drive(b);
    } catch (const std::invalid_argument& e) {
        std::printf("driver: the coroutine raised ValueError: %s\n", e.what());
    }
    {
        aio::coroutine<std::string> never = countdown("never", 1);
    }   // the owner's destructor destroys the frame
    std::printf("driver: dropped a coroutine that never ran; its frame is gone\n");
}
