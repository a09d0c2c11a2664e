#pragma once
// Reading a response body as it arrives (a chunked stream that may never end, such as the
// store's server-sent events), for command-line use; and the server-sent events format.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/endpoint.hpp"
#include "net/http_client.hpp"
#include "net/http_types.hpp"

namespace isla::net {

struct StreamOptions {
  std::chrono::milliseconds head_timeout{5000};  // to connect, send, and receive the head
  // Longest silence allowed in the body (servers of endless streams send keep-alives).
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_error_body_bytes = 64 * 1024;  // a non-2xx answer's body is read whole
  std::shared_ptr<TlsContext> tls;               // HTTPS when set (make_client_tls)
};

struct StreamResult {
  // Status and headers once they arrived; for a non-2xx status also the whole body, which
  // is then not handed to `on_data`.
  std::optional<HttpResponse> head;
  // none when the body ended or `on_data` asked to stop; otherwise why the exchange failed
  // (before the head when `head` is empty, in the body otherwise).
  ClientErrorKind error = ClientErrorKind::none;
  std::string message;
};

// Sends `request` to `to` on a private io_context and hands each piece of a 2xx answer's
// body to `on_data` as it arrives, until the body ends, `on_data` returns false, or the
// connection fails. Blocks the calling thread meanwhile.
StreamResult fetch_stream(const core::Endpoint& to, const HttpRequest& request,
                          const StreamOptions& options,
                          const std::function<bool(std::string_view)>& on_data);
// The same on the calling coroutine's executor, for servers that follow a stream (the etcd
// store's watch) without a thread of their own.
asio::awaitable<StreamResult> stream_on_executor(
    const core::Endpoint& to, const HttpRequest& request, const StreamOptions& options,
    const std::function<bool(std::string_view)>& on_data);

// One server-sent event (the text/event-stream format of the HTML standard).
struct SseEvent {
  std::string id;                // the last `id:` field seen, as the standard says
  std::string type = "message";  // `event:`
  std::string data;              // `data:` lines joined with '\n'
};

// Splits a text/event-stream body, fed in pieces of any size, into events. Comment lines
// (": keep-alive") are skipped; CR, LF and CRLF all end lines.
class SseParser {
 public:
  explicit SseParser(std::size_t max_event_bytes = 64 << 20) : max_event_bytes_(max_event_bytes) {}

  // Calls `on_event` for every event the bytes complete. Returns false when `on_event`
  // returned false (the rest of `bytes` is then ignored) or an event grew beyond the limit.
  bool feed(std::string_view bytes, const std::function<bool(const SseEvent&)>& on_event);
  bool overflowed() const { return overflowed_; }

 private:
  bool end_line(const std::function<bool(const SseEvent&)>& on_event);

  std::size_t max_event_bytes_;
  std::string line_;
  SseEvent event_;
  std::string last_id_;
  bool has_data_ = false;
  bool after_cr_ = false;  // a CR ended the last line: a following LF belongs to it
  bool overflowed_ = false;
};

}  // namespace isla::net
