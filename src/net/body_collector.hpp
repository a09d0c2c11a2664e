#pragma once
// A message body gathered into one string as the parser hands it over, as Beast's
// string_body keeps it, with one difference: a declared Content-Length reserves at most
// kReservedBodyBytes up front, so that a client announcing a large body and sending none of
// it holds no more memory than it sent.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace isla::net {

struct BodyCollector {
  static constexpr std::uint64_t kReservedBodyBytes = 1024 * 1024;

  // The parser has checked `declared_length` against the body limit already.
  static void start(std::string& body, std::uint64_t declared_length) {
    body.reserve(static_cast<std::size_t>(std::min(declared_length, kReservedBodyBytes)));
  }
  static std::size_t append(std::string& body, std::string_view bytes) {
    body.append(bytes);
    return bytes.size();
  }
};

}  // namespace isla::net
