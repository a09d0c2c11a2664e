#pragma once
// A consistent-hash ring with virtual nodes (Karger; Ketama's layout), shared by the
// balancer's affinity picker and the partitioned figure catalogue.
//
// Why a ring rather than Maglev, jump hash or rendezvous hashing: on the ring a node leaving
// moves only the keys it held (about 1/N of them) and a node joining takes keys only for
// itself; Maglev's table refill also shuffles a few keys between nodes that stayed, and jump
// hash can only drop the last bucket, not any node. Walking clockwise gives both the
// fallback (the next node when the key's node cannot take it) and the replicas (the next
// distinct nodes) for free. Rendezvous hashing has the same movement but costs a hash per
// node per lookup. The price is a less even spread (about ±10 % with 160 points per unit
// of weight) and a binary search per lookup.
//
// Points are placed by hashing "NAME#i" where NAME is what every process calls the node
// (its host:port), never a local id: two balancers of a pair, or every gateway of an island,
// build the same ring from the same members.
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace isla::core {

using KeyHash = std::function<std::uint64_t(std::string_view)>;

struct HashRingOptions {
  int points_per_weight = 160;  // ring points per unit of a node's weight
  KeyHash hash{};               // of keys and points; empty: core::spread_hash (stable)
};

class HashRing {
 public:
  using NodeId = std::uint64_t;  // the caller's name for a node; the ring only carries it

  explicit HashRing(HashRingOptions options = {});

  // Adds `weight` × points_per_weight points for the node called `name`.
  void add(std::string_view name, NodeId id, int weight = 1);
  void clear() { points_.clear(); }
  bool empty() const { return points_.empty(); }
  std::size_t points() const { return points_.size(); }

  std::uint64_t hash(std::string_view key) const { return options_.hash(key); }

  // Clockwise from `point`, wrapping once round the ring: the first node `accept` takes.
  std::optional<NodeId> first(std::uint64_t point, const std::function<bool(NodeId)>& accept) const;
  // Clockwise from `point`: the first `count` distinct nodes (fewer when the ring has fewer).
  std::vector<NodeId> distinct(std::uint64_t point, std::size_t count) const;

 private:
  HashRingOptions options_;
  // Sorted by point after every add, so lookups are const and may run on any thread; two
  // equal points are all but impossible, and if they happen the lower id comes first.
  std::vector<std::pair<std::uint64_t, NodeId>> points_;
};

}  // namespace isla::core
