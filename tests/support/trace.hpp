// tests/support/trace.hpp — the loop's steps while a test runs: what `make check` shows when an
// ordering test fails, and the test log that goes with them.
//
// The grader runs a failing test again with AIO_STEP_TRACE=<file>. doctest_main.cpp's listener then
// installs a step_trace (support/step_trace.hpp, an aio::detail::loop_observer) for the test,
// which writes one line per item the loop runs, as it runs it (so a hang or a crash keeps
// everything before it). This header is what the tests themselves use: the trace file, and a
// log whose lines go into it. The records:
//
//     T <test name>                           the test begins
//     S <step> <time>                         a loop step begins; the loop's clock, in ns
//     R <step>.<index> <kind> <frame> <fn> <by> <type>
//                                             an item runs. kind: coroutine, callback or timer;
//                                             frame: the coroutine's frame (0 for the others);
//                                             fn: its resume function, as an offset in the binary
//                                             (the grader names it with addr2line); by: the item
//                                             that scheduled it (<step>.<index>), "start" (before
//                                             the loop ran) or "outside" (between steps: I/O,
//                                             timers, aio::run); type: the callback's type, as
//                                             typeid names it (c++filt -t reads it), or -
//     L <text>                                the test logged a line (log_t below)
//     F <file>:<line>                         a check failed
//     X <n>                                   n more items ran, not written (a trace has a limit)
//
// The grader turns this into text; lesson 13 draws it as a timeline.
#pragma once

#include <unistd.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace aio_test {

// The trace file of the test being traced, or -1 (the usual case: nothing is written).
inline int trace_fd = -1;

inline void trace_write(std::string_view kind, std::string_view text) {
    if (trace_fd < 0) return;
    std::string line;
    line.reserve(kind.size() + text.size() + 2);
    line.append(kind).append(" ");
    for (char c : text) line += (c == '\n' ? ' ' : c);   // one record, one line
    line += '\n';
    for (std::size_t done = 0; done < line.size();) {
        ssize_t n = ::write(trace_fd, line.data() + done, line.size() - done);
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

// A test's log: what ran, in which order. It is a vector of strings; while the test is traced,
// each line logged also goes into the trace, beside the loop step that logged it.
struct log_t : std::vector<std::string> {
    using std::vector<std::string>::vector;
    void push_back(std::string line) {
        trace_write("L", line);
        std::vector<std::string>::push_back(std::move(line));
    }
};

// doctest prints it the way support/printing.hpp prints a vector: {"a runs", "b runs"}.
inline std::ostream& operator<<(std::ostream& out, const log_t& log) {
    out << "{";
    for (std::size_t i = 0; i < log.size(); ++i) {
        out << (i ? ", \"" : "\"");
        for (char c : log[i]) out << (c == '"' || c == '\\' ? "\\" : "") << c;
        out << "\"";
    }
    return out << "}";
}

} // namespace aio_test
