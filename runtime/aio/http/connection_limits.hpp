// aio/http/connection_limits.hpp — lesson 10: how many connections a client_session may hold.
//
//     aio::http::client_options options;
//     options.limit = 10;            // at most 10 requests on a connection at once (default 100)
//     options.limit_per_host = 2;    // at most 2 of them to one host:port (default: no bound)
//     aio::http::client_session session(options);
//
// A crawler that starts ten thousand requests at once should not open ten thousand sockets: the
// file descriptors run out, and the servers see a flood. aiohttp's TCPConnector bounds them with
// `limit` and `limit_per_host`; so does client_session, with lesson 10's semaphores.
//
// Design principles:
//  * A request holds a slot from before it takes a connection until its answer is read, however
//    it ends (an exception, a cancellation, its timeout: the wait for a slot counts in it, as in
//    aiohttp). Idle kept-alive connections hold none, as in aiohttp.
//  * A slot for the host:port first, then one for the session: always in that order, so that no
//    two requests can each hold the slot the other waits for, and a request waiting for a busy
//    host does not hold one of the session's slots meanwhile.
//  * Waiting is first come, first served: the semaphores are fair (aio/semaphore.hpp).
//
// Simplified: a host's semaphore is kept for the life of the session, once asked for (a few
// dozen bytes per host:port; dropping it while a task may still be waiting on it is not worth
// the care).
#pragma once

#include "aio/coroutine.hpp"
#include "aio/semaphore.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

namespace aio::http {

// ANCHOR: connection_limits
class connection_limits {
public:
    /// 0 for no bound.
    connection_limits(std::size_t limit, std::size_t limit_per_host)
        : per_host_limit_(limit_per_host) {
        if (limit > 0) session_.emplace(checked(limit));
    }

    /// The slots one request holds; given back when it goes.
    class held {
    public:
        held(semaphore* host, semaphore* session) noexcept : host_(host), session_(session) {}
        held(held&& other) noexcept
            : host_(std::exchange(other.host_, nullptr)), session_(std::exchange(other.session_, nullptr)) {}
        held& operator=(held&&) = delete;
        ~held() {
            if (session_) session_->release();
            if (host_) host_->release();
        }

    private:
        friend class connection_limits;
        semaphore* host_;
        semaphore* session_;
    };

    /// Waits for a slot for `authority` ("host:port") and one for the session.
    coroutine<held> acquire(std::string authority) {
        semaphore* host = per_host_limit_ == 0 ? nullptr : &slots_for(authority);
        if (host) co_await host->acquire();
        held slots(host, nullptr);   // gives the host's back if the next wait is cancelled
        if (session_) {
            co_await session_->acquire();
            slots.session_ = &*session_;
        }
        co_return std::move(slots);
    }

private:
    static std::ptrdiff_t checked(std::size_t n) {
        if (n > static_cast<std::size_t>(PTRDIFF_MAX))
            throw std::invalid_argument("client_options: a connection limit beyond PTRDIFF_MAX");
        return static_cast<std::ptrdiff_t>(n);
    }
    semaphore& slots_for(const std::string& authority) {
        std::unique_ptr<semaphore>& slots = per_host_[authority];
        if (!slots) slots = std::make_unique<semaphore>(checked(per_host_limit_));
        return *slots;
    }

    std::optional<semaphore> session_;
    std::size_t per_host_limit_;
    std::unordered_map<std::string, std::unique_ptr<semaphore>> per_host_;
};
// ANCHOR_END: connection_limits

} // namespace aio::http
