// aio/cancelled_error.hpp — lesson 04: what a cancelled await throws.
//
// Like asyncio's CancelledError, which derives from BaseException and not from Exception,
// aio::cancelled_error does NOT derive from std::exception: a `catch (const std::exception&)`
// meant for ordinary failures does not swallow a cancellation by accident. Catch it by name,
// clean up, and rethrow (`throw;`) — a task that swallows its cancellation keeps running.
#pragma once

namespace aio {

class cancelled_error {
public:
    const char* what() const noexcept { return "aio::cancelled_error: the task was cancelled"; }
};

} // namespace aio
