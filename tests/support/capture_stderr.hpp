// tests/support/capture_stderr.hpp — what the code under test writes to stderr, as a string.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

// While alive, fd 2 goes to a temporary file; text() stops the capture and returns it.
class capture_stderr {
public:
    capture_stderr() : file_(std::tmpfile()) {
        if (file_ == nullptr) throw std::runtime_error("tmpfile failed");
        std::fflush(stderr);
        saved_ = ::dup(2);
        ::dup2(::fileno(file_), 2);
    }
    ~capture_stderr() {
        stop();
        std::fclose(file_);
    }
    capture_stderr(const capture_stderr&) = delete;
    capture_stderr& operator=(const capture_stderr&) = delete;

    std::string text() {
        stop();
        std::string out;
        std::rewind(file_);
        for (int c; (c = std::fgetc(file_)) != EOF;) out += static_cast<char>(c);
        return out;
    }

private:
    void stop() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        saved_ = -1;
    }
    std::FILE* file_;
    int saved_ = -1;
};
