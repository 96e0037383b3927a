// aio/net/getaddrinfo.hpp — lesson 12: name lookup that never blocks the loop (loop.getaddrinfo).
//
//     for (const aio::address_info& a : co_await aio::getaddrinfo("example.org", 443))
//         std::printf("%s port %u\n", a.host.c_str(), a.port);
//
// The C library's getaddrinfo() blocks while it reads /etc/hosts and asks DNS — a second, or
// thirty when a server does not answer — and it has no non-blocking form. So, as asyncio does, we
// call it on a thread (to_thread.hpp) and await the answer. Lesson 08's open_connection and
// start_server resolved names with a blocking call; from this lesson on they await this one.
//
// IP literals and "localhost" need no thread: they are answered on the spot. "localhost" is the
// loopback address, IPv4 then IPv6, as RFC 6761 asks (never a DNS question).
//
// Simplified: TCP addresses only (asyncio gives every socket type unless asked); no flags;
// open_connection uses the first address (asyncio's create_connection tries each in turn).
#pragma once

#include "aio/coroutine.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace aio {

/// One address a name resolves to.
struct address_info {
    int family = 0;       // AF_INET or AF_INET6
    std::string host;     // numeric: "93.184.215.14", "::1"
    std::uint16_t port = 0;

    bool operator==(const address_info&) const = default;
};

/// A name that does not resolve (Python's socket.gaierror): what() names the host and says why;
/// code() is getaddrinfo's EAI_* error.
class gai_error : public std::runtime_error {
public:
    gai_error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    int code() const noexcept { return code_; }

private:
    int code_;
};

/// The TCP addresses of `host` (a name, "localhost", or an IPv4/IPv6 literal), in the
/// resolver's order, with `port`. A name is looked up on a thread of the loop's default
/// executor; a literal or "localhost" is answered without one. An empty host is
/// std::invalid_argument; a name that does not resolve is gai_error.
coroutine<std::vector<address_info>> getaddrinfo(std::string host, std::uint16_t port);

namespace detail {
/// The answer for a literal or "localhost", or nothing if `host` is neither (for tests too).
std::vector<address_info> addresses_without_lookup(const std::string& host, std::uint16_t port);
/// The blocking lookup itself (what getaddrinfo runs on a thread).
std::vector<address_info> blocking_getaddrinfo(const std::string& host, std::uint16_t port);
} // namespace detail

} // namespace aio
