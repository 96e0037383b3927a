// aio/not_implemented.hpp — lesson 01: the error an unfilled exercise hole throws.
//
// Every lesson's exercise is this runtime with the lesson's own parts cut out. Each cut-out
// ("hole") is replaced by a stub that still compiles and throws `not_implemented` with the
// lesson, the hole's name and a first hint, so a failing test says what to write next:
//
//     lesson 01, hole call_soon: append the callback to the back of ready_
//
// `make check` reads that message back to point the learner at the hole.
#pragma once

#include <stdexcept>

namespace aio {

class not_implemented : public std::logic_error {
public:
    explicit not_implemented(const char* what) : std::logic_error(what) {}
};

} // namespace aio
