#include "tasks/autoscale/kubernetes_launcher.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "net/http_types.hpp"

namespace isla::tasks::autoscale {

namespace {

std::string read_first_line(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

KubernetesLauncherOptions kubernetes_launcher_options(const AutoscaleFlags& flags) {
  KubernetesLauncherOptions options;
  std::string server = flags.k8s_api;
  if (server.empty()) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (host == nullptr || *host == '\0') {
      throw std::invalid_argument(
          "--launcher k8s: no API server: give --k8s-api HOST:PORT, or run in a pod "
          "(KUBERNETES_SERVICE_HOST is not set)");
    }
    const std::string host_text(host);
    const bool v6 = host_text.find(':') != std::string::npos;
    server = (v6 ? "[" + host_text + "]" : host_text) + ":" +
             (port != nullptr && *port != '\0' ? port : "443");
  }
  const auto endpoint = core::parse_endpoint(server, 443);
  if (!endpoint) throw std::invalid_argument("--k8s-api: not a HOST:PORT address: " + server);
  options.api.server = *endpoint;
  options.api.token_file = flags.k8s_token_file;
  options.api.ca_file = flags.k8s_ca_file;
  options.namespace_name = flags.k8s_namespace;
  if (options.namespace_name.empty()) {
    const auto file = std::filesystem::path(kServiceAccountDir) / "namespace";
    options.namespace_name = read_first_line(file);
    if (options.namespace_name.empty()) {
      throw std::invalid_argument(
          "--launcher k8s: no namespace: give --k8s-namespace, or run in "
          "a pod with a service account (" +
          file.string() + ")");
    }
  }
  options.deployment = flags.k8s_deployment;
  return options;
}

KubernetesLauncher::KubernetesLauncher(KubernetesLauncherOptions options)
    : options_(std::move(options)),
      scale_path_(fmt::format("/apis/apps/v1/namespaces/{}/deployments/{}/scale",
                              options_.namespace_name, options_.deployment)),
      api_(options_.api) {
  if (!valid_object_name(options_.namespace_name)) {
    throw std::invalid_argument("not a Kubernetes namespace: '" + options_.namespace_name + "'");
  }
  if (!valid_object_name(options_.deployment)) {
    throw std::invalid_argument("not a Deployment name: '" + options_.deployment + "'");
  }
}

std::optional<Scale> KubernetesLauncher::read_scale(std::string& error) {
  const auto reply = api_.call("GET", scale_path_);
  if (!reply.ok()) {
    error = reply.error;
    return std::nullopt;
  }
  auto scale = scale_from_json(reply.body);
  if (!scale) {
    error = "GET " + scale_path_ + ": not a Scale with a resourceVersion";
    return std::nullopt;
  }
  if (!scale->selector.empty()) selector_ = scale->selector;
  return scale;
}

std::optional<int> KubernetesLauncher::change_replicas(int delta, std::string& error) {
  auto scale = read_scale(error);
  if (!scale) return std::nullopt;
  int target = std::max(0, scale->replicas + delta);
  for (int conflicts = 0;;) {
    const auto reply = api_.call("PUT", scale_path_, scale_update_json(*scale, target));
    if (reply.ok()) return target;
    if (reply.status != 409) {
      error = reply.error;
      return std::nullopt;
    }
    if (++conflicts > options_.max_conflicts) {
      error = fmt::format("{} (gave up after {} conflicts)", reply.error, conflicts);
      return std::nullopt;
    }
    // Someone wrote in between (another controller, `kubectl scale`, or our own write whose
    // answer was lost and that the HTTP client sent again): apply the change to what is there
    // now, unless what is there now is already what we wrote.
    scale = read_scale(error);
    if (!scale) return std::nullopt;
    if (scale->replicas == target) return target;
    target = std::max(0, scale->replicas + delta);
  }
}

std::optional<std::vector<std::string>> KubernetesLauncher::list_pods(std::string& error) {
  if (selector_.empty() && !read_scale(error)) return std::nullopt;
  if (selector_.empty()) {
    error = "the Scale of " + options_.deployment + " names no pod selector";
    return std::nullopt;
  }
  const auto target = fmt::format("/api/v1/namespaces/{}/pods?labelSelector={}",
                                  options_.namespace_name, net::percent_encode(selector_));
  const auto reply = api_.call("GET", target);
  if (!reply.ok()) {
    error = reply.error;
    return std::nullopt;
  }
  auto names = live_pod_names(reply.body);
  if (!names) error = "GET " + target + ": not a PodList";
  return names;
}

std::vector<std::string> KubernetesLauncher::start(int count) {
  std::lock_guard lock(mutex_);
  last_error_.clear();
  if (count <= 0) return {};
  std::string error;
  const auto before = list_pods(error);
  if (!before) {
    last_error_ = error;
    return {};
  }
  last_running_ = *before;
  const auto written = change_replicas(count, error);
  if (!written) {
    last_error_ = error;
    return {};
  }
  // The ReplicaSet controller creates the pods within moments, unless something refuses
  // them. Polls, not a watch: few, bounded, and simple to serve.
  std::vector<std::string> fresh;
  const auto polls = 1 + options_.pod_appear_timeout /
                             std::max(std::chrono::milliseconds(1), options_.pod_poll_interval);
  for (long poll = 0; poll < polls; ++poll) {
    if (poll > 0) api_.sleep(options_.pod_poll_interval);
    const auto now = list_pods(error);
    if (!now) continue;
    last_running_ = *now;
    fresh.clear();
    for (const auto& name : *now) {
      if (!contains(*before, name)) fresh.push_back(name);
    }
    if (static_cast<int>(fresh.size()) >= count) break;
  }
  if (static_cast<int>(fresh.size()) > count) fresh.resize(static_cast<std::size_t>(count));
  const int shortfall = count - static_cast<int>(fresh.size());
  if (shortfall > 0) {
    std::string give_back_error;
    const auto given_back = change_replicas(-shortfall, give_back_error);
    last_error_ = fmt::format(
        "{} replicas of {} asked for, but only {} of {} new pods appeared within {} ms{}; {}",
        *written, options_.deployment, fresh.size(), count, options_.pod_appear_timeout.count(),
        error.empty() ? "" : " (" + error + ")",
        given_back ? fmt::format("gave {} back (replicas {})", shortfall, *given_back)
                   : "could not give them back: " + give_back_error);
  }
  return fresh;
}

bool KubernetesLauncher::stop(const std::string& worker_id) {
  std::lock_guard lock(mutex_);
  if (!valid_object_name(worker_id)) return false;
  std::string error;
  const auto pods = list_pods(error);
  if (!pods) {
    spdlog::warn("k8s launcher: cannot stop {}: {}", worker_id, error);
    return false;
  }
  last_running_ = *pods;
  if (!contains(*pods, worker_id)) return false;
  const auto pod_path =
      fmt::format("/api/v1/namespaces/{}/pods/{}", options_.namespace_name, worker_id);
  const auto marked = api_.call("PATCH", pod_path, deletion_cost_patch(options_.idle_deletion_cost),
                                "application/merge-patch+json");
  if (!marked.ok()) {
    spdlog::warn("k8s launcher: cannot mark {} as the pod to remove: {}", worker_id, marked.error);
    return false;
  }
  const auto written = change_replicas(-1, error);
  if (!written) {
    spdlog::warn("k8s launcher: cannot scale {} down for {}: {}", options_.deployment, worker_id,
                 error);
    return false;
  }
  spdlog::info("k8s launcher: {} scaled to {} replicas, removing pod {}", options_.deployment,
               *written, worker_id);
  return true;
}

std::vector<std::string> KubernetesLauncher::running() {
  std::lock_guard lock(mutex_);
  std::string error;
  if (auto pods = list_pods(error)) {
    last_running_ = std::move(*pods);
  } else {
    spdlog::warn("k8s launcher: cannot list the workers' pods ({}); using the last list", error);
  }
  return last_running_;
}

std::string KubernetesLauncher::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

}  // namespace isla::tasks::autoscale
