// tests/support/cpython.hpp — CPython as the oracle: what a Python program prints.
//
// A semantic test of the runtime writes its scenario twice, as an asyncio program and as the
// C++ port, and compares what both print: `CHECK(join(log) == cpython_prints(R"py(...)py"));`.
// Our memory of what asyncio does is not the reference; asyncio is. (Debian's python3, where
// `make deps` installs the packages; stdout and stderr together.)
#pragma once

#include <glob.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

// What `program` prints when run by the interpreter `python`.
inline std::string python_prints(const std::string& python, const std::string& program) {
    char path[] = "/tmp/aio-oracle-XXXXXX.py";
    int fd = ::mkstemps(path, 3);
    if (fd < 0) throw std::runtime_error("cpython_prints: mkstemps failed");
    const bool written = ::write(fd, program.data(), program.size()) == static_cast<ssize_t>(program.size());
    ::close(fd);
    std::string out;
    if (written) {
        std::FILE* pipe = ::popen((python + " " + path + " 2>&1").c_str(), "r");
        if (pipe != nullptr) {
            char buffer[4096];
            for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
            if (::pclose(pipe) != 0) out += "(python3 failed)\n";
        }
    }
    ::unlink(path);
    return out;
}

inline std::string cpython_prints(const std::string& program) {
    return python_prints(::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3", program);
}

// The same with CPython 3.12 or newer, for what asyncio changed since 3.11 (wait_for written on
// timeout, ...): python3.12 or python3.13 on the PATH, or under pyenv (this machine image has
// them there). None found: a line saying so, which no test expects.
inline std::string cpython312_prints(const std::string& program) {
    for (const char* pattern : {"/usr/bin/python3.1[2-9]", "/root/.pyenv/versions/3.1[2-9].*/bin/python3"}) {
        ::glob_t found{};
        std::string python;
        if (::glob(pattern, 0, nullptr, &found) == 0 && found.gl_pathc > 0) python = found.gl_pathv[0];
        ::globfree(&found);
        if (!python.empty()) return python_prints(python, program);
    }
    return "(no CPython 3.12 or newer found: looked in /usr/bin and /root/.pyenv/versions)\n";
}

// The lines of a test's log, one per line, as a Python program's print() calls would give them.
inline std::string lines_of(const std::vector<std::string>& log) {
    std::string out;
    for (const std::string& line : log) out += line + "\n";
    return out;
}
