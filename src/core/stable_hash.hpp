#pragma once
// Hashes whose values never change between builds, processes or machines (unlike std::hash):
// they end up on disk (the store's cluster id) and must agree across the balancer pair (the
// consistent-hash ring), so both are defined here once.
#include <cstdint>
#include <string_view>

namespace isla::core {

// FNV-1a, 64 bits: cheap and stable, but similar inputs ("h:1#1", "h:1#2") land close together.
constexpr std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// splitmix64's finalizer: every input bit flips about half the output bits.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// For placing things on a ring or in buckets, where FNV's clustering would skew the shares.
constexpr std::uint64_t spread_hash(std::string_view text) {
  return mix64(fnv1a(text));
}

}  // namespace isla::core
