#pragma once
// The Kubernetes objects the launcher reads and writes, to and from their JSON: the
// autoscaling/v1 Scale of a Deployment and a PodList. Readers take whatever the API server
// (or anything pretending to be it) sent, and never throw: they say nullopt instead.
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace isla::tasks::autoscale {

struct Scale {
  std::string name;
  std::string namespace_name;
  std::string resource_version;  // what a write must name to be accepted (else 409)
  int replicas = 0;              // spec.replicas: what is asked for
  std::string selector;          // status.selector: the label selector of the pods
};

std::optional<Scale> scale_from_json(const boost::json::value& value);
// The body of a PUT that asks for `replicas`, valid only at `scale.resource_version`.
std::string scale_update_json(const Scale& scale, int replicas);

// Names of the pods of a PodList that are alive: not being deleted, not finished.
std::optional<std::vector<std::string>> live_pod_names(const boost::json::value& value);

// The merge patch that makes a pod the first one a ReplicaSet removes when it scales down:
// the controller.kubernetes.io/pod-deletion-cost annotation, lowest first.
std::string deletion_cost_patch(long cost);

// A pod or Deployment name as Kubernetes allows it (DNS-1123 subdomain): only those are
// put into a request's path.
bool valid_object_name(std::string_view name);

}  // namespace isla::tasks::autoscale
