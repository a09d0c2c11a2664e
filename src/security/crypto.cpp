#include "security/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>
#include <new>
#include <stdexcept>

namespace isla::security {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::string_view kBase64url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_value(char c) {
  const auto at = kBase64url.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

MdCtx new_md_ctx() {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) throw std::bad_alloc();
  return ctx;
}

// SHA-256 fetched once: OpenSSL 3's one-shot SHA256() and HMAC() look the algorithm up by
// name in the provider store on every call, which costs more than hashing a short message.
const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) throw std::runtime_error("OpenSSL has no SHA256");
    return fetched;  // kept for the life of the process
  }();
  return md;
}

// A context for this thread's hashing, reused from call to call (no allocation per hash).
EVP_MD_CTX* scratch_ctx() {
  thread_local MdCtx ctx = new_md_ctx();
  return ctx.get();
}

void check(int ok) {
  if (ok != 1) throw std::runtime_error("OpenSSL SHA-256 failed");
}

Digest final_digest(EVP_MD_CTX* ctx) {
  Digest out{};
  unsigned int size = 0;
  check(EVP_DigestFinal_ex(ctx, out.data(), &size));
  return out;
}

constexpr std::size_t kSha256Block = 64;

}  // namespace

Digest hmac_sha256(std::string_view key, std::string_view data) {
  // Through the precomputed form, whose cost is two more block hashes than reusing a key:
  // still less than half of OpenSSL 3's one-shot HMAC(), which fetches its algorithms.
  return HmacSha256Key(key).mac(data);
}

Digest sha256(std::string_view data) {
  auto* ctx = scratch_ctx();
  check(EVP_DigestInit_ex(ctx, sha256_md(), nullptr));
  check(EVP_DigestUpdate(ctx, data.data(), data.size()));
  return final_digest(ctx);
}

// RFC 2104: H((K ^ opad) || H((K ^ ipad) || data)), K zero-padded to a block (hashed first
// when longer than one). Both padded blocks are hashed here, once per key.
struct HmacSha256Key::States {
  MdCtx inner = new_md_ctx();
  MdCtx outer = new_md_ctx();
};

HmacSha256Key::HmacSha256Key(std::string_view key) : states_(std::make_unique<States>()) {
  std::array<unsigned char, kSha256Block> block{};
  if (key.size() > kSha256Block) {
    const auto hashed = sha256(key);
    std::copy(hashed.begin(), hashed.end(), block.begin());
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<unsigned char, kSha256Block> pad{};
  for (std::size_t i = 0; i < kSha256Block; ++i) pad[i] = block[i] ^ 0x36;
  check(EVP_DigestInit_ex(states_->inner.get(), sha256_md(), nullptr));
  check(EVP_DigestUpdate(states_->inner.get(), pad.data(), pad.size()));
  for (std::size_t i = 0; i < kSha256Block; ++i) pad[i] = block[i] ^ 0x5c;
  check(EVP_DigestInit_ex(states_->outer.get(), sha256_md(), nullptr));
  check(EVP_DigestUpdate(states_->outer.get(), pad.data(), pad.size()));
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(pad.data(), pad.size());
}

HmacSha256Key::~HmacSha256Key() = default;
HmacSha256Key::HmacSha256Key(HmacSha256Key&&) noexcept = default;
HmacSha256Key& HmacSha256Key::operator=(HmacSha256Key&&) noexcept = default;

Digest HmacSha256Key::mac(std::string_view data) const {
  // The shared states are only read (copied into this thread's context), so concurrent
  // calls need no lock.
  auto* ctx = scratch_ctx();
  check(EVP_MD_CTX_copy_ex(ctx, states_->inner.get()));
  check(EVP_DigestUpdate(ctx, data.data(), data.size()));
  const auto inner = final_digest(ctx);
  check(EVP_MD_CTX_copy_ex(ctx, states_->outer.get()));
  check(EVP_DigestUpdate(ctx, inner.data(), inner.size()));
  return final_digest(ctx);
}

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    throw std::runtime_error("the system's random number generator failed");
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0xf]);
  }
  return out;
}

std::string to_hex(const Digest& digest) {
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool is_lower_hex(std::string_view text, std::size_t min_size, std::size_t max_size) {
  if (text.size() < min_size || text.size() > max_size) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<std::string> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int high = hex_value(text[i]);
    const int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high << 4 | low));
  }
  return out;
}

std::string to_base64url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = buffer << 8 | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64url[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kBase64url[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<std::string> from_base64url(std::string_view text) {
  // A length of 1 mod 4 cannot come from any byte string.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int value = base64url_value(c);
    if (value < 0) return std::nullopt;
    buffer = buffer << 6 | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero, or two texts would decode to the same bytes.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace isla::security
