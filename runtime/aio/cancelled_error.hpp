// aio/cancelled_error.hpp — lesson 04: what a cancelled await throws.
//
// Like asyncio's CancelledError, which derives from BaseException and not from Exception,
// aio::cancelled_error does NOT derive from std::exception: a `catch (const std::exception&)`
// meant for ordinary failures does not swallow a cancellation by accident. Catch it by name,
// clean up, and rethrow (`throw;`) — a task that swallows its cancellation keeps running.
#pragma once

#if AIO_LESSON >= 11
#include <memory>
#include <string>
#endif // lesson 11

namespace aio {

class cancelled_error {
public:
#if AIO_LESSON >= 11
    cancelled_error() = default;
    /// Lesson 11: the message given to task.cancel(message), as asyncio's CancelledError(msg).
    explicit cancelled_error(std::string message)
        : message_(std::make_shared<const std::string>(std::move(message))) {}
    const char* what() const noexcept {
        return message_ ? message_->c_str() : "aio::cancelled_error: the task was cancelled";
    }

private:
    std::shared_ptr<const std::string> message_;   // shared: copying an exception never throws
#else
    const char* what() const noexcept { return "aio::cancelled_error: the task was cancelled"; }
#endif // lesson 11
};

} // namespace aio
