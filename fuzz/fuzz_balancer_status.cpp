// Fuzzes what a gateway makes of a balancer's admin /api/status (GET /api/balancers): any
// answer gives an entry naming the balancer, either with a role or with an error, never
// both; backends kept have a string address and one of three health words; the view over
// such entries names as active only a balancer whose entry says so.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/balancer_view.hpp"
#include "invariant.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isla::gateway;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto summary = summarise_balancer("127.0.0.101:8081", text);
  if (summary.at("admin") != "127.0.0.101:8081") fail("lost the balancer's address");
  if (summary.contains("role") == summary.contains("error")) fail("role and error together");
  if (const auto* backends = summary.if_contains("backends")) {
    if (!backends->is_array()) fail("backends not a list");
    if (backends->as_array().size() > 256) fail("kept too many backends");
    for (const auto& backend : backends->as_array()) {
      const auto& row = backend.as_object();
      if (!row.at("address").is_string()) fail("a backend without an address");
      const auto& health = row.at("health");
      if (health != "up" && health != "down" && health != "ejected") fail("odd health word");
    }
  }
  boost::json::array summaries{summary, unreachable_balancer("127.0.0.102:8081", "refused")};
  const auto view = balancers_view(summaries);
  const auto& active = view.at("active");
  if (!active.is_null() && (active != "127.0.0.101:8081" || summary.at("role") != "active")) {
    fail("named as active a balancer that does not say so");
  }
  boost::json::serialize(view);
  return 0;
}
