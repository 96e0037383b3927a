// aio/http/message.cpp — lesson 09: parsing HTTP/1.1 heads, bodies' framing, URLs.
#include "aio/http/message.hpp"
#include "aio/not_implemented.hpp"

#include <bit>
#include <charconv>
#include <cstring>
#include <limits>

namespace aio::http {

namespace {

[[noreturn]] void fail(const std::string& what) { throw protocol_error(what); }

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Character classes, one table lookup per byte (the parser's inner loops run over every byte
// of every request a server reads).
struct char_classes {
    bool token[256] = {};   // RFC 9110's tchar: what a method or a header name is made of
    bool text[256] = {};    // what a line may hold: printable ASCII, tab, and bytes >= 0x80
    bool host[256] = {};    // what a Host may hold: RFC 3986's host (names, IPv4, [IPv6]) and port
    constexpr char_classes() {
        for (int c = 0; c < 256; ++c) {
            token[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            text[c] = (c >= 0x20 && c != 0x7f) || c == '\t';
            host[c] = token[c];
        }
        for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) token[c] = true;
        for (unsigned char c : std::string_view("-._~!$&'()*+,;=:[]%")) host[c] = true;
    }
};
constexpr char_classes classes;

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// ANCHOR: next_line
// Flags the control characters (below 0x20, or 0x7f) among the eight bytes of `word`: the
// "has a byte less than n" trick of Bit Twiddling Hacks. Subtracting 0x20 from every byte sets
// a byte's top bit where it was below 0x20, and `& ~word` drops the bytes that were >= 0x80
// (text, for HTTP); XOR with 0x7f turns DEL into a zero byte, found the same way (less than 1).
// A borrow can flag a byte above a real one, never below: the lowest flag is exact.
std::uint64_t control_bytes(std::uint64_t word) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101, tops = 0x8080808080808080;
    const std::uint64_t del = word ^ (ones * 0x7f);
    return (((word - ones * 0x20) & ~word) | ((del - ones) & ~del)) & tops;
}

// Where the first control character other than a tab is in `s` (s.size() if none): eight
// bytes at a step, the way fast HTTP parsers look at a head.
std::size_t find_control(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i + 8 <= s.size()) {
        std::uint64_t word;
        std::memcpy(&word, s.data() + i, 8);
        // Borrows run from the low byte up: the low byte must be the first in memory.
        if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
        if (const std::uint64_t flags = control_bytes(word)) {
            const std::size_t at = i + static_cast<std::size_t>(std::countr_zero(flags)) / 8;
            if (s[at] != '\t') return at;
            i = at + 1;   // a tab is text: go on after it
        } else {
            i += 8;
        }
    }
    while (i < s.size() && classes.text[static_cast<unsigned char>(s[i])]) ++i;
    return i;
}

// Splits off the next CRLF-terminated line. The one pass over every byte of a head: a bare CR
// or LF, or another control character (a tab aside), is an error here, once for all callers.
std::string_view next_line(std::string_view& rest) {
    const std::size_t i = find_control(rest);
    if (i == rest.size()) fail("header block does not end with an empty line");
    if (rest[i] == '\r' && i + 1 < rest.size() && rest[i + 1] == '\n') {
        std::string_view line = rest.substr(0, i);
        rest.remove_prefix(i + 2);
        return line;
    }
    if (rest[i] == '\r' || rest[i] == '\n') fail("bare CR or LF in line " + quote(rest.substr(0, i + 1)));
    fail("control character in line " + quote(rest.substr(0, i + 1)));
}
// ANCHOR_END: next_line

// "HTTP/1.1" -> 1; anything but HTTP/1.0 and HTTP/1.1 is an error.
int parse_version(std::string_view v) {
    if (v == "HTTP/1.1") return 1;
    if (v == "HTTP/1.0") return 0;
    fail("unsupported HTTP version " + quote(v));
}

// The header lines after the first line, up to the empty line that must end the head.
headers parse_fields(std::string_view rest) {
    headers h;
    h.reserve(4);   // most messages have a few: one allocation, not one per doubling
    for (;;) {
        std::string_view line = next_line(rest);
        if (line.empty()) break;
        if (line.front() == ' ' || line.front() == '\t')
            fail("folded header line " + quote(line) + " (obsolete, refused)");
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) fail("header line without a colon: " + quote(line));
        std::string_view name = line.substr(0, colon);
        if (!is_token(name)) fail("invalid header name " + quote(name));
        std::string_view value = trim(line.substr(colon + 1));   // (next_line refused controls)
        if (h.size() == max_header_fields)
            fail("more than " + std::to_string(max_header_fields) + " header fields");
        h.add(name, value);
    }
    if (!rest.empty()) fail("bytes after the end of the header block");
    return h;
}

// A whole decimal number, nothing else, that fits in 64 bits.
std::uint64_t parse_decimal(std::string_view s, const char* what) {
    std::uint64_t n = 0;
    auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || s.front() == '+' || error != std::errc() || end != s.data() + s.size())
        fail(std::string("invalid ") + what + " " + quote(s));
    return n;
}

} // namespace

// A printable rendering of untrusted bytes: an error message never carries a raw CR into a log.
std::string quote(std::string_view bytes) {
    std::string out = "\"";
    for (char c : bytes.substr(0, 40)) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && c != '"' && c != '\\') {
            out += c;
        } else {
            const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out + (bytes.size() > 40 ? "\"..." : "\"");
}

bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!classes.token[static_cast<unsigned char>(c)]) return false;
    return true;
}

bool is_field_value(std::string_view s) noexcept { return find_control(s) == s.size(); }

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

const std::string* headers::find(std::string_view name) const noexcept {
    for (const field& f : fields_)
        if (equal_ignoring_case(f.first, name)) return &f.second;
    return nullptr;
}

void headers::remove(std::string_view name) noexcept {
    std::erase_if(fields_, [name](const field& f) { return equal_ignoring_case(f.first, name); });
}

std::string headers::get(std::string_view name, std::string_view fallback) const {
    const std::string* value = find(name);
    return value ? *value : std::string(fallback);
}

bool headers::has_token(std::string_view name, std::string_view token) const noexcept {
    for (const field& f : fields_) {
        if (!equal_ignoring_case(f.first, name)) continue;
        std::string_view rest = f.second;
        while (!rest.empty()) {
            std::size_t comma = rest.find(',');
            if (equal_ignoring_case(trim(rest.substr(0, comma)), token)) return true;
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
    }
    return false;
}

// ANCHOR: parse_request_head
request_head parse_request_head(std::string_view head) {
#if AIO_EXERCISE == 9
    (void)head;
    throw not_implemented("lesson 09, hole parse_request_head: take the first line with next_line(); "
                          "split it at exactly two spaces into method (a token), target (no spaces "
                          "or controls) and version (parse_version); the rest is parse_fields()");
#else
    std::string_view rest = head;
    std::string_view line = next_line(rest);
    // method SP target SP version: exactly two single spaces.
    std::size_t first = line.find(' ');
    std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos)
        fail("malformed request line " + quote(line));
    std::string_view method = line.substr(0, first);
    std::string_view target = line.substr(first + 1, second - first - 1);
    if (!is_token(method)) fail("invalid method " + quote(method));
    if (target.empty()) fail("empty request target");
    for (char c : target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) fail("invalid request target " + quote(target));
    return request_head{.method = std::string(method),
                        .target = std::string(target),
                        .minor_version = parse_version(line.substr(second + 1)),
                        .headers = parse_fields(rest)};
#endif
}
// ANCHOR_END: parse_request_head

response_head parse_response_head(std::string_view head) {
    std::string_view rest = head;
    std::string_view line = next_line(rest);
    // version SP 3DIGIT SP reason (the reason may be empty, and contain spaces)
    if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' '))
        fail("malformed status line " + quote(line));
    response_head r;
    r.minor_version = parse_version(line.substr(0, 8));
    std::string_view code = line.substr(9, 3);
    for (char c : code)
        if (c < '0' || c > '9') fail("malformed status code " + quote(code));
    r.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (r.status < 100) fail("status code " + std::string(code) + " out of range");
    if (line.size() > 13) r.reason = line.substr(13);
    r.headers = parse_fields(rest);
    return r;
}

void check_host(const request_head& head) {
    const std::string* host = nullptr;
    for (const auto& [name, value] : head.headers) {
        if (!equal_ignoring_case(name, "Host")) continue;
        if (host != nullptr) fail("two Host headers");
        host = &value;
    }
    if (host == nullptr) {
        if (head.minor_version >= 1) fail("no Host header in an HTTP/1.1 request");
        return;
    }
    for (char c : *host)
        if (!classes.host[static_cast<unsigned char>(c)]) fail("invalid Host " + quote(*host));
}

namespace {
// Content-Length and Transfer-Encoding, shared by requests and responses.
body_framing framing_from_headers(int minor_version, const headers& h, body_framing otherwise) {
    const std::string* length = nullptr;
    bool chunked = false;
    for (const auto& [name, value] : h) {
        if (equal_ignoring_case(name, "Transfer-Encoding")) {
            // HTTP/1.0 has no Transfer-Encoding: a 1.0 hop on the way frames the message by its
            // length or by the close, and sees other messages than we would (RFC 9112, 6.1).
            if (minor_version == 0) fail("Transfer-Encoding in an HTTP/1.0 message");
            if (!equal_ignoring_case(trim(value), "chunked"))
                fail("unsupported Transfer-Encoding " + quote(value));
            if (chunked) fail("Transfer-Encoding: chunked given twice");
            chunked = true;
        } else if (equal_ignoring_case(name, "Content-Length")) {
            if (length != nullptr && *length != value) fail("conflicting Content-Length headers");
            length = &value;
        }
    }
    if (chunked && length != nullptr) fail("both Content-Length and Transfer-Encoding: chunked");
    if (chunked) return {body_framing::chunked, 0};
    if (length != nullptr) return {body_framing::content_length, parse_decimal(*length, "Content-Length")};
    return otherwise;
}
} // namespace

body_framing request_body_framing(const request_head& head) {
    return framing_from_headers(head.minor_version, head.headers, {body_framing::none, 0});
}

body_framing response_body_framing(const response_head& head, std::string_view request_method) {
    // No body, whatever the headers say: answers to HEAD, 1xx, 204 No Content, 304 Not Modified.
    if (request_method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304)
        return {body_framing::none, 0};
    return framing_from_headers(head.minor_version, head.headers, {body_framing::until_close, 0});
}

bool keeps_alive(int minor_version, const headers& h) noexcept {
    if (h.has_token("Connection", "close")) return false;
    return minor_version >= 1 || h.has_token("Connection", "keep-alive");
}

// ANCHOR: parse_chunk_size
std::uint64_t parse_chunk_size(std::string_view line) {
    if (line.size() < 2 || line.substr(line.size() - 2) != "\r\n") fail("chunk size line without CRLF");
    line.remove_suffix(2);
    std::string_view digits = line.substr(0, line.find(';'));   // chunk extensions are ignored
    digits = trim(digits);
    std::uint64_t size = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size())
        fail("invalid chunk size " + quote(line));
    return size;
}
// ANCHOR_END: parse_chunk_size

std::string url::authority() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;   // IPv6
    return port == 80 ? h : h + ":" + std::to_string(port);
}

url parse_url(std::string_view text) {
    constexpr std::string_view scheme = "http://";
    if (text.substr(0, scheme.size()) != scheme) {
        if (text.substr(0, 8) == "https://") fail("https is not supported (aio has no TLS): " + quote(text));
        fail("not an http:// URL: " + quote(text));
    }
    std::string_view rest = text.substr(scheme.size());
    std::size_t slash = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, slash);
    url u;
    std::string_view target = slash == std::string_view::npos ? "/" : rest.substr(slash);
    target = target.substr(0, target.find('#'));   // the fragment stays with the client
    u.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
    if (authority.find('@') != std::string_view::npos) fail("user info in URLs is not supported: " + quote(text));
    // The host goes into the Host header as it is: no byte of it may end that line.
    for (char c : authority)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) fail("space or control character in URL " + quote(text));
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {   // [::1]:8080
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) fail("unterminated IPv6 address in " + quote(text));
        u.host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') fail("malformed authority in " + quote(text));
        if (!after.empty()) port = after.substr(1);
    } else {
        std::size_t colon = authority.find(':');
        u.host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (u.host.empty()) fail("no host in URL " + quote(text));
    for (char c : u.target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) fail("space or control character in URL " + quote(text));
    if (!port.empty() || authority.back() == ':') {
        std::uint64_t p = 0;
        try {
            p = parse_decimal(port, "port");
        } catch (const protocol_error&) {
            fail("invalid port in URL " + quote(text));
        }
        if (p == 0 || p > 65535) fail("port out of range in URL " + quote(text));
        u.port = static_cast<std::uint16_t>(p);
    }
    return u;
}

url resolve_location(const url& base, std::string_view location) {
    if (location.substr(0, 7) == "http://" || location.substr(0, 8) == "https://") return parse_url(location);
    if (location.substr(0, 2) == "//") return parse_url("http:" + std::string(location));
    url u = base;
    if (!location.empty() && location.front() == '/') {
        u.target = location;
    } else {   // relative to the base's directory
        std::string_view path = std::string_view(base.target).substr(0, base.target.find('?'));
        u.target = std::string(path.substr(0, path.rfind('/') + 1)) + std::string(location);
    }
    for (char c : u.target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) fail("invalid Location " + quote(location));
    return u;
}

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "";
    }
}

} // namespace aio::http
