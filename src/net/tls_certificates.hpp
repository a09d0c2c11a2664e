#pragma once
// An island's certificates (`isla certs init`): a CA of its own and a certificate per node
// address, ECDSA P-256, made with OpenSSL 3's C API. Layout of a TLS directory:
//   ca.pem, ca.key          the island CA (self-signed; the key is 0600)
//   <host>.pem, <host>.key  a node's certificate (the host as IP or DNS subject alt name)
#include <filesystem>
#include <string>
#include <vector>

namespace isla::net {

// Creates the CA if `dir` has none, then a certificate for each of `hosts` (IP addresses
// or names) that has none, signed by the CA. Returns the files written. Throws
// std::runtime_error on failure.
std::vector<std::filesystem::path> init_certificates(const std::filesystem::path& dir,
                                                     const std::vector<std::string>& hosts);

struct NodeTlsFiles {
  std::filesystem::path ca;           // what peers' certificates must chain to
  std::filesystem::path certificate;  // this node's
  std::filesystem::path key;
};

// The files of the node listening on `host` in `dir`; throws std::runtime_error naming
// the missing file and the command that makes it.
NodeTlsFiles node_tls_files(const std::filesystem::path& dir, const std::string& host);

}  // namespace isla::net
