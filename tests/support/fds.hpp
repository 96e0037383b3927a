// tests/support/fds.hpp — helpers for tests that use real file descriptors.
#pragma once

#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <utility>

// Open fds of this process: a test compares the count before and after to catch fd leaks.
inline int open_fd_count() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) throw std::runtime_error("cannot list /proc/self/fd");
    int count = 0;
    while (::readdir(dir) != nullptr) ++count;
    ::closedir(dir);
    return count;
}

// A connected pair of non-blocking Unix stream sockets, closed when the pair goes away.
struct socket_pair {
    int fd[2] = {-1, -1};
    socket_pair() {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) != 0)
            throw std::runtime_error("socketpair failed");
    }
    ~socket_pair() {
        close(0);
        close(1);
    }
    void close(int side) {
        if (fd[side] >= 0) ::close(std::exchange(fd[side], -1));
    }
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;
};
