// sha256 and mine (proof of work): SHA-256 over OpenSSL 3's EVP interface. mine hashes
// data + decimal nonce for nonce = 0, 1, 2, … until the hex digest starts with `difficulty`
// zeros; the context after `data` is computed once and copied per nonce.
#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tasks/types/builtin_type.hpp"

namespace isla::tasks {

namespace json = boost::json;

namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using Digest = std::array<unsigned char, 32>;

void check(int ok) {
  if (ok != 1) throw std::runtime_error("OpenSSL SHA-256 failed");
}

MdCtx new_ctx() {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) throw std::runtime_error("OpenSSL: out of memory");
  return ctx;
}

MdCtx started_with(std::string_view data) {
  MdCtx ctx = new_ctx();
  check(EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr));
  check(EVP_DigestUpdate(ctx.get(), data.data(), data.size()));
  return ctx;
}

Digest finish(EVP_MD_CTX* ctx) {
  Digest digest{};
  unsigned int size = 0;
  check(EVP_DigestFinal_ex(ctx, digest.data(), &size));
  return digest;
}

std::string hex(const Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(digest.size() * 2);
  for (unsigned char byte : digest) {
    text.push_back(kDigits[byte >> 4]);
    text.push_back(kDigits[byte & 0xF]);
  }
  return text;
}

bool starts_with_zero_nibbles(const Digest& digest, int count) {
  for (int i = 0; i < count; ++i) {
    const unsigned char byte = digest[i / 2];
    const unsigned nibble = i % 2 == 0 ? byte >> 4 : byte & 0xF;
    if (nibble != 0) return false;
  }
  return true;
}

ParamField text_field(const char* name, std::size_t max_length, const char* description) {
  ParamField field;
  field.name = name;
  field.type = ParamType::string;
  field.required = true;
  field.max_length = max_length;
  field.description = description;
  return field;
}

std::shared_ptr<const TaskType> sha256_type() {
  BuiltinSpec spec;
  spec.name = "sha256";
  spec.description = "The SHA-256 digest of a text, in hex";
  spec.limits.wall = std::chrono::seconds(10);
  spec.limits.cpu = std::chrono::seconds(10);
  spec.limits.memory_bytes = 16ull << 20;
  spec.schema.add(text_field("text", kMaxStringBytes, "the text (its UTF-8 bytes are hashed)"));
  spec.function = [](const json::object& params, const RunContext&) {
    const auto& text = params.at("text").as_string();
    auto ctx = started_with(std::string_view(text.data(), text.size()));
    return TaskOutcome::success(json::object{{"sha256", hex(finish(ctx.get()))}});
  };
  return std::make_shared<BuiltinType>(std::move(spec));
}

constexpr std::uint64_t kNoncesBetweenStopChecks = 4096;

TaskOutcome mine(std::string_view data, int difficulty, const RunContext& context) {
  const MdCtx prefix = started_with(data);
  const MdCtx ctx = new_ctx();
  char digits[24];
  for (std::uint64_t nonce = 0;; ++nonce) {
    if (nonce % kNoncesBetweenStopChecks == 0 && context.stop_requested()) {
      return stopped_outcome(context);
    }
    const auto end = std::to_chars(digits, digits + sizeof digits, nonce).ptr;
    check(EVP_MD_CTX_copy_ex(ctx.get(), prefix.get()));
    check(EVP_DigestUpdate(ctx.get(), digits, static_cast<std::size_t>(end - digits)));
    const Digest digest = finish(ctx.get());
    if (starts_with_zero_nibbles(digest, difficulty)) {
      return TaskOutcome::success(json::object{{"nonce", nonce}, {"hash", hex(digest)}});
    }
  }
}

std::shared_ptr<const TaskType> mine_type() {
  BuiltinSpec spec;
  spec.name = "mine";
  spec.description =
      "Finds the smallest nonce (from 0) whose SHA-256 of data + decimal nonce starts with "
      "difficulty zero hex digits";
  // Difficulty 7 takes about 16^7 = 268 million hashes: minutes on one core.
  spec.limits.wall = std::chrono::minutes(10);
  spec.limits.cpu = std::chrono::minutes(10);
  spec.limits.memory_bytes = 16ull << 20;
  spec.schema.add(text_field("data", 4096, "the block data the nonce is appended to"));
  ParamField difficulty;
  difficulty.name = "difficulty";
  difficulty.type = ParamType::integer;
  difficulty.required = true;
  difficulty.min = 1;
  difficulty.max = 7;
  difficulty.description = "leading zero hex digits of the hash";
  spec.schema.add(std::move(difficulty));
  spec.function = [](const json::object& params, const RunContext& context) {
    const auto& data = params.at("data").as_string();
    return mine(std::string_view(data.data(), data.size()),
                static_cast<int>(params.at("difficulty").to_number<std::int64_t>()), context);
  };
  return std::make_shared<BuiltinType>(std::move(spec));
}

}  // namespace

std::vector<std::shared_ptr<const TaskType>> crypto_types() {
  return {sha256_type(), mine_type()};
}

}  // namespace isla::tasks
