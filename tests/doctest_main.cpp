// The doctest runner's main(), compiled once and linked into every test binary.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "support/step_trace.hpp"

#include <fcntl.h>

#include <cstdlib>

namespace {

// With AIO_STEP_TRACE=<file> in the environment, each test that runs writes the loop's steps to that
// file (tests/support/trace.hpp): `make check` asks for it to show how an ordering test failed.
// Without it, this listener does nothing.
class trace_listener : public doctest::IReporter {
public:
    explicit trace_listener(const doctest::ContextOptions&) {}

    void test_case_start(const doctest::TestCaseData& test) override {
        const char* file = std::getenv("AIO_STEP_TRACE");
        if (file == nullptr || *file == '\0') return;
        aio_test::trace_fd = ::open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (aio_test::trace_fd < 0) return;
        aio_test::trace_write("T", test.m_name);
        trace_ = new aio_test::step_trace;
        aio::detail::loop_observer::current = trace_;
    }
    void test_case_end(const doctest::CurrentTestCaseStats&) override { stop(); }
    void log_assert(const doctest::AssertData& check) override {
        if (check.m_failed)
            aio_test::trace_write("F", std::string(check.m_file) + ":" + std::to_string(check.m_line));
    }

    // (The rest of a reporter's interface: nothing to do.)
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}

private:
    void stop() {
        if (trace_ == nullptr) return;
        aio::detail::loop_observer::current = nullptr;
        delete trace_;
        trace_ = nullptr;
        ::close(aio_test::trace_fd);
        aio_test::trace_fd = -1;
    }
    aio_test::step_trace* trace_ = nullptr;
};

DOCTEST_REGISTER_LISTENER("aio-trace", 1, trace_listener);

} // namespace
