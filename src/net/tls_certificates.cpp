#include "net/tls_certificates.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <memory>
#include <stdexcept>

namespace isla::net {

namespace fs = std::filesystem;

namespace {

constexpr long kDay = 24L * 60 * 60;
constexpr long kCaLifetime = 10 * 365 * kDay;
constexpr long kNodeLifetime = 5 * 365 * kDay;

struct Free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* cert) const { X509_free(cert); }
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(X509_EXTENSION* extension) const { X509_EXTENSION_free(extension); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

[[noreturn]] void fail(const std::string& what) {
  const auto code = ERR_get_error();
  char reason[256] = "no OpenSSL error";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  throw std::runtime_error(what + ": " + reason);
}

template <class T>
T* must(T* made, const std::string& what) {
  if (made == nullptr) fail(what);
  return made;
}

void must(int ok, const std::string& what) {
  if (ok != 1) fail(what);
}

// Written whole to a new name, then renamed: a crash leaves no half file; keys are 0600.
void write_file(const fs::path& path, const std::string& bytes, mode_t mode) {
  const auto partial = fs::path(path.string() + ".partial");
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot create " + partial.string());
  ::fchmod(fd, mode);  // whatever the umask
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("cannot write " + partial.string());
    }
    done += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  fs::rename(partial, path);
}

template <class Write>
std::string pem(Write&& write) {
  Bio bio(must(BIO_new(BIO_s_mem()), "memory"));
  must(write(bio.get()), "PEM encoding");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

void save_key(const EVP_PKEY* key, const fs::path& path) {
  write_file(path, pem([&](BIO* bio) {
               return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
             }),
             0600);
}

void save_certificate(X509* cert, const fs::path& path) {
  write_file(path, pem([&](BIO* bio) { return PEM_write_bio_X509(bio, cert); }), 0644);
}

Key load_key(const fs::path& path) {
  Bio bio(must(BIO_new_file(path.c_str(), "r"), "cannot open " + path.string()));
  return Key(must(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
                  "cannot read " + path.string()));
}

Cert load_certificate(const fs::path& path) {
  Bio bio(must(BIO_new_file(path.c_str(), "r"), "cannot open " + path.string()));
  return Cert(must(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                   "cannot read " + path.string()));
}

Key new_key() {
  return Key(must(EVP_EC_gen("P-256"), "ECDSA P-256 key generation"));
}

void add_extension(X509* cert, X509V3_CTX& context, int nid, const std::string& value) {
  std::unique_ptr<X509_EXTENSION, Free> extension(
      must(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()), "extension " + value));
  must(X509_add_ext(cert, extension.get(), -1), "extension " + value);
}

// A certificate for `key` named `common_name`, valid from an hour ago (clocks differ) for
// `lifetime` seconds, with a random serial; extensions and signature are the caller's.
Cert new_certificate(EVP_PKEY* key, const std::string& common_name, long lifetime) {
  Cert cert(must(X509_new(), "certificate"));
  must(X509_set_version(cert.get(), X509_VERSION_3), "version");
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), BN_free);
  must(BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "serial");
  must(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())), "serial");
  must(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600), "validity");
  must(X509_gmtime_adj(X509_getm_notAfter(cert.get()), lifetime), "validity");
  auto* name = X509_get_subject_name(cert.get());
  must(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>("isla"), -1, -1, 0),
       "subject");
  must(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                  -1, 0),
       "subject");
  must(X509_set_pubkey(cert.get(), key), "public key");
  return cert;
}

void make_ca(const fs::path& cert_path, const fs::path& key_path) {
  auto key = new_key();
  auto cert = new_certificate(key.get(), "isla island CA", kCaLifetime);
  must(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())), "issuer");
  X509V3_CTX context;
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), context, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert.get(), context, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), context, NID_subject_key_identifier, "hash");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) fail("signing the CA");
  save_key(key.get(), key_path);
  save_certificate(cert.get(), cert_path);
}

void make_node(const std::string& host, X509* ca, EVP_PKEY* ca_key, const fs::path& cert_path,
               const fs::path& key_path) {
  boost::system::error_code not_address;
  boost::asio::ip::make_address(host, not_address);
  auto key = new_key();
  auto cert = new_certificate(key.get(), host, kNodeLifetime);
  must(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)), "issuer");
  X509V3_CTX context;
  X509V3_set_ctx(&context, ca, cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), context, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), context, NID_key_usage, "critical,digitalSignature");
  // Nodes are servers to some peers and clients of others.
  add_extension(cert.get(), context, NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert.get(), context, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), context, NID_authority_key_identifier, "keyid:always");
  add_extension(cert.get(), context, NID_subject_alt_name, (not_address ? "DNS:" : "IP:") + host);
  if (X509_sign(cert.get(), ca_key, EVP_sha256()) <= 0) fail("signing the certificate of " + host);
  save_key(key.get(), key_path);
  save_certificate(cert.get(), cert_path);
}

// A host as part of a file name: an IPv6 address's colons are not welcome everywhere.
std::string file_stem(const std::string& host) {
  std::string stem = host;
  for (auto& c : stem) {
    if (c == ':' || c == '/') c = '_';
  }
  return stem;
}

}  // namespace

std::vector<fs::path> init_certificates(const fs::path& dir,
                                        const std::vector<std::string>& hosts) {
  std::vector<fs::path> written;
  fs::create_directories(dir);
  const auto ca_cert = dir / "ca.pem";
  const auto ca_key = dir / "ca.key";
  if (!fs::exists(ca_cert) || !fs::exists(ca_key)) {
    make_ca(ca_cert, ca_key);
    written.insert(written.end(), {ca_cert, ca_key});
  }
  auto ca = load_certificate(ca_cert);
  auto signer = load_key(ca_key);
  for (const auto& host : hosts) {
    if (host.empty()) continue;
    const auto cert = dir / (file_stem(host) + ".pem");
    const auto key = dir / (file_stem(host) + ".key");
    if (fs::exists(cert) && fs::exists(key)) continue;
    make_node(host, ca.get(), signer.get(), cert, key);
    written.insert(written.end(), {cert, key});
  }
  return written;
}

NodeTlsFiles node_tls_files(const fs::path& dir, const std::string& host) {
  NodeTlsFiles files{dir / "ca.pem", dir / (file_stem(host) + ".pem"),
                     dir / (file_stem(host) + ".key")};
  for (const auto& path : {files.ca, files.certificate, files.key}) {
    if (!fs::exists(path)) {
      throw std::runtime_error("--tls-dir: " + path.string() +
                               " is missing; create it with `isla certs init --dir " +
                               dir.string() + " --hosts " + host + "`");
    }
  }
  return files;
}

}  // namespace isla::net
