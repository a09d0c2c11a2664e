#include <stdexcept>
#include <utility>

#include "tasks/types/task_type.hpp"

namespace isla::tasks {

namespace {
constexpr std::pair<FailureKind, const char*> kFailureNames[] = {
    {FailureKind::failed, "failed"},
    {FailureKind::crashed, "crashed"},
    {FailureKind::bad_params, "bad_params"},
    {FailureKind::limit_cpu, "limit_cpu"},
    {FailureKind::limit_memory, "limit_memory"},
    {FailureKind::limit_wall, "limit_wall"},
    {FailureKind::cancelled, "cancelled"},
    {FailureKind::lease_expired, "lease_expired"},
};
}  // namespace

const char* to_string(FailureKind kind) {
  for (const auto& [value, name] : kFailureNames) {
    if (value == kind) return name;
  }
  return "failed";
}

std::optional<FailureKind> failure_kind_from(std::string_view text) {
  for (const auto& [value, name] : kFailureNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

bool is_permanent(FailureKind kind) {
  return kind == FailureKind::bad_params;
}

std::string ParamError::message() const {
  return field + ": " + rule;
}

TaskOutcome TaskOutcome::success(boost::json::value result) {
  TaskOutcome outcome;
  outcome.ok = true;
  outcome.result = std::move(result);
  return outcome;
}

TaskOutcome TaskOutcome::failure_of(FailureKind kind, std::string error) {
  TaskOutcome outcome;
  outcome.failure = kind;
  outcome.error = std::move(error);
  return outcome;
}

void TaskCatalog::add(std::shared_ptr<const TaskType> type) {
  if (find(type->name()) != nullptr) {
    throw std::invalid_argument("task type \"" + type->name() + "\" is defined twice");
  }
  types_.push_back(std::move(type));
}

const TaskType* TaskCatalog::find(std::string_view name) const {
  for (const auto& type : types_) {
    if (type->name() == name) return type.get();
  }
  return nullptr;
}

boost::json::object TaskCatalog::describe() const {
  boost::json::array types;
  for (const auto& type : types_) {
    const TaskLimits& limits = type->limits();
    types.push_back(boost::json::object{
        {"name", type->name()},
        {"description", type->description()},
        {"limits",
         {{"wall_ms", limits.wall.count()},
          {"cpu_ms", limits.cpu.count()},
          {"memory_bytes", limits.memory_bytes},
          {"output_bytes", limits.output_bytes},
          {"max_running", limits.max_running}}},
        {"params", type->schema_json()},
    });
  }
  return {{"types", std::move(types)}};
}

}  // namespace isla::tasks
