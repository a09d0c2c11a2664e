#pragma once
// TLS for the HTTP server and client (OpenSSL 3 through Asio): what a server presents and
// what a client trusts. Opaque here, so that only the few translation units that speak TLS
// include OpenSSL's and Asio's SSL headers.
#include <filesystem>
#include <memory>

namespace isla::net {

struct TlsContext;  // defined in net/tls_context.hpp

// A server's context: its certificate chain and key (PEM). TLS 1.2 at least; 1.3 when the
// client has it (OpenSSL prefers the highest both support). Clients are not asked for a
// certificate: requests are authenticated at the HTTP layer.
// Throws std::runtime_error naming the file and OpenSSL's reason when one cannot be used.
std::shared_ptr<TlsContext> make_server_tls(const std::filesystem::path& certificate,
                                            const std::filesystem::path& key);

// A client's context: peers must present a certificate issued by the CA in `ca_file` (PEM)
// for the address or name the client connected to. Sessions are remembered per peer, so a
// new pooled connection to a known peer resumes instead of running a full handshake.
std::shared_ptr<TlsContext> make_client_tls(const std::filesystem::path& ca_file);

}  // namespace isla::net
