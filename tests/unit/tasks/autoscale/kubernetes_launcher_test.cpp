// KubernetesLauncher against a fake API server over TLS on loopback (fake_kubernetes.hpp),
// which checks each request and answers as Kubernetes does: Scale objects with
// resourceVersions, 409 conflicts, 429 with Retry-After, 5xx, 401.
#include "tasks/autoscale/kubernetes_launcher.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "fake_kubernetes.hpp"
#include "net/tls_certificates.hpp"
#include "tasks/autoscale/kubernetes_objects.hpp"
#include "tasks/autoscale/scaler_driver.hpp"

namespace isla::tasks::autoscale {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::FakeKubernetes;
using testing::InjectedAnswer;

class KubernetesLauncherTest : public ::testing::Test {
 protected:
  KubernetesLauncherTest()
      : dir_(fs::temp_directory_path() /
             ("isla-k8s-launcher-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        api_(dir_ / "api") {
    write_token("test-token");
  }
  ~KubernetesLauncherTest() override {
    EXPECT_TRUE(api_.violations().empty()) << api_.violations().front();
    fs::remove_all(dir_);
  }

  void write_token(const std::string& token) { std::ofstream(dir_ / "token") << token << "\n"; }

  KubernetesLauncherOptions options() {
    KubernetesLauncherOptions options;
    options.api.server = api_.endpoint();
    options.api.token_file = dir_ / "token";
    options.api.ca_file = api_.ca_file();
    options.api.request_timeout = 5s;
    options.api.sleep = [this](std::chrono::milliseconds delay) { slept_.push_back(delay); };
    options.namespace_name = FakeKubernetes::kNamespace;
    options.deployment = FakeKubernetes::kDeployment;
    options.pod_appear_timeout = 1'000ms;
    options.pod_poll_interval = 250ms;
    return options;
  }

  static std::vector<std::string> sorted(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
  FakeKubernetes api_;
  std::vector<std::chrono::milliseconds> slept_;
};

TEST_F(KubernetesLauncherTest, StartScalesTheDeploymentAndReturnsTheNewPodsNames) {
  api_.set_pods({"isla-worker-a"});
  KubernetesLauncher launcher(options());
  const auto started = launcher.start(2);
  EXPECT_EQ(started.size(), 2u);
  EXPECT_EQ(api_.replicas(), 3);
  EXPECT_TRUE(launcher.last_error().empty()) << launcher.last_error();
  for (const auto& id : started) EXPECT_NE(id, "isla-worker-a");
  // Every live pod, the old and the new, and not the finished one the list also holds.
  EXPECT_EQ(sorted(launcher.running()), sorted(api_.live_pod_names()));
  const auto puts = api_.requests("PUT");
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_NE(puts[0].body.find("\"replicas\":3"), std::string::npos) << puts[0].body;
  EXPECT_EQ(puts[0].status, 200);
}

TEST_F(KubernetesLauncherTest, AConflictRereadsAndAppliesTheChangeToWhatIsThereNow) {
  api_.set_pods({"isla-worker-a"});
  api_.someone_scales_before_put(+1);  // `kubectl scale` between our read and our write
  KubernetesLauncher launcher(options());
  const auto started = launcher.start(2);
  EXPECT_EQ(api_.replicas(), 4);  // 1 + theirs (1) + ours (2): nothing lost either way
  const auto puts = api_.requests("PUT");
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_EQ(puts[0].status, 409);
  EXPECT_EQ(puts[1].status, 200);
  EXPECT_NE(puts[1].body.find("\"replicas\":4"), std::string::npos) << puts[1].body;
  EXPECT_NE(puts[0].body, puts[1].body);  // the second names the new resourceVersion
  // Their pod and ours are all new to us; two of them are reported as started.
  EXPECT_EQ(started.size(), 2u);
}

TEST_F(KubernetesLauncherTest, EndlessConflictsAreGivenUpOnAfterABoundedNumber) {
  api_.set_pods({"isla-worker-a"});
  // +2, never landing on what we write (which would read as our own write having landed).
  api_.someone_scales_before_put(+2, 100);
  auto settings = options();
  settings.max_conflicts = 3;
  KubernetesLauncher launcher(settings);
  EXPECT_TRUE(launcher.start(1).empty());
  EXPECT_EQ(api_.requests("PUT").size(), 4u);
  EXPECT_NE(launcher.last_error().find("gave up after 4 conflicts"), std::string::npos)
      << launcher.last_error();
}

TEST_F(KubernetesLauncherTest, TooManyRequestsIsRetriedAfterTheRetryAfterItNames) {
  api_.set_pods({"isla-worker-a"});
  api_.inject({"PUT", 429, "3"});
  KubernetesLauncher launcher(options());
  EXPECT_EQ(launcher.start(1).size(), 1u);
  EXPECT_EQ(api_.replicas(), 2);
  ASSERT_FALSE(slept_.empty());
  EXPECT_EQ(slept_.front(), 3'000ms);
  const auto puts = api_.requests("PUT");
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_EQ(puts[0].status, 429);
  EXPECT_EQ(puts[1].status, 200);
}

TEST_F(KubernetesLauncherTest, AnAbsurdRetryAfterIsCappedAndServerErrorsBackOff) {
  api_.set_pods({"isla-worker-a"});
  api_.inject({"GET", 429, "86400"});
  api_.inject({"GET", 503, ""});
  auto settings = options();
  settings.api.max_retry_after = 2'000ms;
  KubernetesLauncher launcher(settings);
  EXPECT_EQ(launcher.start(1).size(), 1u);
  ASSERT_GE(slept_.size(), 2u);
  EXPECT_EQ(slept_[0], 2'000ms);
  EXPECT_GT(slept_[1], 0ms);  // the backoff's, jittered
  EXPECT_LE(slept_[1], 5'000ms);
}

TEST_F(KubernetesLauncherTest, ServerErrorsThatPersistFailTheStartWithinBoundedAttempts) {
  api_.set_pods({"isla-worker-a"});
  api_.inject({"PUT", 500, ""}, 50);
  auto settings = options();
  settings.api.max_attempts = 3;
  KubernetesLauncher launcher(settings);
  EXPECT_TRUE(launcher.start(2).empty());
  EXPECT_EQ(api_.requests("PUT").size(), 3u);
  EXPECT_EQ(api_.replicas(), 1);
  EXPECT_NE(launcher.last_error().find("HTTP 500"), std::string::npos) << launcher.last_error();
}

TEST_F(KubernetesLauncherTest, PodsThatNeverAppearAreGivenBack) {
  api_.set_pods({"isla-worker-a"});
  api_.set_controller_creates_pods(false);  // a quota refuses them
  KubernetesLauncher launcher(options());
  EXPECT_TRUE(launcher.start(2).empty());
  EXPECT_EQ(api_.replicas(), 1);  // 3, then back: a retry will not pile replicas up
  EXPECT_NE(launcher.last_error().find("only 0 of 2 new pods appeared"), std::string::npos)
      << launcher.last_error();
  EXPECT_NE(launcher.last_error().find("gave 2 back"), std::string::npos);
  // Polled a bounded number of times: 1 s / 250 ms.
  EXPECT_EQ(slept_.size(), 4u);
}

TEST_F(KubernetesLauncherTest, StopMarksTheIdlePodAsTheOneToRemoveThenScalesDown) {
  api_.set_pods({"isla-worker-a", "isla-worker-b", "isla-worker-c"});
  KubernetesLauncher launcher(options());
  // Left to itself the controller would remove the newest (c); the idle one is b.
  EXPECT_TRUE(launcher.stop("isla-worker-b"));
  EXPECT_EQ(api_.replicas(), 2);
  EXPECT_EQ(sorted(api_.live_pod_names()),
            (std::vector<std::string>{"isla-worker-a", "isla-worker-c"}));
  const auto patches = api_.requests("PATCH");
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0].target, "/api/v1/namespaces/isla/pods/isla-worker-b");
  EXPECT_EQ(sorted(launcher.running()), sorted(api_.live_pod_names()));
}

TEST_F(KubernetesLauncherTest, StopOfAPodThatIsNotOursWritesNothing) {
  api_.set_pods({"isla-worker-a"});
  KubernetesLauncher launcher(options());
  EXPECT_FALSE(launcher.stop("someone-else"));
  EXPECT_FALSE(launcher.stop("../../secrets/x"));
  EXPECT_TRUE(api_.requests("PATCH").empty());
  EXPECT_TRUE(api_.requests("PUT").empty());
  EXPECT_EQ(api_.replicas(), 1);
}

TEST_F(KubernetesLauncherTest, AWrongTokenIsNotRetriedAndARotatedOneIsReadAgain) {
  api_.set_pods({"isla-worker-a"});
  api_.set_token("rotated");
  KubernetesLauncher launcher(options());
  EXPECT_TRUE(launcher.start(1).empty());
  EXPECT_NE(launcher.last_error().find("HTTP 401"), std::string::npos) << launcher.last_error();
  EXPECT_EQ(api_.requests().size(), 1u);
  write_token("rotated");  // what the kubelet does to a projected token
  EXPECT_EQ(launcher.start(1).size(), 1u);
  EXPECT_EQ(api_.replicas(), 2);
}

TEST_F(KubernetesLauncherTest, AServerWithoutACertificateFromTheClustersCaIsNotTalkedTo) {
  api_.set_pods({"isla-worker-a"});
  net::init_certificates(dir_ / "other", {"127.0.0.1"});
  auto settings = options();
  settings.api.ca_file = dir_ / "other" / "ca.pem";
  settings.api.max_attempts = 1;
  KubernetesLauncher launcher(settings);
  EXPECT_TRUE(launcher.start(1).empty());
  EXPECT_NE(launcher.last_error().find("no answer from the API server"), std::string::npos)
      << launcher.last_error();
  EXPECT_TRUE(api_.requests().empty());
}

TEST_F(KubernetesLauncherTest, RunningKeepsTheLastListWhileTheApiServerIsDown) {
  api_.set_pods({"isla-worker-a", "isla-worker-b"});
  auto settings = options();
  settings.api.max_attempts = 2;
  KubernetesLauncher launcher(settings);
  const auto before = sorted(launcher.running());
  EXPECT_EQ(before, (std::vector<std::string>{"isla-worker-a", "isla-worker-b"}));
  api_.inject({"GET", 503, "1"}, 2);
  EXPECT_EQ(sorted(launcher.running()), before);
}

// The autoscaler's driver with this launcher: a backlog scales the Deployment up, and the
// pods' names are the ids it waits for.
TEST_F(KubernetesLauncherTest, TheDriverScalesTheDeploymentUpUnderABacklog) {
  api_.set_pods({"isla-worker-a"});
  KubernetesLauncher launcher(options());
  AutoscalerConfig config;
  config.high_for = 0ms;
  config.settle_after_reset = 0ms;
  ScalerDriver driver(config, launcher, {});
  driver.on_gained_leadership(Millis(0));
  QueueSample queue;
  queue.ready = 40;
  const auto decision = driver.evaluate(Millis(10), {{"isla-worker-a", 4, 4, false, false}}, queue);
  ASSERT_EQ(decision.kind, DecisionKind::scale_up);
  EXPECT_EQ(static_cast<int>(decision.started.size()), decision.count);
  EXPECT_EQ(api_.replicas(), 1 + decision.count);
  EXPECT_TRUE(decision.error.empty()) << decision.error;
}

TEST(KubernetesObjects, ScaleRoundTripsAndBadOnesAreRefused) {
  const auto scale = scale_from_json(boost::json::parse(
      R"({"metadata":{"name":"w","namespace":"n","resourceVersion":"7"},"spec":{},"status":{"selector":"a=b"}})"));
  ASSERT_TRUE(scale);
  EXPECT_EQ(scale->replicas, 0);  // omitted when 0
  EXPECT_EQ(scale->selector, "a=b");
  EXPECT_EQ(boost::json::parse(scale_update_json(*scale, 3)),
            boost::json::parse(R"({"apiVersion":"autoscaling/v1","kind":"Scale",
              "metadata":{"name":"w","resourceVersion":"7","namespace":"n"},"spec":{"replicas":3}})"));
  EXPECT_FALSE(scale_from_json(boost::json::parse(R"({"metadata":{"name":"w"},"spec":{}})")));
  EXPECT_FALSE(scale_from_json(
      boost::json::parse(R"({"metadata":{"resourceVersion":"1"},"spec":{"replicas":-1}})")));
  EXPECT_FALSE(scale_from_json(boost::json::parse("[]")));
  EXPECT_FALSE(live_pod_names(boost::json::parse(R"({"items":[{"metadata":{"name":"../x"}}]})")));
  EXPECT_EQ(live_pod_names(boost::json::parse(R"({"items":null})")), std::vector<std::string>{});
}

TEST(KubernetesObjects, RetryAfterIsWholeSecondsOnly) {
  EXPECT_EQ(parse_retry_after("2"), std::chrono::milliseconds(2'000));
  EXPECT_EQ(parse_retry_after(" 0 "), std::chrono::milliseconds(0));
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_FALSE(parse_retry_after("-1"));
  EXPECT_FALSE(parse_retry_after(""));
  EXPECT_FALSE(parse_retry_after("99999999999999999999"));
}

}  // namespace
}  // namespace isla::tasks::autoscale
