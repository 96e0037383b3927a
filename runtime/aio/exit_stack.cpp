// aio/exit_stack.cpp — lesson 07: reporting what an exit_stack cannot propagate.
#include "aio/exit_stack.hpp"

#include <cstdio>

namespace aio::detail {

void report_dropped_exception(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        std::fprintf(stderr, "aio: exit_stack: a cleanup threw while another exception was "
                             "pending, and is dropped: %s\n", x.what());
    } catch (...) {
        std::fprintf(stderr, "aio: exit_stack: a cleanup threw while another exception was "
                             "pending, and is dropped (not a std::exception)\n");
    }
}

} // namespace aio::detail
