// Lesson 09: parsing HTTP heads, bodies' framing and URLs — pure functions, no socket.
#include <aio/aio.hpp>
#include <doctest/doctest.h>

#include <string>

using aio::http::protocol_error;

namespace {
// The message of the protocol_error that parsing `head` throws ("" if it parses).
template <typename Parse>
std::string error_of(Parse parse, const std::string& head) {
    try {
        parse(head);
    } catch (const protocol_error& e) {
        return e.what();
    }
    return "";
}
std::string request_error(const std::string& head) {
    return error_of([](const std::string& h) { aio::http::parse_request_head(h); }, head);
}
std::string response_error(const std::string& head) {
    return error_of([](const std::string& h) { aio::http::parse_response_head(h); }, head);
}
} // namespace

TEST_CASE("parse_request_head: method, target, version and headers, in order") {
    auto r = aio::http::parse_request_head(
        "POST /search?q=aio HTTP/1.1\r\nHost: example.test\r\nX-Tag: one\r\nx-tag:  two \r\n\r\n");
    CHECK(r.method == "POST");
    CHECK(r.target == "/search?q=aio");
    CHECK(r.minor_version == 1);
    REQUIRE(r.headers.size() == 3);
    CHECK(r.headers.get("host") == "example.test");
    CHECK(r.headers.get("X-TAG") == "one");                 // the first of two, any case
    CHECK((r.headers.begin() + 2)->second == "two");        // optional whitespace trimmed
    CHECK(aio::http::parse_request_head("GET / HTTP/1.0\r\n\r\n").minor_version == 0);
}

TEST_CASE("parse_request_head: a malformed request line is a protocol_error that says what") {
    CHECK(request_error("GET /\r\n\r\n").find("malformed request line") != std::string::npos);
    CHECK(request_error("GET  / HTTP/1.1\r\n\r\n") != "");          // two spaces
    CHECK(request_error("GET / HTTP/1.1 x\r\n\r\n") != "");
    CHECK(request_error("G(T / HTTP/1.1\r\n\r\n").find("invalid method") != std::string::npos);
    CHECK(request_error("GET / HTTP/2.0\r\n\r\n").find("unsupported HTTP version") != std::string::npos);
    CHECK(request_error("GET / HTTP/1.1\r\n") != "");                // no empty line
    CHECK(request_error("GET /\x01 HTTP/1.1\r\n\r\n").find("control character") != std::string::npos);
    CHECK(request_error("GET /\t HTTP/1.1\r\n\r\n").find("invalid request target") != std::string::npos);
    CHECK(request_error("") != "");
}

TEST_CASE("parse_request_head: malformed header lines are refused") {
    CHECK(request_error("GET / HTTP/1.1\r\nNoColon\r\n\r\n").find("without a colon") != std::string::npos);
    CHECK(request_error("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n").find("invalid header name") != std::string::npos);
    CHECK(request_error("GET / HTTP/1.1\r\nHost : x\r\n\r\n").find("invalid header name") != std::string::npos);
    CHECK(request_error("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n").find("folded") != std::string::npos);
    CHECK(request_error("GET / HTTP/1.1\r\nA: b\nc\r\n\r\n").find("bare CR or LF") != std::string::npos);
    CHECK(request_error(std::string("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 26)).find("control character") !=
          std::string::npos);
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i <= 100; ++i) many += "H" + std::to_string(i) + ": v\r\n";
    CHECK(request_error(many + "\r\n").find("more than 100 header fields") != std::string::npos);
}

TEST_CASE("parse_request_head: every byte value, at every place in a line, as the one-byte rule says") {
    // The parser looks at eight bytes at a step; the rule is per byte: text is printable ASCII,
    // tab and bytes >= 0x80, anything else (CR and LF alone included) is refused.
    int checked = 0;
    for (int c = 0; c < 256; ++c) {
        const bool text = (c >= 0x20 && c != 0x7f) || c == '\t';
        for (std::size_t at = 1; at < 19; ++at) {   // (not first or last: those are trimmed)
            std::string value(20, 'v');
            if (at % 3 == 1) value.assign(20, '\xff');   // high bytes around it: no borrow may hide it
            value.front() = value.back() = 'v';
            value[at] = static_cast<char>(c);
            const std::string head = "GET / HTTP/1.1\r\nX-Value: " + value + "\r\n\r\n";
            bool parsed = true;
            try {
                aio::http::request_head h = aio::http::parse_request_head(head);
                CHECK(*h.headers.find("X-Value") == value);
            } catch (const protocol_error&) {
                parsed = false;
            }
            if (parsed != text) {
                FAIL_CHECK("byte 0x" << std::hex << c << " at " << std::dec << at << ": parsed " << parsed);
            }
            ++checked;
        }
    }
    CHECK(checked == 256 * 18);
}

TEST_CASE("http: check_host wants one Host in HTTP/1.1, at most one in 1.0, and a value fit for a host") {
    auto host_error = [](const std::string& head) {
        try {
            aio::http::check_host(aio::http::parse_request_head(head));
        } catch (const protocol_error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    CHECK(host_error("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n") == "");
    CHECK(host_error("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n") == "");
    CHECK(host_error("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n") == "");
    CHECK(host_error("GET / HTTP/1.1\r\nHost:\r\n\r\n") == "");   // empty is allowed (RFC 9110, 7.2)
    CHECK(host_error("GET / HTTP/1.0\r\n\r\n") == "");
    CHECK(host_error("GET / HTTP/1.1\r\n\r\n").find("no Host") != std::string::npos);
    CHECK(host_error("GET / HTTP/1.1\r\nHost: a\r\nHOST: a\r\n\r\n").find("two Host") != std::string::npos);
    CHECK(host_error("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n").find("two Host") != std::string::npos);
    for (const char* bad : {"a b", "a/b", "a@b", "a\tb", "a?b", "a#b", "a\\b", "\xff"})
        CHECK(host_error(std::string("GET / HTTP/1.1\r\nHost: ") + bad + "\r\n\r\n").find("invalid Host") != std::string::npos);
}

TEST_CASE("parse_response_head: status line, with or without a reason") {
    auto r = aio::http::parse_response_head("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    CHECK(r.status == 404);
    CHECK(r.reason == "Not Found");
    CHECK(r.headers.get("content-length") == "0");
    CHECK(aio::http::parse_response_head("HTTP/1.0 200 \r\n\r\n").reason == "");
    CHECK(aio::http::parse_response_head("HTTP/1.1 204\r\n\r\n").status == 204);
    CHECK(response_error("HTTP/1.1 2x0 OK\r\n\r\n").find("malformed status code") != std::string::npos);
    CHECK(response_error("HTTP/1.1 099 Low\r\n\r\n").find("out of range") != std::string::npos);
    CHECK(response_error("HTTP/1.1200 OK\r\n\r\n").find("malformed status line") != std::string::npos);
    CHECK(response_error("ICY 200 OK\r\n\r\n") != "");
    CHECK(response_error("SSH-2.0-OpenSSH\r\n\r\n") != "");
}

TEST_CASE("read_chunked: chunk size lines are hex, with extensions ignored, and nothing else") {
    CHECK(aio::http::parse_chunk_size("1a\r\n") == 26);
    CHECK(aio::http::parse_chunk_size("0\r\n") == 0);
    CHECK(aio::http::parse_chunk_size("FF;name=value\r\n") == 255);
    CHECK_THROWS_AS(aio::http::parse_chunk_size("\r\n"), protocol_error);
    CHECK_THROWS_AS(aio::http::parse_chunk_size("-1\r\n"), protocol_error);
    CHECK_THROWS_AS(aio::http::parse_chunk_size("1g\r\n"), protocol_error);
    CHECK_THROWS_AS(aio::http::parse_chunk_size("12"), protocol_error);
    CHECK_THROWS_AS(aio::http::parse_chunk_size("10000000000000000\r\n"), protocol_error);   // 2^64
}

TEST_CASE("http: body framing follows Content-Length, chunked, the method and the status") {
    using aio::http::body_framing;
    auto request = [](const std::string& fields) {
        return aio::http::request_body_framing(aio::http::parse_request_head("POST / HTTP/1.1\r\n" + fields + "\r\n"));
    };
    auto response = [](const std::string& head, const char* method = "GET") {
        return aio::http::response_body_framing(aio::http::parse_response_head(head), method);
    };
    CHECK(request("").kind == body_framing::none);
    CHECK(request("Content-Length: 12\r\n").length == 12);
    CHECK(request("Transfer-Encoding: chunked\r\n").kind == body_framing::chunked);
    CHECK(request("Content-Length: 3\r\nContent-Length: 3\r\n").length == 3);
    CHECK_THROWS_AS(request("Content-Length: 3\r\nContent-Length: 4\r\n"), protocol_error);
    CHECK_THROWS_AS(request("Content-Length: +3\r\n"), protocol_error);
    CHECK_THROWS_AS(request("Content-Length: 3x\r\n"), protocol_error);
    CHECK_THROWS_AS(request("Content-Length: 99999999999999999999\r\n"), protocol_error);
    CHECK_THROWS_AS(request("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n"), protocol_error);
    CHECK_THROWS_AS(request("Transfer-Encoding: gzip\r\n"), protocol_error);
    CHECK(response("HTTP/1.1 200 OK\r\n\r\n").kind == body_framing::until_close);
    CHECK(response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD").kind == body_framing::none);
    CHECK(response("HTTP/1.1 204 No Content\r\n\r\n").kind == body_framing::none);
    CHECK(response("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n").kind == body_framing::none);
}

TEST_CASE("http: Transfer-Encoding in an HTTP/1.0 message is faulty framing (RFC 9112, 6.1)") {
    // HTTP/1.0 has no Transfer-Encoding: a 1.0 hop in front of us would frame the message by
    // its Content-Length, or by the close, and see another message than we do.
    auto framing_error = [](const std::string& head, auto parse, auto framing) {
        try {
            framing(parse(head));
        } catch (const protocol_error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    auto request_framing = [](const aio::http::request_head& h) { return aio::http::request_body_framing(h); };
    auto response_framing = [](const aio::http::response_head& h) { return aio::http::response_body_framing(h, "GET"); };
    auto parse_request = [](const std::string& h) { return aio::http::parse_request_head(h); };
    auto parse_response = [](const std::string& h) { return aio::http::parse_response_head(h); };
    CHECK(framing_error("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", parse_request, request_framing)
              .find("HTTP/1.0") != std::string::npos);
    CHECK(framing_error("POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", parse_request,
                        request_framing) != "");
    CHECK(framing_error("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", parse_response, response_framing)
              .find("HTTP/1.0") != std::string::npos);
    CHECK(framing_error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", parse_request, request_framing) == "");
    CHECK(framing_error("POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\n", parse_request, request_framing) == "");
}

TEST_CASE("http: keep-alive is HTTP/1.1's default, HTTP/1.0's exception") {
    aio::http::headers none, close{{"Connection", "Keep-Alive, CLOSE"}}, keep{{"connection", "keep-alive"}};
    CHECK(aio::http::keeps_alive(1, none));
    CHECK_FALSE(aio::http::keeps_alive(1, close));
    CHECK_FALSE(aio::http::keeps_alive(0, none));
    CHECK(aio::http::keeps_alive(0, keep));
}

TEST_CASE("http: URLs are http://host[:port][/target], anything else a clear error") {
    auto u = aio::http::parse_url("http://127.0.0.1:8080/a/b?c=d#frag");
    CHECK(u.host == "127.0.0.1");
    CHECK(u.port == 8080);
    CHECK(u.target == "/a/b?c=d");
    CHECK(u.authority() == "127.0.0.1:8080");
    CHECK(aio::http::parse_url("http://localhost").target == "/");
    CHECK(aio::http::parse_url("http://localhost?x").target == "/?x");
    CHECK(aio::http::parse_url("http://[::1]:81/").host == "::1");
    CHECK(aio::http::parse_url("http://[::1]:81/").authority() == "[::1]:81");
    CHECK(aio::http::parse_url("http://h/").authority() == "h");
    for (const char* bad : {"https://example.test/", "ftp://h/", "http://", "http://:80/", "http://h:0/",
                            "http://h:65536/", "http://h:x/", "http://h:/", "http://u@h/", "http://h/a b",
                            "http://[::1/", "example.test", "http://h x/", "http://h\r\nX-Injected:1/", "http://h\t/"})
        CHECK_THROWS_AS(aio::http::parse_url(bad), protocol_error);
    try {
        aio::http::parse_url("https://example.test/");
    } catch (const protocol_error& e) {
        CHECK(std::string(e.what()).find("no TLS") != std::string::npos);
    }
}

TEST_CASE("follow_redirects: Location resolves against the URL it came from") {
    auto base = aio::http::parse_url("http://h:81/dir/page?x=1");
    CHECK(aio::http::resolve_location(base, "/top").target == "/top");
    CHECK(aio::http::resolve_location(base, "next").target == "/dir/next");
    CHECK(aio::http::resolve_location(base, "next").port == 81);
    CHECK(aio::http::resolve_location(base, "http://other/x").host == "other");
    CHECK(aio::http::resolve_location(base, "//other:82/y").port == 82);
    CHECK_THROWS_AS(aio::http::resolve_location(base, "/a\r\nb"), protocol_error);
}

namespace {
// What append_response_bytes adds to a fresh string.
std::string response_bytes(const aio::http::response& r, bool keep_alive, bool head_only = false) {
    std::string out;
    aio::http::append_response_bytes(out, r, keep_alive, head_only);
    return out;
}
} // namespace

TEST_CASE("serve: append_response_bytes frames the handler's response itself") {
    aio::http::response r;
    r.status = 404;
    r.body = "gone\n";
    r.headers.add("Content-Length", "999");   // wrong, and not the handler's to say
    r.headers.add("X-Why", "because");
    CHECK(response_bytes(r, true) ==
          "HTTP/1.1 404 Not Found\r\nX-Why: because\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Length: 5\r\n\r\ngone\n");
    CHECK(response_bytes(r, false, true).find("Connection: close\r\n\r\n") != std::string::npos);
    CHECK(response_bytes(r, false, true).find("gone") == std::string::npos);   // HEAD
    std::string buffer = "kept|";   // it appends: a connection reuses one buffer
    aio::http::append_response_bytes(buffer, r, true);
    CHECK(buffer == "kept|" + response_bytes(r, true));
    r.headers.add("X-Bad", "a\r\nInjected: yes");
    CHECK_THROWS_AS(aio::http::append_response_bytes(buffer = "kept|", r, true), std::invalid_argument);
    CHECK(buffer == "kept|");   // refused before anything was appended
    r.status = 42;
    CHECK_THROWS_AS(response_bytes(r, true), std::invalid_argument);
}

TEST_CASE("serve: append_response_bytes sends no body with 204 and 304, and refuses an interim 1xx") {
    aio::http::response r;
    r.body = "not for a 204";
    r.status = 204;
    CHECK(response_bytes(r, true) == "HTTP/1.1 204 No Content\r\n\r\n");   // no length: there is no body
    r.status = 304;
    r.headers.add("ETag", "\"v1\"");
    CHECK(response_bytes(r, false) == "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n");
    for (int interim : {100, 101, 103, 199}) {
        r.status = interim;
        CHECK_THROWS_AS(response_bytes(r, true), std::invalid_argument);   // only a final answer ends a request
    }
}

TEST_CASE("serve: append_response_bytes refuses header names that are not tokens and values or reasons with controls") {
    auto refused = [](const std::string& name, const std::string& value, const std::string& reason = "") {
        aio::http::response r;
        r.reason = reason;
        r.headers.add(name, value);
        try {
            response_bytes(r, true);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    CHECK(refused("X-Nul", std::string("a\0b", 3)).find("X-Nul") != std::string::npos);
    CHECK(refused("X-Split", "a\r\nInjected: yes") != "");
    CHECK(refused("X-Del", "a\x7f") != "");
    CHECK(refused("Bad Name", "v").find("Bad Name") != std::string::npos);
    CHECK(refused("", "v") != "");
    CHECK(refused("X-A:", "v") != "");
    CHECK(refused("X-Ok", "v", "OK\r\nInjected: yes").find("reason") != std::string::npos);
    CHECK(refused("X-Tab", "a\tb, \xc3\xa9t\xc3\xa9") == "");   // tab, spaces and UTF-8 are text
}
