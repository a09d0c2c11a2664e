#pragma once
// One request whose answer's body is read as it arrives, a piece at a time, on the caller's
// executor. A server-sent event stream never ends, so it cannot go through HttpClient, which
// hands over whole answers: the balancer passes such streams through with this, and
// fetch_stream (http_stream.hpp) is this driven to the end on a private io_context.
#include <memory>
#include <optional>
#include <string>

#include "core/endpoint.hpp"
#include "net/asio.hpp"
#include "net/http_stream.hpp"
#include "net/http_types.hpp"

namespace isla::net {

class StreamCall {
 public:
  virtual ~StreamCall() = default;

  // Connects (over TLS when options.tls is set), sends `request` and reads the answer's
  // head; a non-2xx answer's body is read whole then, up to options.max_error_body_bytes.
  // Never null: result() says how far it got.
  static asio::awaitable<std::unique_ptr<StreamCall>> open(const core::Endpoint& to,
                                                           const HttpRequest& request,
                                                           const StreamOptions& options);

  // The next piece of a 2xx answer's body as it arrives; nullopt once the body ended or the
  // connection failed (result().error then says which), and always after a non-2xx head.
  virtual asio::awaitable<std::optional<std::string>> next() = 0;

  // The head once it arrived, and why the exchange failed, if it did.
  virtual const StreamResult& result() const = 0;
};

}  // namespace isla::net
