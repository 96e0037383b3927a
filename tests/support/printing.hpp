// tests/support/printing.hpp — how a failed CHECK prints the sequences the tests compare.
//
// doctest prints a value with its operator<<, and a value without one as {?}. The tests compare
// logs (std::vector<std::string>: what ran, in which order) and vectors of results, and a failed
// ordering test is only useful if it shows the order that happened, beside the one expected:
//
//     CHECK( log == log_t{"a runs", "b runs"} )
//     values: {"b runs", "a runs"} == {"a runs", "b runs"}
//
// Include it after doctest.h in every test file that compares sequences.
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace aio_test {

// A string as a C++ literal: quoted, with its quotes, backslashes and control characters escaped,
// so that "a runs" and "a runs " (or an empty string) look different.
inline std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                const char* hex = "0123456789abcdef";
                out += "\\x";
                out += hex[(c >> 4) & 0xf];
                out += hex[c & 0xf];
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

template <typename T>
std::string element(const T& value) {
    if constexpr (std::is_convertible_v<const T&, std::string_view>)
        return quoted(value);
    else
        return doctest::toString(value).c_str();
}

// {a, b, c}; a long sequence keeps its first 40 elements and says how many more there are.
template <typename Sequence>
doctest::String sequence(const Sequence& items) {
    constexpr std::size_t shown = 40;
    std::string out = "{";
    std::size_t i = 0;
    for (const auto& item : items) {
        if (i == shown) {
            out += ", ... " + std::to_string(items.size() - shown) + " more";
            break;
        }
        out += (i++ == 0 ? "" : ", ") + element(item);
    }
    return (out + "}").c_str();
}

} // namespace aio_test

namespace doctest {

template <typename T, typename Allocator>
struct StringMaker<std::vector<T, Allocator>> {
    static String convert(const std::vector<T, Allocator>& items) { return aio_test::sequence(items); }
};

template <typename T, typename Allocator>
struct StringMaker<std::deque<T, Allocator>> {
    static String convert(const std::deque<T, Allocator>& items) { return aio_test::sequence(items); }
};

} // namespace doctest
