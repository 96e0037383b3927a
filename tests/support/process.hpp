// tests/support/process.hpp — real peers for the HTTP tests: child processes (python3's
// http.server, nginx, curl, an aiohttp client) started by a test and stopped by PID, a scratch
// directory, a free loopback port.
#pragma once

#include <aio/aio.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// A directory under /tmp, removed with everything in it when the object goes.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        char name[] = "/tmp/aio-test-XXXXXX";
        if (::mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = name;
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    std::string write(const std::string& name, const std::string& content) const {
        std::filesystem::path file = path / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << content;
        return file.string();
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream all;
    all << in.rdbuf();
    return all.str();
}

// A port nobody listens on right now (the kernel's choice for a socket bound to port 0).
inline std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) != 0)
        throw std::runtime_error("free_port: bind failed");
    ::close(fd);
    return ntohs(a.sin_port);
}

// A child process, killed (SIGTERM, then waited for) when the object goes if still running —
// and killed by the kernel if this process dies first (an ASan abort, a timeout): no test may
// leave a server running.
class child_process {
public:
    // `output`: a file for its stdout and stderr ("" keeps ours).
    explicit child_process(const std::vector<std::string>& argv, const std::string& output = "") {
        std::vector<char*> args;
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {   // the child: only async-signal-safe calls until exec
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);   // the parent died before prctl
            if (!output.empty()) {
                int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0) ::_exit(127);
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            ::execvp(args[0], args.data());
            ::_exit(127);   // not found: the test sees exit code 127
        }
    }
    ~child_process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const { return pid_; }
    // Its exit status if it has exited (and it is reaped), else -1; never blocks.
    int poll() {
        int status = 0;
        if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        return exit_code_;
    }

private:
    pid_t pid_ = -1;
    int exit_code_ = -1;
};

// Waits, without blocking the loop (our server may be the one the child talks to), for the
// child to exit; its exit code.
inline aio::coroutine<int> exit_of(child_process& child, std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (child.poll() < 0) {
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("child process hangs");
        co_await aio::sleep(std::chrono::milliseconds(5));
    }
    co_return child.poll();
}

// Blocks (before the loop runs) until something accepts connections on 127.0.0.1:port.
inline void wait_for_port(std::uint16_t port, child_process& server, const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (up) return;
        if (server.poll() >= 0) throw std::runtime_error(what + " exited before it listened");
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error(what + " never listened");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}
