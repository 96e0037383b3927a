// aio/net/getaddrinfo.cpp — lesson 12: name lookup that never blocks the loop (see getaddrinfo.hpp).
#include "aio/net/getaddrinfo.hpp"
#include "aio/to_thread.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

namespace aio {

namespace detail {

namespace {
address_info numeric(const sockaddr* address) {
    char text[INET6_ADDRSTRLEN] = {};
    if (address->sa_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
        ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
        return {AF_INET, text, ntohs(v4->sin_port)};
    }
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return {AF_INET6, text, ntohs(v6->sin6_port)};
}
} // namespace

std::vector<address_info> addresses_without_lookup(const std::string& host, std::uint16_t port) {
    if (host == "localhost") return {{AF_INET, "127.0.0.1", port}, {AF_INET6, "::1", port}};
    in_addr v4;
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return {{AF_INET, host, port}};
    in6_addr v6;
    if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        char text[INET6_ADDRSTRLEN] = {};   // the canonical spelling: "0::1" is "::1"
        ::inet_ntop(AF_INET6, &v6, text, sizeof text);
        return {{AF_INET6, text, port}};
    }
    return {};
}

std::vector<address_info> blocking_getaddrinfo(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    const std::string service = std::to_string(port);
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
        const std::string why = rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc);
        throw gai_error(rc, "getaddrinfo('" + host + "'): " + why);
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
    std::vector<address_info> result;
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next)
        if (a->ai_family == AF_INET || a->ai_family == AF_INET6) result.push_back(numeric(a->ai_addr));
    if (result.empty()) throw gai_error(EAI_NONAME, "getaddrinfo('" + host + "'): no IPv4 or IPv6 address");
    return result;
}

} // namespace detail

coroutine<std::vector<address_info>> getaddrinfo(std::string host, std::uint16_t port) {
    if (host.empty()) throw std::invalid_argument("getaddrinfo: empty host name");
    std::vector<address_info> known = detail::addresses_without_lookup(host, port);
    if (!known.empty()) co_return known;
    std::vector<address_info> found = co_await to_thread(detail::blocking_getaddrinfo, std::move(host), port);
    co_return found;
}

} // namespace aio
