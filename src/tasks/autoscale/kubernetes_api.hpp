#pragma once
// The few calls the Kubernetes launcher makes to the cluster's API server, over the project's
// HTTP client: HTTPS trusting the cluster's CA only, the pod's service-account token as a
// bearer token (read again for every call, because the kubelet rotates it), and bounded
// retries of what Kubernetes says to retry: 429 (after its Retry-After), 5xx and connections
// that failed (after a growing, jittered backoff). Blocking: call it from a thread that may
// wait (the gateway runs the autoscaler's launcher calls on a thread of their own).
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/backoff.hpp"
#include "core/endpoint.hpp"
#include "core/random.hpp"

namespace isla::net {
struct TlsContext;
}

namespace isla::tasks::autoscale {

// Where a pod finds its service account: token, ca.crt and namespace.
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct KubernetesApiOptions {
  core::Endpoint server;  // the API server (HTTPS): in a pod, $KUBERNETES_SERVICE_HOST:PORT
  std::filesystem::path token_file = std::string(kServiceAccountDir) + "/token";
  std::filesystem::path ca_file = std::string(kServiceAccountDir) + "/ca.crt";
  std::chrono::milliseconds request_timeout{5'000};
  // Attempts of one call in all, retries of 429, 5xx and connection failures included.
  int max_attempts = 4;
  core::BackoffOptions backoff{std::chrono::milliseconds(200), std::chrono::milliseconds(5'000),
                               2.0, 0.5};
  // A Retry-After longer than this is cut to it: the caller holds the autoscaler meanwhile.
  std::chrono::milliseconds max_retry_after{10'000};
  // How waits happen; tests record them instead of waiting.
  std::function<void(std::chrono::milliseconds)> sleep;
};

struct KubernetesReply {
  int status = 0;  // 0: no answer at all (see error)
  boost::json::value body;
  std::string error;  // for people: the Status message, or why there was no answer
  std::optional<std::chrono::milliseconds> retry_after;  // what the server asked for
  int attempts = 0;

  bool ok() const { return status >= 200 && status < 300; }
};

class KubernetesApi {
 public:
  // Throws std::runtime_error when the CA file cannot be used.
  explicit KubernetesApi(KubernetesApiOptions options);

  // One call, retried as above. `body` is JSON; `content_type` says which kind of JSON
  // (merge patches need theirs). Never throws for what the server or network does.
  KubernetesReply call(const std::string& method, const std::string& target,
                       const std::string& body = {},
                       const std::string& content_type = "application/json");

  void sleep(std::chrono::milliseconds delay) const;

 private:
  KubernetesReply attempt(const std::string& method, const std::string& target,
                          const std::string& body, const std::string& content_type) const;

  KubernetesApiOptions options_;
  std::shared_ptr<net::TlsContext> tls_;
  core::SeededRandom random_;
};

// The delay a Retry-After value asks for: whole seconds (Kubernetes sends those); nullopt
// for anything else, such as an HTTP date, which then falls back to the backoff.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

}  // namespace isla::tasks::autoscale
