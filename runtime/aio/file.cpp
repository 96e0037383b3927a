// aio/file.cpp — lesson 12: files, awaited (see file.hpp).
#include "aio/file.hpp"
#include "aio/to_thread.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace aio {

namespace detail {

// What the thread calls on one file share.
struct open_file_record {
    open_file_record(int descriptor, std::string p) : fd(descriptor), path(std::move(p)) {}
    ~open_file_record() {
        if (fd >= 0) ::close(fd);
    }
    open_file_record(const open_file_record&) = delete;
    open_file_record& operator=(const open_file_record&) = delete;

    std::mutex mutex;       // one call at a time on the fd
    std::atomic<int> fd;    // -1 once closed (atomic: file::closed() reads it without the mutex)
    const std::string path;
};

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw std::system_error(errno, std::system_category(), what + "('" + path + "')");
}

int open_flags(const std::string& mode) {
    int flags = 0;
    bool plus = false, binary = false, text = false;
    char kind = 0;
    for (char c : mode) {
        if (c == 'r' || c == 'w' || c == 'a' || c == 'x') {
            if (kind != 0) kind = '?';
            else kind = c;
        } else if (c == '+' && !plus) {
            plus = true;
        } else if (c == 'b' && !binary && !text) {
            binary = true;
        } else if (c == 't' && !binary && !text) {
            text = true;
        } else {
            kind = '?';
        }
    }
    switch (kind) {
    case 'r': flags = plus ? O_RDWR : O_RDONLY; break;
    case 'w': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC; break;
    case 'a': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND; break;
    case 'x': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL; break;
    default:
        throw std::invalid_argument("open_file: invalid mode '" + mode + "' (one of r, w, a, x, "
                                    "maybe with + and b)");
    }
    return flags | O_CLOEXEC;
}

// What Python's open() does after open(2): a directory opens for reading on Linux, but it is no
// file (IsADirectoryError); an append mode starts at the end, for reading too ("a+").
// 0, or what went wrong as an errno.
int finish_open(int fd, int flags) {
    struct stat st {};
    if (::fstat(fd, &st) < 0) return errno;
    if (S_ISDIR(st.st_mode)) return EISDIR;
    if ((flags & O_APPEND) && ::lseek(fd, 0, SEEK_END) < 0) return errno;
    return 0;
}

std::shared_ptr<open_file_record> open_on_thread(const std::string& path, int flags) {
    int fd = ::open(path.c_str(), flags, 0666);
    if (fd < 0) fail("open_file", path);
    if (const int error = finish_open(fd, flags); error != 0) {
        ::close(fd);
        errno = error;
        fail("open_file", path);
    }
    try {
        return std::make_shared<open_file_record>(fd, path);
    } catch (...) {
        ::close(fd);   // bad_alloc: the record never took it
        throw;
    }
}

// The calls below run on a thread, under the record's mutex.
int usable_fd(open_file_record& r, const char* operation) {
    const int fd = r.fd;
    if (fd < 0) throw std::logic_error(std::string("file::") + operation + ": the file '" + r.path + "' is closed");
    return fd;
}

std::string read_on_thread(const std::shared_ptr<open_file_record>& record, std::size_t n, bool to_end) {
    std::lock_guard lock(record->mutex);
    const int fd = usable_fd(*record, "read");
    std::string data;
    constexpr std::size_t chunk = 64 * 1024;
    while (to_end || data.size() < n) {
        const std::size_t want = to_end ? chunk : std::min(chunk, n - data.size());
        const std::size_t had = data.size();
        data.resize(had + want);
        const ssize_t got = ::read(fd, data.data() + had, want);
        if (got < 0) {
            data.resize(had);
            if (errno == EINTR) continue;
            fail("file::read", record->path);
        }
        data.resize(had + static_cast<std::size_t>(got));
        if (got == 0) break;   // the end of the file
    }
    return data;
}

std::size_t write_on_thread(const std::shared_ptr<open_file_record>& record, const std::string& data) {
    std::lock_guard lock(record->mutex);
    const int fd = usable_fd(*record, "write");
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("file::write", record->path);
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

void close_on_thread(const std::shared_ptr<open_file_record>& record) {
    std::lock_guard lock(record->mutex);
    const int fd = record->fd.exchange(-1);
    if (fd < 0) return;
    // Linux frees the fd even when close reports an error (EINTR included): never retry.
    if (::close(fd) < 0 && errno != EINTR) fail("file::close", record->path);
}

} // namespace
} // namespace detail

namespace {
const std::shared_ptr<detail::open_file_record>& checked(const std::shared_ptr<detail::open_file_record>& r) {
    if (!r) throw std::logic_error("aio::file: no file (default-constructed or moved from)");
    return r;
}
} // namespace

coroutine<file> open_file(std::string path, std::string mode) {
    const int flags = detail::open_flags(mode);
    if (path.empty()) throw std::invalid_argument("open_file: empty path");
    std::shared_ptr<detail::open_file_record> record = co_await to_thread(detail::open_on_thread, std::move(path), flags);
    co_return file(std::move(record));
}

// Not coroutines: each binds the record at the call, so the call's coroutine does not depend on
// this handle (moved, or gone, before the co_await) — and there is one frame per call, not two.
coroutine<std::string> file::read() {
    return to_thread(detail::read_on_thread, checked(record_), std::size_t{0}, true);
}

coroutine<std::string> file::read(std::size_t n) {
    return to_thread(detail::read_on_thread, checked(record_), n, false);
}

coroutine<std::size_t> file::write(std::string data) {
    return to_thread(detail::write_on_thread, checked(record_), std::move(data));
}

coroutine<void> file::close() {
    return to_thread(detail::close_on_thread, checked(record_));
}

const std::string& file::path() const { return checked(record_)->path; }

bool file::closed() const noexcept {
    // Not under the mutex: a hint for the loop's thread, exact once no call is out.
    return !record_ || record_->fd < 0;
}

} // namespace aio
