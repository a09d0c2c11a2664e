#include "net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace isla::net {

namespace {

std::string openssl_reason() {
  const auto code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

void check(int ok, const std::string& what) {
  if (ok != 1) throw std::runtime_error(what + ": " + openssl_reason());
}

// Where a client's SSL and SSL_CTX keep pointers back to the peer's cache key and to the
// TlsContext, for the callback that stores new sessions. Our own indexes: Asio uses the
// "app data" slots for its verify callbacks.
int peer_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
int context_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// OpenSSL offers each session it receives (TLS 1.3: after the handshake, in a ticket);
// the latest per peer is kept. A copy: the connection's own session object is marked not
// resumable when the connection ends without a TLS shutdown, as pooled ones do.
int remember_session(SSL* ssl, SSL_SESSION* session) {
  const auto* peer = static_cast<const std::string*>(SSL_get_ex_data(ssl, peer_index()));
  auto* context =
      static_cast<TlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
  if (peer == nullptr || context == nullptr) return 0;
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (copy == nullptr) return 0;
  std::lock_guard lock(context->sessions_mutex);
  auto& slot = context->sessions[*peer];
  if (slot != nullptr) SSL_SESSION_free(slot);
  slot = copy;
  return 0;  // OpenSSL keeps (and frees) its reference
}

void common_settings(SSL_CTX* ctx) {
  check(SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION), "TLS settings");
  // A peer that closes without close_notify is an ordinary end of stream here: HTTP's own
  // framing says whether a message was complete.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
}

}  // namespace

TlsContext::~TlsContext() {
  for (auto& [peer, session] : sessions) SSL_SESSION_free(session);
}

void TlsContext::prepare_client(SSL* ssl_handle, const std::string& host, const std::string& peer) {
  auto* param = SSL_get0_param(ssl_handle);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  // An address must be among the certificate's IP SANs, a name among its DNS names.
  if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    SSL_set_tlsext_host_name(ssl_handle, host.c_str());  // SNI is for names only
  }
  SSL_set_ex_data(ssl_handle, peer_index(), const_cast<std::string*>(&peer));
  std::lock_guard lock(sessions_mutex);
  if (auto found = sessions.find(peer); found != sessions.end()) {
    SSL_set_session(ssl_handle, found->second);
  }
}

std::shared_ptr<TlsContext> make_server_tls(const std::filesystem::path& certificate,
                                            const std::filesystem::path& key) {
  auto context = std::make_shared<TlsContext>(asio::ssl::context::tls_server);
  auto* ctx = context->ssl.native_handle();
  common_settings(ctx);
  check(SSL_CTX_use_certificate_chain_file(ctx, certificate.c_str()),
        "cannot use certificate " + certificate.string());
  check(SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM),
        "cannot use key " + key.string());
  check(SSL_CTX_check_private_key(ctx), key.string() + " does not match " + certificate.string());
  return context;
}

std::shared_ptr<TlsContext> make_client_tls(const std::filesystem::path& ca_file) {
  auto context = std::make_shared<TlsContext>(asio::ssl::context::tls_client);
  auto* ctx = context->ssl.native_handle();
  common_settings(ctx);
  check(SSL_CTX_load_verify_file(ctx, ca_file.c_str()), "cannot use CA " + ca_file.string());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // Sessions are kept by peer here (remember_session), not in OpenSSL's internal cache,
  // which a client never looks sessions up in.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_set_ex_data(ctx, context_index(), context.get());
  SSL_CTX_sess_set_new_cb(ctx, remember_session);
  return context;
}

}  // namespace isla::net
