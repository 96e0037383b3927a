// tests/support/cpython.hpp — CPython as the oracle: what a Python program prints.
//
// A semantic test of the runtime writes its scenario twice, as an asyncio program and as the
// C++ port, and compares what both print: `CHECK(join(log) == cpython_prints(R"py(...)py"));`.
// Our memory of what asyncio does is not the reference; asyncio is. (Debian's python3, where
// `make deps` installs the packages; stdout and stderr together.)
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

inline std::string cpython_prints(const std::string& program) {
    char path[] = "/tmp/aio-oracle-XXXXXX.py";
    int fd = ::mkstemps(path, 3);
    if (fd < 0) throw std::runtime_error("cpython_prints: mkstemps failed");
    const bool written = ::write(fd, program.data(), program.size()) == static_cast<ssize_t>(program.size());
    ::close(fd);
    const char* python = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    std::string out;
    if (written) {
        std::FILE* pipe = ::popen((std::string(python) + " " + path + " 2>&1").c_str(), "r");
        if (pipe != nullptr) {
            char buffer[4096];
            for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
            if (::pclose(pipe) != 0) out += "(python3 failed)\n";
        }
    }
    ::unlink(path);
    return out;
}

// The lines of a test's log, one per line, as a Python program's print() calls would give them.
inline std::string lines_of(const std::vector<std::string>& log) {
    std::string out;
    for (const std::string& line : log) out += line + "\n";
    return out;
}
