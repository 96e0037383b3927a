// Lesson 12: threads for what would block the loop — the C++ port of example.py.
//
// A ticker task stands for the rest of a program (a server's other clients): it wants to run every
// 10 ms. Beside it: a blocking CPU function, called on the loop and then on a thread; a function on
// a thread that reports its progress to the loop; files written and read, each call on a thread; a
// missing file; and a thread call that wait_for gives up on, whose thread runs on to its end.
//
// The output says whether the ticker ran while something waited, never how often: that depends on
// the machine, and the output must not.
#include <aio/aio.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

// Blocking CPU work: how many primes there are in [low, high), by trial division.
int count_primes(int low, int high) {
    int count = 0;
    for (int n = std::max(low, 2); n < high; ++n) {
        int d = 2;
        while (d * d <= n && n % d != 0) ++d;
        if (d * d > n) ++count;
    }
    return count;
}

// The rest of the program: a task that wants to run every 10 ms.
aio::coroutine<> tick(int* ticks) {
    for (;;) {
        ++*ticks;
        co_await aio::sleep(10ms);
    }
}

// Awaits `work` with the ticker running beside it: its result, and whether the ticker ran.
template <typename T>
aio::coroutine<std::pair<T, bool>> while_ticking(aio::coroutine<T> work) {
    int ticks = 0;
    aio::task<> ticker = aio::create_task(tick(&ticks));
    T result = co_await std::move(work);
    ticker.cancel();
    try {
        co_await ticker;
    } catch (const aio::cancelled_error&) {
    }
    co_return std::pair<T, bool>(std::move(result), ticks > 0);
}

void print_ticker(bool ticked) { std::printf("  meanwhile the ticker %s\n", ticked ? "ticked" : "never ran"); }

aio::coroutine<int> on_the_loop(int low, int high) {
    co_return count_primes(low, high);   // no co_await: nothing else runs until it returns
}

// On a thread: counts part after part, and tells the loop after each one.
int count_in_parts(aio::event_loop& loop, int parts, int size) {
    int total = 0;
    for (int part = 0; part < parts; ++part) {
        const int found = count_primes(part * size, (part + 1) * size);
        total += found;
        loop.call_soon_threadsafe([=] { std::printf("  part %d of %d: %d primes\n", part + 1, parts, found); });
    }
    return total;
}

// aio::open_file has aiofiles' shape: open, read and write are each a call on a thread.
aio::coroutine<std::size_t> write_text(std::string path, std::string text) {
    aio::file f = co_await aio::open_file(path, "w");
    std::size_t written = co_await f.write(std::move(text));
    co_await f.close();
    co_return written;
}

aio::coroutine<std::string> read_text(std::string path) {
    aio::file f = co_await aio::open_file(path);
    std::string text = co_await f.read();
    co_await f.close();
    co_return text;
}

aio::coroutine<std::vector<std::size_t>> write_all(std::string folder, std::vector<std::string> names) {
    std::vector<aio::coroutine<std::size_t>> writes;
    for (std::size_t i = 0; i < names.size(); ++i) {
        std::string text;
        for (std::size_t line = 0; line < 1000 * (i + 1); ++line) text += "this is " + names[i] + "\n";
        writes.push_back(write_text(folder + "/" + names[i], std::move(text)));
    }
    std::vector<std::size_t> sizes = co_await aio::gather(std::move(writes));
    co_return sizes;
}

// Python's tempfile.TemporaryDirectory: made at once, removed with everything in it at the end.
struct temporary_directory {
    std::string path;
    temporary_directory() {
        std::string name = (std::filesystem::temp_directory_path() / "aio-lesson12-XXXXXX").string();
        if (::mkdtemp(name.data()) == nullptr) throw std::system_error(errno, std::system_category(), "mkdtemp");
        path = name;
    }
    ~temporary_directory() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    temporary_directory(const temporary_directory&) = delete;
    temporary_directory& operator=(const temporary_directory&) = delete;
};

aio::coroutine<> main_coro() {
    std::printf("a blocking call on the loop\n");
    auto [found, ticked] = co_await while_ticking(on_the_loop(0, 50'000));
    std::printf("  %d primes below 50000\n", found);
    print_ticker(ticked);

    std::printf("the same call on a thread (to_thread)\n");
    std::tie(found, ticked) = co_await while_ticking(aio::to_thread(count_primes, 0, 50'000));
    std::printf("  %d primes below 50000\n", found);
    print_ticker(ticked);

    std::printf("a thread that reports back (call_soon_threadsafe)\n");
    aio::event_loop& loop = aio::get_running_loop();
    aio::task<int> counting = loop.run_in_executor(count_in_parts, std::ref(loop), 3, 20'000);
    int total = co_await counting;
    std::printf("  %d primes below 60000\n", total);

    {
        temporary_directory folder;
        const std::vector<std::string> names = {"alpha.txt", "beta.txt", "gamma.txt"};
        std::printf("files, each call on a thread: three written at once\n");
        auto [sizes, ticked_too] = co_await while_ticking(write_all(folder.path, names));
        for (std::size_t i = 0; i < names.size(); ++i)
            std::printf("  %s: %zu bytes written\n", names[i].c_str(), sizes[i]);
        print_ticker(ticked_too);
        for (const std::string& name : names) {
            std::string text = co_await read_text(folder.path + "/" + name);
            const auto lines = std::count(text.begin(), text.end(), '\n');
            std::printf("  %s: %td lines, the first: %s\n", name.c_str(), lines, text.substr(0, text.find('\n')).c_str());
        }
        try {
            co_await read_text(folder.path + "/missing.txt");
        } catch (const std::system_error& e) {
            if (e.code() != std::errc::no_such_file_or_directory) throw;
            std::printf("  missing.txt: no such file (raised at the await)\n");
        }
    }

    std::printf("wait_for: a thread call given up after 0.1 s\n");
    // Shared with the thread, which may still hold them when this frame is gone (Python's
    // objects live while a thread refers to them; here the shared_ptrs say so).
    auto gate = std::make_shared<std::latch>(1), finished = std::make_shared<std::latch>(1);
    auto stuck = [gate, finished] {
        gate->wait();   // its thread blocks until main opens the gate
        finished->count_down();
        return std::string("an answer nobody will take");
    };
    try {
        co_await aio::wait_for(aio::to_thread(stuck), 100ms);
    } catch (const aio::timeout_error&) {
        std::printf("  gave up: the await is cancelled, the thread is not\n");
    }
    gate->count_down();
    auto wait_until_finished = [finished] { finished->wait(); };
    co_await aio::to_thread(wait_until_finished);
    std::printf("  the thread ran to its end anyway; its answer was dropped\n");
}

int main() { aio::run(main_coro()); }
