// Fuzzes what the task queue reads from outside: the task API's bodies (a client's
// submission, a worker's lease, extend, complete, heartbeat and bye) and the records it
// keeps in the store. None may crash; a refusal must name its problem; an accepted
// submission must pass its type's schema; a record accepted must survive encode -> decode.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "invariant.hpp"
#include "tasks/queue/task_api_json.hpp"
#include "tasks/queue/worker_record.hpp"

namespace tasks = isla::tasks;

namespace {

const tasks::TaskCatalog& catalog() {
  static const tasks::TaskCatalog built = [] {
    tasks::TaskCatalog types;
    tasks::add_builtin_types(types);
    return types;
  }();
  return built;
}

template <class T>
void check_refusal(const std::variant<T, tasks::ApiError>& parsed) {
  if (const auto* error = std::get_if<tasks::ApiError>(&parsed)) {
    if (error->message.empty()) fail("a body refused without a reason");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto submitted = tasks::parse_submit(input, catalog());
  check_refusal(submitted);
  if (const auto* body = std::get_if<tasks::SubmitBody>(&submitted)) {
    const auto* type = catalog().find(body->spec.type);
    if (type == nullptr) fail("accepted an unknown task type");
    if (!type->validate(body->spec.params).empty()) fail("accepted parameters the schema refuses");
    if (body->spec.priority < 0 || body->spec.priority > tasks::kMaxPriority) {
      fail("accepted a priority out of range");
    }
  }
  auto lease = tasks::parse_lease(input);
  check_refusal(lease);
  if (const auto* ask = std::get_if<tasks::LeaseAsk>(&lease)) {
    if (ask->max < 1 || ask->wait > tasks::kMaxLeaseWait) fail("accepted a lease out of bounds");
  }
  check_refusal(tasks::parse_extend(input));
  auto complete = tasks::parse_complete(input);
  check_refusal(complete);
  if (const auto* body = std::get_if<tasks::CompleteBody>(&complete)) {
    if (body->results.size() > tasks::kMaxBatch) fail("accepted too many results");
  }
  check_refusal(tasks::parse_heartbeat(input));
  check_refusal(tasks::parse_bye(input));

  if (auto record = tasks::decode_record(input)) {
    auto again = tasks::decode_record(tasks::encode_record(*record));
    if (!again || !(*again == *record)) fail("a task record did not round-trip");
  }
  if (auto worker = tasks::decode_worker(input)) {
    if (!tasks::is_worker_id(worker->report.worker)) fail("accepted a bad worker id");
  }
  return 0;
}
