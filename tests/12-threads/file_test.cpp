// Lesson 12 — files, awaited: aio::open_file. (The hole table is in to_thread_test.cpp.)
// Each test works in a fresh directory under /tmp, removed at its end.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include "support/fds.hpp"
#include "support/no_leaks.hpp"
#include "support/process.hpp"
#include "support/threads.hpp"

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

using namespace std::chrono_literals;
using aio_test::require_thread_answers;

namespace {

// A fresh directory under /tmp (support/process.hpp's), with a way to name a file in it.
struct scratch_dir : temp_dir {
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

} // namespace

TEST_CASE("open_file: write, append (\"a+\" starts at the end), read all, read(n) to the end") {
    require_thread_answers();
    no_leaks check;
    scratch_dir dir;
    const int fds = open_fd_count();
    auto body = [](std::string path) -> aio::coroutine<> {
        aio::file out = co_await aio::open_file(path, "w");
        std::size_t n = co_await out.write("first line\n");
        CHECK(n == 11);
        co_await out.close();
        CHECK(out.closed());
        aio::file more = co_await aio::open_file(path, "a");
        co_await more.write("second line\n");
        co_await more.close();
        aio::file both = co_await aio::open_file(path, "a+");
        std::string at_end = co_await both.read();
        CHECK(at_end.empty());   // "a+" starts at the end, as Python's open()
        co_await both.close();

        aio::file in = co_await aio::open_file(path);   // "r"
        std::string all = co_await in.read();
        CHECK(all == "first line\nsecond line\n");
        std::string after_end = co_await in.read(10);
        CHECK(after_end.empty());
        co_await in.close();

        aio::file chunks = co_await aio::open_file(path, "rb");
        std::string a = co_await chunks.read(6);
        std::string b = co_await chunks.read(100);
        std::string c = co_await chunks.read(100);
        CHECK(a == "first ");
        CHECK(b == "line\nsecond line\n");
        CHECK(c.empty());
        co_await chunks.close();
        co_await chunks.close();   // twice: nothing more
    };
    aio::run(body(dir / "notes.txt"));
    CHECK(read_file(dir / "notes.txt") == "first line\nsecond line\n");
    CHECK(open_fd_count() == fds);
}

TEST_CASE("open_file: a 100 MB file read in 1 MiB chunks while another task keeps running") {
    require_thread_answers();
    no_leaks check;
    scratch_dir dir;
    const std::string path = dir / "big.bin";
    constexpr std::size_t size = 100u << 20;
    {
        std::ofstream out(path, std::ios::binary);
        std::string block(1 << 20, '\0');
        for (std::size_t i = 0; i < size; i += block.size()) {
            for (std::size_t j = 0; j < block.size(); ++j) block[j] = static_cast<char>((i + j) * 31 % 251);
            out.write(block.data(), static_cast<std::streamsize>(block.size()));
        }
    }
    auto body = [](std::string file_path, std::size_t expected) -> aio::coroutine<> {
        bool reading = true;
        long ticks = 0;
        auto ticker = [](bool* on, long* count) -> aio::coroutine<> {
            while (*on) {
                ++*count;
                co_await aio::sleep(0s);
            }
        };
        aio::task<> t = aio::create_task(ticker(&reading, &ticks));
        aio::file in = co_await aio::open_file(file_path, "rb");
        std::size_t total = 0, mismatches = 0;
        long chunks = 0;
        for (;;) {
            std::string chunk = co_await in.read(1 << 20);
            if (chunk.empty()) break;
            for (std::size_t j = 0; j < chunk.size(); j += 4099)   // a sample of every chunk
                if (chunk[j] != static_cast<char>((total + j) * 31 % 251)) ++mismatches;
            total += chunk.size();
            ++chunks;
        }
        co_await in.close();
        reading = false;
        co_await t;
        CHECK(total == expected);
        CHECK(chunks == 100);
        CHECK(mismatches == 0);
        CHECK(ticks >= chunks);   // the ticker ran at least once per chunk: the loop never blocked
    };
    aio::run(body(path, size));
}

TEST_CASE("open_file: a missing file is std::system_error(ENOENT) naming the path; a bad mode "
          "is std::invalid_argument; an existing file with \"x\" is EEXIST; a directory is EISDIR") {
    require_thread_answers();
    no_leaks check;
    scratch_dir dir;
    auto body = [](std::string missing, std::string existing) -> aio::coroutine<> {
        std::string what;
        int code = 0;
        try {
            co_await aio::open_file(missing);
        } catch (const std::system_error& e) {
            what = e.what();
            code = e.code().value();
        }
        CHECK(code == ENOENT);
        CHECK(what.find(missing) != std::string::npos);
        for (const char* mode : {"q", "rw", "r++", "", "bb"}) {
            CAPTURE(mode);
            bool refused = false;
            try {
                co_await aio::open_file(existing, mode);
            } catch (const std::invalid_argument&) {
                refused = true;
            }
            CHECK(refused);
        }
        aio::file made = co_await aio::open_file(existing, "x");
        co_await made.close();
        code = 0;
        try {
            co_await aio::open_file(existing, "xb");
        } catch (const std::system_error& e) {
            code = e.code().value();
        }
        CHECK(code == EEXIST);
        // A directory opens on Linux, but Python's open() refuses it: IsADirectoryError.
        const std::string directory = existing.substr(0, existing.rfind('/'));
        code = 0;
        what.clear();
        try {
            co_await aio::open_file(directory);
        } catch (const std::system_error& e) {
            code = e.code().value();
            what = e.what();
        }
        CHECK(code == EISDIR);
        CHECK(what.find(directory) != std::string::npos);
    };
    aio::run(body(dir / "no-such-file.txt", dir / "made.txt"));
}

TEST_CASE("open_file: any operation after close, or on no file, is std::logic_error") {
    require_thread_answers();
    no_leaks check;
    scratch_dir dir;
    auto body = [](std::string path) -> aio::coroutine<> {
        aio::file f = co_await aio::open_file(path, "w+");
        co_await f.close();
        int refused = 0;
        try {
            co_await f.write("late");
        } catch (const std::logic_error& e) {
            refused += std::string(e.what()).find("is closed") != std::string::npos;
        }
        try {
            co_await f.read();
        } catch (const std::logic_error&) {
            ++refused;
        }
        aio::file none;
        try {
            co_await none.read(1);
        } catch (const std::logic_error&) {
            ++refused;
        }
        CHECK(refused == 3);
    };
    aio::run(body(dir / "f.txt"));
}

TEST_CASE("open_file: a read cancelled while its thread runs leaves no fd open once the file "
          "and the thread are done with it") {
    require_thread_answers();
    no_leaks check;
    scratch_dir dir;
    {
        std::ofstream out(dir / "data.bin", std::ios::binary);
        out << std::string(1 << 20, 'x');
    }
    const int fds = open_fd_count();
    auto body = [](std::string path) -> aio::coroutine<> {
        {
            aio::file f = co_await aio::open_file(path);
            aio::task<std::string> reading = aio::create_task(f.read());
            co_await aio::sleep(0s);   // submitted
            reading.cancel();
            bool cancelled = false;
            try {
                co_await reading;
            } catch (const aio::cancelled_error&) {
                cancelled = true;
            }
            CHECK(cancelled);
        }   // the handle goes; the thread may still hold the record, and closes the fd after
    };
    aio::run(body(dir / "data.bin"));   // joins the executor: the thread is done
    CHECK(open_fd_count() == fds);
}
