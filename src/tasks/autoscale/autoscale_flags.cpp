#include "tasks/autoscale/autoscale_flags.hpp"

namespace isla::tasks::autoscale {

AutoscalerConfig AutoscaleFlags::config() const {
  AutoscalerConfig config;
  config.min_workers = min_workers;
  config.max_workers = max_workers;
  config.high_utilisation = scale_high;
  config.high_for = Millis(scale_high_for_ms);
  config.low_utilisation = scale_low;
  config.low_for = Millis(scale_low_for_ms);
  config.target_utilisation = scale_target;
  config.scale_up_cooldown = Millis(scale_up_cooldown_ms);
  config.scale_down_cooldown = Millis(scale_down_cooldown_ms);
  config.step_up_min = scale_step_min;
  config.queue_wait_high_ms = scale_queue_wait_ms;
  config.worker_concurrency = worker_concurrency;
  config.boot_timeout = Millis(worker_boot_timeout_ms);
  const auto found = config.problems();
  if (!found.empty()) {
    std::string text;
    for (std::size_t i = 0; i < found.size(); ++i) text += (i ? "; " : "") + found[i];
    throw CLI::ValidationError("autoscaler", text);
  }
  return config;
}

void add_autoscale_flags(CLI::App& command, AutoscaleFlags& flags) {
  const auto* group = "Autoscaler (runs on the store leader's gateway)";
  command.add_option("--min-workers", flags.min_workers, "Fewest workers kept running")
      ->check(CLI::Range(0, 10'000))
      ->group(group)
      ->capture_default_str();
  command.add_option("--max-workers", flags.max_workers, "Most workers ever started")
      ->check(CLI::Range(1, 10'000))
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--scale-high", flags.scale_high,
                  "Scale up when utilisation ((busy + ready) / slots) stays above this")
      ->check(CLI::Range(0.0, 10.0))
      ->group(group)
      ->capture_default_str();
  command.add_option("--scale-high-for-ms", flags.scale_high_for_ms, "... for this long")
      ->check(CLI::Range(0L, 3'600'000L))
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--scale-low", flags.scale_low,
                  "Drain an idle worker when utilisation stays below this (and nothing is ready)")
      ->check(CLI::Range(0.0, 1.0))
      ->group(group)
      ->capture_default_str();
  command.add_option("--scale-low-for-ms", flags.scale_low_for_ms, "... for this long")
      ->check(CLI::Range(0L, 86'400'000L))
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--scale-target", flags.scale_target,
                  "A scale-up aims at this utilisation (between --scale-low and --scale-high)")
      ->check(CLI::Range(0.0, 10.0))
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--scale-up-cooldown-ms", flags.scale_up_cooldown_ms,
                  "Least time between two scale-ups, and before a failed start is retried")
      ->check(CLI::Range(0L, 3'600'000L))
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--scale-down-cooldown-ms", flags.scale_down_cooldown_ms,
                  "Least time between two scale-downs (one worker each), and after a scale-up")
      ->check(CLI::Range(0L, 3'600'000L))
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--scale-step-min", flags.scale_step_min,
                  "A scale-up may add max(this, the current count) workers at once")
      ->check(CLI::Range(1, 10'000))
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--scale-queue-wait-ms", flags.scale_queue_wait_ms,
                  "A ready task waiting longer than this also counts as high load (0: off)")
      ->check(CLI::Range(0.0, 86'400'000.0))
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--worker-concurrency", flags.worker_concurrency,
                  "Slots (--concurrency) of each worker the autoscaler starts")
      ->check(CLI::Range(1, 1'000))
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--worker-boot-timeout-ms", flags.worker_boot_timeout_ms,
                  "A started worker that has not heartbeated after this is stopped")
      ->check(CLI::Range(1L, 3'600'000L))
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--launcher", flags.launcher,
                  "Who starts workers: local (child processes of this gateway) or k8s (the pods "
                  "of a Deployment, scaled through the Kubernetes API)")
      ->check(CLI::IsMember({"local", "k8s"}))
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--k8s-api", flags.k8s_api,
                  "With --launcher k8s: the API server, HOST:PORT over HTTPS (default: "
                  "$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, as in a pod)")
      ->group(group);
  command
      .add_option("--k8s-namespace", flags.k8s_namespace,
                  "With --launcher k8s: the workers' namespace (default: this pod's)")
      ->group(group);
  command
      .add_option("--k8s-deployment", flags.k8s_deployment,
                  "With --launcher k8s: the workers' Deployment")
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--k8s-token-file", flags.k8s_token_file,
                  "With --launcher k8s: the service account token (read for every call)")
      ->group(group)
      ->capture_default_str();
  command
      .add_option("--k8s-ca-file", flags.k8s_ca_file,
                  "With --launcher k8s: the CA the API server's certificate must chain to")
      ->group(group)
      ->capture_default_str();
}

}  // namespace isla::tasks::autoscale
