#pragma once
// Which backend takes the next request: the seam between the proxy and the balancing
// algorithms (Envoy's Upstream::LoadBalancer). A picker only ever returns a pickable backend
// (up by the health checks, not ejected by the outlier detector); none means there is none,
// and the proxy answers 503.
#include <optional>
#include <string_view>

#include "balancer/backend_set.hpp"

namespace isla::balancer {

class Picker {
 public:
  virtual ~Picker() = default;

  // `key` is the request's affinity key (a cookie or header value) where the proxy has one;
  // only consistent hashing looks at it.
  virtual std::optional<BackendId> pick(std::optional<std::string_view> key) = 0;

  // Around every request the proxy forwards to a picked backend: the load the
  // least-connections and power-of-two pickers weigh.
  virtual void request_started(BackendId id) = 0;
  virtual void request_finished(BackendId id) = 0;
};

// The pickers over a BackendSet: they read it at every pick, and keep its request counts
// (shown on the status page too) rather than counts of their own.
class BackendSetPicker : public Picker {
 public:
  explicit BackendSetPicker(BackendSet& backends) : backends_(backends) {}

  void request_started(BackendId id) override { backends_.request_started(id); }
  void request_finished(BackendId id) override { backends_.request_finished(id); }

 protected:
  const BackendSet& backends() const { return backends_; }

 private:
  BackendSet& backends_;
};

}  // namespace isla::balancer
