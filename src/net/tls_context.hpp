#pragma once
// Internal to net/: the OpenSSL context behind TlsContext, and the client's session cache.
#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <mutex>
#include <string>
#include <unordered_map>

#include "net/asio.hpp"
#include "net/tls.hpp"

namespace isla::net {

struct TlsContext {
  explicit TlsContext(asio::ssl::context::method method) : ssl(method) {}
  ~TlsContext();

  // Client side: prepares `ssl` (a fresh SSL of this context) to connect to `host` (an IP
  // address or a name) known in the session cache as `peer`: the name or address the
  // certificate must carry, SNI for a name, and the last session with that peer. `peer`
  // must outlive `ssl`: new sessions are filed under it.
  void prepare_client(SSL* ssl, const std::string& host, const std::string& peer);

  // Client side: handshakes that resumed a remembered session instead of a full one.
  std::atomic<std::uint64_t> resumed{0};

  asio::ssl::context ssl;
  std::mutex sessions_mutex;
  std::unordered_map<std::string, SSL_SESSION*> sessions;  // by peer, one reference each
};

}  // namespace isla::net
