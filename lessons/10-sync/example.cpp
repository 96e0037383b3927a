// Lesson 10: coordination — the C++ port of example.py.
//
// A crawler's skeleton: a producer puts URLs into a bounded queue, three workers take them out and
// "fetch" them (a sleep as long as the page's number says: nothing goes over the network), and the
// producer waits whenever the queue is full. Then the same downloads once more, all started at
// once, with a semaphore that lets two run at a time.
#include <aio/aio.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

constexpr int pages = 8;
constexpr int workers = 3;
constexpr int max_size = 2;

int page_of(const std::string& url) { return std::stoi(url.substr(url.rfind('/') + 1)); }

// How long the pretend download of a page takes: 100, 400 or 700 ms, by its number.
aio::duration fetch_time(const std::string& url) { return (page_of(url) % 3 * 3 + 1) * 100ms; }

aio::coroutine<int> fetch(std::string url) {
    co_await aio::sleep(fetch_time(url));
    co_return 100 * page_of(url);   // the length of the body we pretend to have read
}

aio::coroutine<> worker(std::string name, aio::queue<std::string>* queue) {
    for (;;) {
        std::string url;
        try {
            url = co_await queue->get();
        } catch (const aio::cancelled_error&) {
            std::printf("%s: cancelled while waiting for work\n", name.c_str());
            throw;
        }
        std::printf("%s: fetching %s\n", name.c_str(), url.c_str());
        int size = co_await fetch(url);
        std::printf("%s: page/%d done, %d bytes\n", name.c_str(), page_of(url), size);
        queue->task_done();
    }
}

aio::coroutine<> producer(aio::queue<std::string>* queue) {
    for (int n = 1; n <= pages; ++n) {
        std::string url = "https://example.com/page/" + std::to_string(n);
        if (queue->full()) std::printf("producer: queue full, page/%d waits\n", n);
        co_await queue->put(url);
        std::printf("producer: put page/%d (%zu in the queue)\n", n, queue->qsize());
    }
}

aio::coroutine<int> limited_fetch(std::string url, aio::semaphore* slots) {
    int size = 0;
    auto body = [&]() -> aio::coroutine<> {   // async with slots: (named first: see CODING.md)
        std::printf("start %s (%s)\n", url.c_str(), slots->locked() ? "no slot left" : "a slot left");
        size = co_await fetch(url);
        std::printf("done  %s\n", url.c_str());
    };
    co_await aio::async_with(*slots, body);
    co_return size;
}

aio::coroutine<> main_coro() {
    aio::queue<std::string> queue(max_size);
    std::vector<aio::task<>> crew;
    for (int i = 1; i <= workers; ++i)
        crew.push_back(aio::create_task(worker("worker-" + std::to_string(i), &queue)));
    co_await producer(&queue);
    std::printf("main: all pages put; waiting for join()\n");
    co_await queue.join();
    std::printf("main: every page is done; cancelling the idle workers\n");
    for (aio::task<>& w : crew) w.cancel();
    co_await aio::gather(aio::return_exceptions, crew);

    aio::semaphore slots(2);
    std::vector<aio::coroutine<int>> downloads;
    for (int n = 1; n <= 5; ++n)
        downloads.push_back(limited_fetch("https://example.com/page/" + std::to_string(n), &slots));
    std::vector<int> sizes = co_await aio::gather(std::move(downloads));
    int total = 0;
    for (int size : sizes) total += size;
    std::printf("main: %d bytes, never more than 2 downloads at a time\n", total);
}

int main() { aio::run(main_coro()); }
