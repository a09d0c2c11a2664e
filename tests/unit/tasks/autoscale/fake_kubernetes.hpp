#pragma once
// A stand-in for the Kubernetes API server, as much of it as the Kubernetes launcher uses:
// HTTPS on loopback with a test CA, the scale subresource of one Deployment (with
// resourceVersions and 409 conflicts), its pods (list by label selector, merge-patch of
// annotations) and a ReplicaSet controller that creates and removes pods as replicas change,
// removing the lowest pod-deletion-cost first, as Kubernetes does. It checks every request
// (path, bearer token, content type, body, resourceVersion) and records what it did not like
// in violations(), which a test expects to be empty. Faults are scripted: answers to inject
// (429 with Retry-After, 5xx) and writes by "someone else" between a read and a write.
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/endpoint.hpp"
#include "support/loopback_server.hpp"

namespace isla::tasks::autoscale::testing {

struct FakePod {
  std::string name;
  long deletion_cost = 0;
  bool deleting = false;
};

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string body;
  int status = 0;  // what the fake answered
};

struct InjectedAnswer {
  std::string method;  // which requests it answers ("PUT", "GET", ...)
  int status = 429;
  std::string retry_after;  // header value; empty: none
};

class FakeKubernetes {
 public:
  // Certificates in `dir`: a CA (dir/ca.pem) and the server's for 127.0.0.1.
  explicit FakeKubernetes(const std::filesystem::path& dir);

  core::Endpoint endpoint() const;
  std::filesystem::path ca_file() const { return dir_ / "ca.pem"; }
  static constexpr const char* kNamespace = "isla";
  static constexpr const char* kDeployment = "isla-worker";
  static constexpr const char* kSelector = "app.kubernetes.io/name=isla-worker";

  // The state, set by tests before and read after.
  void set_token(std::string token);
  void set_pods(std::vector<std::string> names);  // replicas follow
  int replicas() const;
  std::vector<FakePod> pods() const;
  std::vector<std::string> live_pod_names() const;
  // Off: scaling up creates no pod (a quota, a webhook refusing them).
  void set_controller_creates_pods(bool creates);

  // The next `count` requests with this method get this answer instead.
  void inject(InjectedAnswer answer, int count = 1);
  // Before each of the next `count` PUTs of the Scale, someone else adds `delta` replicas
  // (a new resourceVersion): the PUT then names a stale one.
  void someone_scales_before_put(int delta, int count = 1);

  std::vector<RecordedRequest> requests() const;
  std::vector<RecordedRequest> requests(const std::string& method) const;
  std::vector<std::string> violations() const;

 private:
  struct State;
  std::filesystem::path dir_;
  std::shared_ptr<State> state_;
  std::unique_ptr<isla::testing::LoopbackServer> server_;
};

}  // namespace isla::tasks::autoscale::testing
