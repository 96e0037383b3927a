// tests/fuzz/http_parser_fuzz.cpp — libFuzzer target for lesson 09's parsers (`make fuzz`).
//
// Feeds arbitrary bytes to every parser that reads what a peer sends: request and response
// heads, their body framing, chunk size lines, URLs and Location headers. The only acceptable
// outcomes are a value or aio::http::protocol_error; anything else (another exception, a crash,
// a sanitizer report) is a bug. The parsers are pure functions, so no socket is needed.
#include <aio/http/message.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    using aio::http::protocol_error;
    try {
        aio::http::request_head r = aio::http::parse_request_head(bytes);
        aio::http::check_host(r);
        aio::http::request_body_framing(r);
        aio::http::keeps_alive(r.minor_version, r.headers);
    } catch (const protocol_error&) {
    }
    try {
        aio::http::response_head r = aio::http::parse_response_head(bytes);
        aio::http::response_body_framing(r, "GET");
    } catch (const protocol_error&) {
    }
    try {
        aio::http::parse_chunk_size(bytes);
    } catch (const protocol_error&) {
    }
    try {
        aio::http::url u = aio::http::parse_url(bytes);
        aio::http::resolve_location(u, bytes.substr(bytes.size() / 2));
        (void)u.authority();
    } catch (const protocol_error&) {
    }
    return 0;
}
