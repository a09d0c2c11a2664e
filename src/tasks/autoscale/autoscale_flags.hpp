#pragma once
// The autoscaler's flags, for the command that runs it (`isla gateway`), in one place so the
// names and the documentation (docs/tasks.md) agree. Durations are whole milliseconds, like
// every other *-ms flag.
#include <CLI/CLI.hpp>

#include "tasks/autoscale/policy.hpp"

namespace isla::tasks::autoscale {

struct AutoscaleFlags {
  int min_workers = 1;
  int max_workers = 8;
  double scale_high = 0.8;
  long scale_high_for_ms = 3'000;
  double scale_low = 0.1;
  long scale_low_for_ms = 30'000;
  double scale_target = 0.6;
  long scale_up_cooldown_ms = 1'000;
  long scale_down_cooldown_ms = 2'000;
  int scale_step_min = 4;
  double scale_queue_wait_ms = 5'000;
  int worker_concurrency = 4;
  long worker_boot_timeout_ms = 30'000;
  // Who starts the workers: "local" child processes, or "k8s", the pods of a Deployment
  // scaled through the Kubernetes API (docs/kubernetes.md).
  std::string launcher = "local";
  std::string k8s_api;        // HOST:PORT; empty: $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
  std::string k8s_namespace;  // empty: the pod's service account's namespace
  std::string k8s_deployment = "isla-worker";
  std::string k8s_token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string k8s_ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

  // Throws CLI::ValidationError naming every broken rule.
  AutoscalerConfig config() const;
};

void add_autoscale_flags(CLI::App& command, AutoscaleFlags& flags);

}  // namespace isla::tasks::autoscale
