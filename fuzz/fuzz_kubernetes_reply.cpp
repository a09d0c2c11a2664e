// Fuzzes what the Kubernetes launcher makes of the API server's answers (a Scale, a PodList)
// and of a Retry-After header: never a crash; a Scale read has a resourceVersion and a
// replica count in range, and the PUT built from it is JSON naming that version; every pod
// name kept is a valid object name (it goes into a request path); a delay is whole seconds
// of at most a day.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "invariant.hpp"
#include "tasks/autoscale/kubernetes_api.hpp"
#include "tasks/autoscale/kubernetes_objects.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isla::tasks::autoscale;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto delay = parse_retry_after(text)) {
    if (delay->count() < 0 || delay->count() > 86'400'000 || delay->count() % 1000 != 0) {
      fail("odd Retry-After delay");
    }
  }
  boost::system::error_code error;
  const auto value = boost::json::parse(text, error);
  if (error) return 0;
  if (const auto scale = scale_from_json(value)) {
    if (scale->resource_version.empty()) fail("a Scale without a resourceVersion");
    if (scale->replicas < 0 || scale->replicas > 1'000'000) fail("replicas out of range");
    const auto body = boost::json::parse(scale_update_json(*scale, scale->replicas + 1));
    if (body.at("metadata").at("resourceVersion") != scale->resource_version.c_str()) {
      fail("the update lost the resourceVersion");
    }
  }
  if (const auto names = live_pod_names(value)) {
    for (const auto& name : *names) {
      if (!valid_object_name(name)) fail("kept a pod name that is not an object name");
    }
  }
  return 0;
}
