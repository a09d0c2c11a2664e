#pragma once
// Workers as the pods of a Deployment (deploy/k8s: isla-worker), scaled through its scale
// subresource. Each worker's id on the island is its pod's name (`isla worker
// --id=$(POD_NAME)`), so the autoscaler's ids and the cluster's pods are the same names.
//
// start(n): reads the Scale, writes replicas + n at the resourceVersion read (a 409 means
// someone else wrote in between: read again and add n to what is there now, a bounded number
// of times), then waits, bounded, for the ReplicaSet controller to create the n pods and
// returns their names. Pods that do not appear in time (a quota, an admission webhook) are
// given back: replicas go down by the shortfall, and last_error() says so, so that the
// autoscaler's retry does not pile replicas on a Deployment that cannot grow.
//
// stop(id): a Deployment cannot be told which pod to remove, but its ReplicaSet removes the
// pods with the lowest controller.kubernetes.io/pod-deletion-cost first (Kubernetes 1.22+,
// on by default). So the idle worker's pod is annotated with a very low cost, then replicas
// go down by one. The autoscaler also asks that worker to drain (its next heartbeat), and the
// pod's SIGTERM makes it finish its tasks and leave.
//
// running(): the live pods of the Deployment (its Scale's selector); the last list that could
// be read when the API server does not answer, so that workers are not thought gone.
//
// Thread-safe (one mutex); every call blocks on the API server, within bounds set by the
// options.
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "tasks/autoscale/autoscale_flags.hpp"
#include "tasks/autoscale/kubernetes_api.hpp"
#include "tasks/autoscale/kubernetes_objects.hpp"
#include "tasks/autoscale/launcher.hpp"

namespace isla::tasks::autoscale {

struct KubernetesLauncherOptions {
  KubernetesApiOptions api;
  std::string namespace_name;              // the Deployment's (and its pods') namespace
  std::string deployment = "isla-worker";  // the workers' Deployment
  int max_conflicts = 5;                   // 409s one scale change survives before giving up
  std::chrono::milliseconds pod_appear_timeout{10'000};
  std::chrono::milliseconds pod_poll_interval{250};
  long idle_deletion_cost = -1'000'000;  // the drained pod's pod-deletion-cost
};

// The options a pod's gateway runs with: --k8s-* flags, else the pod's environment
// (KUBERNETES_SERVICE_HOST/PORT) and its service account's files. Throws
// std::invalid_argument naming what is missing.
KubernetesLauncherOptions kubernetes_launcher_options(const AutoscaleFlags& flags);

class KubernetesLauncher final : public Launcher {
 public:
  // Throws std::invalid_argument for a bad namespace or Deployment name, std::runtime_error
  // for an unusable CA file.
  explicit KubernetesLauncher(KubernetesLauncherOptions options);

  std::vector<std::string> start(int count) override;
  bool stop(const std::string& worker_id) override;
  std::vector<std::string> running() override;
  std::string last_error() const override;

 private:
  std::optional<Scale> read_scale(std::string& error);
  // Moves replicas by `delta` (never below 0) from what is there now; the replicas written,
  // or nullopt with `error` set.
  std::optional<int> change_replicas(int delta, std::string& error);
  std::optional<std::vector<std::string>> list_pods(std::string& error);

  const KubernetesLauncherOptions options_;
  const std::string scale_path_;
  KubernetesApi api_;
  mutable std::mutex mutex_;
  std::string selector_;  // from the Scale: which pods are the Deployment's
  std::vector<std::string> last_running_;
  std::string last_error_;
};

}  // namespace isla::tasks::autoscale
