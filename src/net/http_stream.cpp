#include "net/http_stream.hpp"

#include <algorithm>

#include "net/stream_call.hpp"

namespace isla::net {

StreamResult fetch_stream(const core::Endpoint& to, const HttpRequest& request,
                          const StreamOptions& options,
                          const std::function<bool(std::string_view)>& on_data) {
  asio::io_context context(1);
  StreamResult result;
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        result = co_await stream_on_executor(to, request, options, on_data);
      },
      asio::detached);
  context.run();
  return result;
}

asio::awaitable<StreamResult> stream_on_executor(
    const core::Endpoint& to, const HttpRequest& request, const StreamOptions& options,
    const std::function<bool(std::string_view)>& on_data) {
  auto call = co_await StreamCall::open(to, request, options);
  for (;;) {
    auto piece = co_await call->next();
    if (!piece || !on_data(*piece)) break;
  }
  StreamResult result = call->result();
  co_return result;
}

bool SseParser::feed(std::string_view bytes, const std::function<bool(const SseEvent&)>& on_event) {
  while (!bytes.empty()) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    const auto end = bytes.find_first_of("\r\n");
    line_.append(bytes.substr(0, end));
    if (line_.size() + event_.data.size() > max_event_bytes_) {
      overflowed_ = true;
      return false;
    }
    if (end == std::string_view::npos) return true;
    after_cr_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    if (!end_line(on_event)) return false;
  }
  return true;
}

bool SseParser::end_line(const std::function<bool(const SseEvent&)>& on_event) {
  std::string line;
  line.swap(line_);
  if (line.empty()) {
    bool go_on = true;
    if (has_data_) {
      event_.id = last_id_;
      go_on = on_event(event_);
    }
    event_ = SseEvent{};
    has_data_ = false;
    return go_on;
  }
  if (line.front() == ':') return true;  // a comment
  // std::find, not find(':'): GCC 12 warns falsely (-Wstringop-overread) on the memchr that
  // find(':') inlines to here, once it inlines more (as with a precompiled header).
  const std::string_view text(line);
  const auto colon_at = std::find(text.begin(), text.end(), ':');
  const std::string_view field(text.begin(), colon_at);
  std::string_view value;
  if (colon_at != text.end()) {
    value = std::string_view(colon_at + 1, text.end());
    if (value.starts_with(' ')) value.remove_prefix(1);
  }
  if (field == "event") {
    event_.type = value;
  } else if (field == "data") {
    if (has_data_) event_.data += '\n';
    event_.data += value;
    has_data_ = true;
  } else if (field == "id" && value.find('\0') == std::string_view::npos) {
    last_id_ = value;
  }
  return true;
}

}  // namespace isla::net
