#pragma once
// The balancer's backends (gateways): where they are, how much traffic each should take, and
// whether it may take any now. Added and removed at run time (admin API, discovery) without a
// restart.
//
// Threads: one owner (the proxy's control strand) holds the set, together with the picker, the
// health checks and the outlier detector that read and change it; nothing here locks. Readers
// on other threads (the status page, /metrics) get copies from snapshot(), which the owner
// publishes as it sees fit (atomic<shared_ptr<const ...>>, ARCHITECTURE.md): request counts
// change on every request, so the set does not copy itself on each change.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/endpoint.hpp"

namespace isla::balancer {

// Stable for the backend's life in the set and never reused, so a request that outlives its
// backend's removal cannot be counted against a newcomer.
using BackendId = std::uint64_t;

// HAProxy's server weights: 1 to 256 (0, "drain", is not offered yet).
constexpr int kMinWeight = 1;
constexpr int kMaxWeight = 256;

struct Backend {
  BackendId id = 0;
  core::Endpoint endpoint;
  int weight = 1;
  bool up = true;        // the active health checks' verdict
  bool ejected = false;  // benched by the outlier detector (passive checks)
  int active_requests = 0;

  bool pickable() const { return up && !ejected; }
};

class BackendSet {
 public:
  // Throws std::invalid_argument on a weight out of range or an endpoint already present.
  BackendId add(core::Endpoint endpoint, int weight = 1, bool up = true);
  // False if no such backend (already removed). Requests still running on it just finish.
  bool remove(BackendId id);
  // Throws std::invalid_argument on a weight out of range; false if no such backend.
  bool set_weight(BackendId id, int weight);

  bool set_up(BackendId id, bool up);
  bool set_ejected(BackendId id, bool ejected);

  // Around every forwarded request (Picker::request_started/finished call these). Unknown ids
  // are ignored: the backend was removed while the request ran.
  void request_started(BackendId id);
  void request_finished(BackendId id);

  const Backend* find(BackendId id) const;
  std::optional<BackendId> find(const core::Endpoint& endpoint) const;

  // In the order they were added (ascending id): pickers that walk it are deterministic.
  const std::vector<Backend>& backends() const { return backends_; }
  std::size_t size() const { return backends_.size(); }
  std::size_t pickable_count() const;

  // Changes whenever a backend is added or removed or its weight changes, not on health or
  // load: pickers rebuild what they derive from the membership (a hash ring) when it moves.
  std::uint64_t generation() const { return generation_; }

  std::shared_ptr<const std::vector<Backend>> snapshot() const;

 private:
  Backend* find_mutable(BackendId id);

  std::vector<Backend> backends_;
  BackendId next_id_ = 1;
  std::uint64_t generation_ = 0;
};

}  // namespace isla::balancer
