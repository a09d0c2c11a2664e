// Fuzzes what a worker accepts from a gateway (tasks/worker/worker_wire.hpp): lease answers,
// extend and complete verdicts, heartbeat answers. They must never crash; a refusal must say
// why; every task accepted has an id, a type and a lease within the token limit, and survives
// being echoed back in extend and complete bodies as valid JSON.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "invariant.hpp"
#include "tasks/worker/worker_wire.hpp"

namespace wire = isla::tasks::wire;
namespace json = boost::json;

namespace {

bool good_token(const std::string& token) {
  return !token.empty() && token.size() <= wire::kMaxTokenBytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::string error;
  if (auto answer = wire::parse_lease_answer(body, &error)) {
    std::vector<isla::tasks::LeaseRef> leases;
    std::vector<isla::tasks::TaskResult> results;
    for (const auto& task : answer->tasks) {
      if (!good_token(task.id) || !good_token(task.lease) || !good_token(task.type)) {
        fail("accepted a task without a usable id, type or lease");
      }
      leases.push_back({task.id, task.lease});
      results.push_back({{task.id, task.lease}, isla::tasks::TaskOutcome::success(task.params)});
    }
    boost::system::error_code code;
    json::parse(wire::extend_body("w", leases, std::chrono::milliseconds(30'000)), code);
    if (code) fail("an extend body is not JSON");
    json::parse(wire::complete_body("w", results), code);
    if (code) fail("a complete body is not JSON");
  } else if (error.empty()) {
    fail("a lease answer refused without a reason");
  }
  error.clear();
  if (auto verdicts = wire::parse_id_verdicts(body, "recorded", &error)) {
    for (const auto& id : verdicts->accepted) {
      if (!good_token(id)) fail("accepted a bad id");
    }
    for (const auto& id : verdicts->lost) {
      if (!good_token(id)) fail("accepted a bad lost id");
    }
  } else if (error.empty()) {
    fail("verdicts refused without a reason");
  }
  error.clear();
  if (!wire::parse_heartbeat_answer(body, &error) && error.empty()) {
    fail("a heartbeat answer refused without a reason");
  }
  return 0;
}
