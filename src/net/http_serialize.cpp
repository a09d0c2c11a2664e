#include "net/http_serialize.hpp"

#include <array>
#include <boost/beast/http/status.hpp>
#include <charconv>

namespace isla::net {

namespace {

namespace http = boost::beast::http;

// Per byte: whether it may appear in a header name (RFC 9110, 5.6.2: tchar), and whether it
// may not appear in a value (RFC 9110, 5.5: controls other than HTAB, and DEL; CR and LF
// would end the line, and parsers refuse the others).
struct ByteClasses {
  std::array<bool, 256> token{};
  std::array<bool, 256> breaks_value{};
  constexpr ByteClasses() {
    for (int c = 'a'; c <= 'z'; ++c) token[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) token[c] = true;
    for (int c = '0'; c <= '9'; ++c) token[c] = true;
    for (const char c : std::string_view("!#$%&'*+-.^_`|~"))
      token[static_cast<unsigned char>(c)] = true;
    for (int c = 0; c < 0x20; ++c) breaks_value[c] = c != '\t';
    breaks_value[0x7f] = true;
  }
};
constexpr ByteClasses kBytes;

bool sendable(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (!kBytes.token[static_cast<unsigned char>(c)]) return false;
  }
  for (const char c : value) {
    if (kBytes.breaks_value[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// Headers the serializer owns: the caller's are dropped.
bool framing(std::string_view name) {
  return same_header_name(name, "Content-Length") || same_header_name(name, "Transfer-Encoding") ||
         same_header_name(name, "Connection");
}

bool named_in(const Headers& headers, std::string_view name, std::size_t after) {
  for (std::size_t i = after; i < headers.size(); ++i) {
    if (same_header_name(headers[i].first, name)) return true;
  }
  return false;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  const auto at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* to = out.data() + at;
  to = std::copy(name.begin(), name.end(), to);
  *to++ = ':';
  *to++ = ' ';
  to = std::copy(value.begin(), value.end(), to);
  *to++ = '\r';
  *to = '\n';
}

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

void append_content_length(std::string& out, std::uint64_t length) {
  out.append("Content-Length: ");
  append_number(out, length);
  out.append("\r\n");
}

// The caller's headers, each name once with its last value (`extra` replacing any), minus
// the framing ones and those that cannot be sent.
void append_headers(std::string& out, const Headers& headers, const Headers& extra) {
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const auto& [name, value] = headers[i];
    if (framing(name) || !sendable(name, value)) continue;
    if (named_in(headers, name, i + 1) || named_in(extra, name, 0)) continue;
    append_header(out, name, value);
  }
  for (std::size_t i = 0; i < extra.size(); ++i) {
    const auto& [name, value] = extra[i];
    if (framing(name) || !sendable(name, value) || named_in(extra, name, i + 1)) continue;
    append_header(out, name, value);
  }
}

// Beast's prepare_payload(): an empty body is announced only where the method expects one.
bool request_announces_length(const HttpRequest& request) {
  return !request.body.empty() || request.method == "POST" || request.method == "PUT" ||
         request.method == "OPTIONS";
}

bool response_has_no_body(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace

void append_request(const HttpRequest& request, std::string_view host, std::string& out,
                    const Headers& extra) {
  out.reserve(out.size() + 128 + request.target.size() + request.body.size());
  out.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  if (!named_in(request.headers, "Host", 0) && !named_in(extra, "Host", 0)) {
    append_header(out, "Host", host);
  }
  append_headers(out, request.headers, extra);
  if (request_announces_length(request)) append_content_length(out, request.body.size());
  out.append("\r\n");
  out.append(request.body);
}

void append_response(const HttpResponse& response, unsigned version, bool keep_alive,
                     std::string& out, bool head_only,
                     std::optional<std::uint64_t> announced_length) {
  const bool no_body = response_has_no_body(response.status);
  out.reserve(out.size() + 160 + (head_only || no_body ? 0 : response.body.size()));
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_number(out, static_cast<std::uint64_t>(response.status));
  out.append(" ").append(http::obsolete_reason(static_cast<http::status>(response.status)));
  out.append("\r\n");
  if (!named_in(response.headers, "Server", 0)) append_header(out, "Server", "isla");
  if (!named_in(response.headers, "Content-Type", 0) &&
      sendable("Content-Type", response.content_type)) {
    append_header(out, "Content-Type", response.content_type);
  }
  append_headers(out, response.headers, {});
  if (version == 10 && keep_alive) append_header(out, "Connection", "keep-alive");
  if (version != 10 && !keep_alive) append_header(out, "Connection", "close");
  if (!no_body) append_content_length(out, announced_length.value_or(response.body.size()));
  out.append("\r\n");
  if (!head_only && !no_body) out.append(response.body);
}

}  // namespace isla::net
