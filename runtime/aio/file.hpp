// aio/file.hpp — lesson 12: files, awaited (aiofiles' shape).
//
//     aio::file log = co_await aio::open_file("app.log", "a");
//     co_await log.write("started\n");
//     co_await log.close();
//
//     aio::file big = co_await aio::open_file("big.bin", "rb");
//     for (std::string chunk; !(chunk = co_await big.read(1 << 20)).empty();) digest(chunk);
//
// Linux has no readiness for regular files: epoll refuses them, and a read of a file not in the
// page cache blocks on the disk. So every operation of a file runs on the loop's default
// executor (to_thread.hpp), as aiofiles does: the awaiting task waits, the others run.
//
// Design principles:
//  * A file is a handle to a record the thread calls share (the fd and a mutex). The calls on one
//    file take the mutex, so they never overlap on its fd; and the record lives until the last
//    call is over, so a cancelled read that is still running on its thread never reads a closed
//    (or reused) fd.
//  * Unbuffered: each read or write is a loop of read(2)/write(2) calls on the thread, so there is
//    no second copy of the data in user space, and read(n) returns as soon as it has n bytes (or
//    the end of the file).
//  * Errors name the path: open_file of a missing file is std::system_error(ENOENT) saying which.
//
// Simplified: bytes only (std::string, no text decoding or newline translation, so "r" and "rb"
// are the same); no seek, no readline, no iteration by lines. A file not closed is closed when
// its handle and its last call are gone, without waiting for a thread.
#pragma once

#include "aio/coroutine.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace aio {

namespace detail {
struct open_file_record;
}

class file {
public:
    file() = default;   // no file: every operation is std::logic_error
    file(file&&) noexcept = default;
    file& operator=(file&&) noexcept = default;
    ~file() = default;  // the fd closes with the last holder of the record

    /// The rest of the file, to its end.
    coroutine<std::string> read();
    /// Up to `n` bytes: fewer only at the end of the file; "" once there.
    coroutine<std::string> read(std::size_t n);
    /// All of `data`; returns its size.
    coroutine<std::size_t> write(std::string data);
    /// Closes the fd (on a thread: close(2) can block, on NFS say). Closing twice does nothing;
    /// any other operation after it is std::logic_error.
    coroutine<void> close();

    const std::string& path() const;
    bool closed() const noexcept;

private:
    friend coroutine<file> open_file(std::string path, std::string mode);
    explicit file(std::shared_ptr<detail::open_file_record> record) : record_(std::move(record)) {}

    std::shared_ptr<detail::open_file_record> record_;
};

/// Opens `path` on a thread (Python's open() modes: "r", "w", "a", "x", each maybe with "+" and
/// "b"; "w" truncates, "a" appends, "x" fails if the file exists). A bad mode is
/// std::invalid_argument; a failed open is std::system_error naming the path.
coroutine<file> open_file(std::string path, std::string mode = "r");

} // namespace aio
