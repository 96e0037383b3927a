// aio/exit_stack.cpp — lesson 07: reporting what an exit_stack cannot propagate.
#include "aio/exit_stack.hpp"

#include <cstdio>

namespace aio::detail {

void report_replaced_exception(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        std::fprintf(stderr, "aio: exit_stack: a cleanup threw while this exception was pending, "
                             "and replaced it: %s\n", x.what());
    } catch (...) {
        std::fprintf(stderr, "aio: exit_stack: a cleanup threw while another exception (not a "
                             "std::exception) was pending, and replaced it\n");
    }
}

} // namespace aio::detail
