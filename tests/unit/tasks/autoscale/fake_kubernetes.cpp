#include "fake_kubernetes.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "net/http_types.hpp"
#include "net/tls.hpp"
#include "net/tls_certificates.hpp"

namespace isla::tasks::autoscale::testing {

namespace json = boost::json;

struct FakeKubernetes::State {
  mutable std::mutex mutex;
  std::string token = "test-token";
  long resource_version = 1000;
  int replicas = 0;
  std::vector<FakePod> pods;
  long next_pod = 1;
  bool controller_creates_pods = true;
  std::deque<InjectedAnswer> injected;
  std::deque<int> bumps;  // someone else's replica changes, one before each PUT
  std::vector<RecordedRequest> requests;
  std::vector<std::string> violations;

  std::string scale_path() const {
    return std::string("/apis/apps/v1/namespaces/") + kNamespace + "/deployments/" + kDeployment +
           "/scale";
  }
  std::string pods_path() const {
    return std::string("/api/v1/namespaces/") + kNamespace + "/pods";
  }

  // Kubernetes' error body: a Status object.
  static net::HttpResponse status(int code, const std::string& reason, const std::string& message) {
    json::object body{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object{}},
                      {"status", "Failure"}, {"message", message}, {"reason", reason},
                      {"code", code}};
    return net::json_response(code, json::serialize(body));
  }

  json::object scale_json() const {
    return {{"kind", "Scale"},
            {"apiVersion", "autoscaling/v1"},
            {"metadata", json::object{{"name", kDeployment},
                                      {"namespace", kNamespace},
                                      {"uid", "5f0c2e3a-0000-4000-8000-000000000001"},
                                      {"resourceVersion", std::to_string(resource_version)},
                                      {"creationTimestamp", "2026-12-01T00:00:00Z"}}},
            {"spec", json::object{{"replicas", replicas}}},
            {"status", json::object{{"replicas", replicas}, {"selector", kSelector}}}};
  }

  // The ReplicaSet controller: pods follow replicas; a scale-down removes the lowest
  // pod-deletion-cost first, then the newest.
  void reconcile() {
    auto live = [&] {
      return std::count_if(pods.begin(), pods.end(),
                           [](const FakePod& pod) { return !pod.deleting; });
    };
    while (controller_creates_pods && live() < replicas) {
      pods.push_back(
          {std::string(kDeployment) + "-5d8f7c9b4-" + std::to_string(next_pod++), 0, false});
    }
    while (live() > replicas) {
      FakePod* victim = nullptr;
      for (auto& pod : pods) {
        if (pod.deleting) continue;
        if (!victim || pod.deletion_cost <= victim->deletion_cost) victim = &pod;
      }
      victim->deleting = true;
    }
    // Pods being deleted finish terminating at once here.
    pods.erase(
        std::remove_if(pods.begin(), pods.end(), [](const FakePod& pod) { return pod.deleting; }),
        pods.end());
  }

  void violation(const net::HttpRequest& request, const std::string& what) {
    violations.push_back(request.method + " " + request.target + ": " + what);
  }

  net::HttpResponse handle(const net::HttpRequest& request) {
    if (request.header("Authorization").value_or("") != "Bearer " + token) {
      return status(401, "Unauthorized", "Unauthorized");
    }
    if (request.header("Accept").value_or("").find("application/json") == std::string::npos) {
      violation(request, "does not accept application/json");
    }
    for (auto it = injected.begin(); it != injected.end(); ++it) {
      if (it->method != request.method) continue;
      auto response =
          it->status == 429
              ? status(429, "TooManyRequests", "Too many requests, please try again later.")
              : status(it->status, "InternalError", "etcdserver: request timed out");
      if (!it->retry_after.empty()) response.headers.emplace_back("Retry-After", it->retry_after);
      injected.erase(it);
      return response;
    }
    const std::string path(request.path());
    if (path == scale_path()) return scale(request);
    if (path == pods_path() && request.method == "GET") return list(request);
    if (path.starts_with(pods_path() + "/") && request.method == "PATCH")
      return patch(request, path);
    violation(request, "no such API");
    return status(404, "NotFound", "the server could not find the requested resource");
  }

  net::HttpResponse scale(const net::HttpRequest& request) {
    if (request.method == "GET") return net::json_response(200, json::serialize(scale_json()));
    if (request.method != "PUT") {
      violation(request, "unexpected method");
      return status(405, "MethodNotAllowed", "method not allowed");
    }
    if (!bumps.empty()) {  // someone else wrote first
      replicas += bumps.front();
      bumps.pop_front();
      ++resource_version;
      reconcile();
    }
    if (request.header("Content-Type").value_or("") != "application/json") {
      violation(request, "Content-Type is not application/json");
    }
    boost::system::error_code error;
    const auto body = json::parse(request.body, error);
    const auto* object = body.if_object();
    if (error || !object) {
      violation(request, "body is not JSON");
      return status(400, "BadRequest", "invalid JSON");
    }
    const auto text = [&](std::initializer_list<const char*> keys) -> std::string {
      const json::value* at = &body;
      for (const char* key : keys) {
        const auto* next = at->is_object() ? at->as_object().if_contains(key) : nullptr;
        if (!next) return {};
        at = next;
      }
      return at->is_string() ? std::string(at->get_string())
                             : (at->is_int64() ? std::to_string(at->get_int64()) : "");
    };
    if (text({"apiVersion"}) != "autoscaling/v1" || text({"kind"}) != "Scale") {
      violation(request, "not an autoscaling/v1 Scale");
    }
    if (text({"metadata", "name"}) != kDeployment)
      violation(request, "metadata.name is not the Deployment");
    const auto version = text({"metadata", "resourceVersion"});
    if (version.empty())
      violation(request, "no metadata.resourceVersion: the write would ignore concurrent ones");
    const auto wanted = text({"spec", "replicas"});
    if (wanted.empty() || std::stol(wanted) < 0) {
      violation(request, "spec.replicas missing or negative");
      return status(422, "Invalid", "spec.replicas: Invalid value");
    }
    if (version != std::to_string(resource_version)) {
      return status(
          409, "Conflict",
          "Operation cannot be fulfilled on deployments.apps \"isla-worker\": the object "
          "has been modified; please apply your changes to the latest version and try again");
    }
    replicas = static_cast<int>(std::stol(wanted));
    ++resource_version;
    reconcile();
    return net::json_response(200, json::serialize(scale_json()));
  }

  net::HttpResponse list(const net::HttpRequest& request) {
    const auto selector = net::query_param(request.query(), "labelSelector");
    const auto decoded = selector ? net::percent_decode(*selector) : std::nullopt;
    if (!decoded || *decoded != kSelector)
      violation(request, "labelSelector is not the Scale's selector");
    json::array items;
    for (const auto& pod : pods) {
      json::object metadata{{"name", pod.name},
                            {"namespace", kNamespace},
                            {"labels", json::object{{"app.kubernetes.io/name", "isla-worker"}}}};
      if (pod.deletion_cost != 0) {
        metadata["annotations"] = json::object{
            {"controller.kubernetes.io/pod-deletion-cost", std::to_string(pod.deletion_cost)}};
      }
      items.push_back(json::object{{"metadata", std::move(metadata)},
                                   {"status", json::object{{"phase", "Running"}}}});
    }
    // A finished pod, which the launcher must not count.
    items.push_back(json::object{{"metadata", json::object{{"name", "isla-worker-old-job"}}},
                                 {"status", json::object{{"phase", "Succeeded"}}}});
    const json::object body{
        {"kind", "PodList"},
        {"apiVersion", "v1"},
        {"metadata", json::object{{"resourceVersion", std::to_string(resource_version)}}},
        {"items", std::move(items)}};
    return net::json_response(200, json::serialize(body));
  }

  net::HttpResponse patch(const net::HttpRequest& request, const std::string& path) {
    const auto name = path.substr(pods_path().size() + 1);
    if (request.header("Content-Type").value_or("") != "application/merge-patch+json") {
      violation(request, "Content-Type is not application/merge-patch+json");
    }
    auto pod =
        std::find_if(pods.begin(), pods.end(), [&](const FakePod& p) { return p.name == name; });
    if (pod == pods.end()) return status(404, "NotFound", "pods \"" + name + "\" not found");
    boost::system::error_code error;
    const auto body = json::parse(request.body, error);
    const json::value* cost = nullptr;
    if (!error && body.is_object()) {
      const auto* metadata = body.as_object().if_contains("metadata");
      const auto* annotations = metadata && metadata->is_object()
                                    ? metadata->as_object().if_contains("annotations")
                                    : nullptr;
      cost =
          annotations && annotations->is_object()
              ? annotations->as_object().if_contains("controller.kubernetes.io/pod-deletion-cost")
              : nullptr;
    }
    if (!cost || !cost->is_string()) {
      violation(request, "not a merge patch of the pod-deletion-cost annotation (a string)");
      return status(422, "Invalid", "bad patch");
    }
    pod->deletion_cost = std::stol(std::string(cost->get_string()));
    ++resource_version;
    return net::json_response(200,
                              json::serialize(json::object{{"kind", "Pod"}, {"apiVersion", "v1"}}));
  }
};

FakeKubernetes::FakeKubernetes(const std::filesystem::path& dir)
    : dir_(dir), state_(std::make_shared<State>()) {
  std::filesystem::remove_all(dir_);
  net::init_certificates(dir_, {"127.0.0.1"});
  const auto files = net::node_tls_files(dir_, "127.0.0.1");
  net::HttpServerOptions options;
  options.tls = net::make_server_tls(files.certificate, files.key);
  server_ = std::make_unique<isla::testing::LoopbackServer>(
      1,
      [state = state_](net::HttpRequest& request) -> asio::awaitable<net::HttpResponse> {
        std::lock_guard lock(state->mutex);
        auto response = state->handle(request);
        state->requests.push_back({request.method, request.target, request.body, response.status});
        co_return response;
      },
      options);
}

core::Endpoint FakeKubernetes::endpoint() const {
  return server_->endpoint();
}

void FakeKubernetes::set_token(std::string token) {
  std::lock_guard lock(state_->mutex);
  state_->token = std::move(token);
}

void FakeKubernetes::set_pods(std::vector<std::string> names) {
  std::lock_guard lock(state_->mutex);
  state_->pods.clear();
  for (auto& name : names) state_->pods.push_back({std::move(name), 0, false});
  state_->replicas = static_cast<int>(state_->pods.size());
  ++state_->resource_version;
}

int FakeKubernetes::replicas() const {
  std::lock_guard lock(state_->mutex);
  return state_->replicas;
}

std::vector<FakePod> FakeKubernetes::pods() const {
  std::lock_guard lock(state_->mutex);
  return state_->pods;
}

std::vector<std::string> FakeKubernetes::live_pod_names() const {
  std::vector<std::string> names;
  for (const auto& pod : pods()) names.push_back(pod.name);
  return names;
}

void FakeKubernetes::set_controller_creates_pods(bool creates) {
  std::lock_guard lock(state_->mutex);
  state_->controller_creates_pods = creates;
}

void FakeKubernetes::inject(InjectedAnswer answer, int count) {
  std::lock_guard lock(state_->mutex);
  for (int i = 0; i < count; ++i) state_->injected.push_back(answer);
}

void FakeKubernetes::someone_scales_before_put(int delta, int count) {
  std::lock_guard lock(state_->mutex);
  for (int i = 0; i < count; ++i) state_->bumps.push_back(delta);
}

std::vector<RecordedRequest> FakeKubernetes::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

std::vector<RecordedRequest> FakeKubernetes::requests(const std::string& method) const {
  std::vector<RecordedRequest> matching;
  for (auto& request : requests()) {
    if (request.method == method) matching.push_back(request);
  }
  return matching;
}

std::vector<std::string> FakeKubernetes::violations() const {
  std::lock_guard lock(state_->mutex);
  return state_->violations;
}

}  // namespace isla::tasks::autoscale::testing
