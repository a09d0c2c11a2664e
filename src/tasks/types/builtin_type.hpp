#pragma once
// A compiled-in task type: a schema, limits and a function, run in the worker's own process.
// The builtin files (builtin_arithmetic.cpp, …) each describe a few of these.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tasks/types/param_schema.hpp"
#include "tasks/types/task_type.hpp"

namespace isla::tasks {

using BuiltinFunction =
    std::function<TaskOutcome(const boost::json::object& params, const RunContext& context)>;
// Rules a schema cannot state (e.g. a product that must fit in 64 bits), checked at submit.
using ExtraCheck = std::function<std::vector<ParamError>(const boost::json::object& params)>;

struct BuiltinSpec {
  std::string name;
  std::string description;
  TaskLimits limits;
  ParamSchema schema;
  BuiltinFunction function;
  ExtraCheck extra_check;  // optional
};

class BuiltinType final : public TaskType {
 public:
  explicit BuiltinType(BuiltinSpec spec) : spec_(std::move(spec)) {}
  const std::string& name() const override { return spec_.name; }
  const std::string& description() const override { return spec_.description; }
  const TaskLimits& limits() const override { return spec_.limits; }
  boost::json::object schema_json() const override { return spec_.schema.to_json(); }
  std::vector<ParamError> validate(const boost::json::value& params) const override;
  // Rechecks the parameters (bad_params), fills in defaults, and runs with a deadline no later
  // than the type's wall-clock limit, whatever the caller's context says; an exception is a
  // `failed` outcome.
  TaskOutcome run(const boost::json::object& params, const RunContext& context) const override;

 private:
  BuiltinSpec spec_;
};

// What a long builtin returns when RunContext::stop_requested() turns true: limit_wall when
// the deadline has passed, else cancelled.
TaskOutcome stopped_outcome(const RunContext& context);

// The builtins, grouped as their files are.
std::vector<std::shared_ptr<const TaskType>> arithmetic_types();  // sum, multiply, sort, reverse
std::vector<std::shared_ptr<const TaskType>> crypto_types();      // sha256, mine
std::vector<std::shared_ptr<const TaskType>> math_types();        // primes, pi
std::shared_ptr<const TaskType> sleep_type();

// pi to `digits` decimals, truncated: "3.14159…"; nullopt when `context` asked to stop.
std::optional<std::string> pi_digits(int digits, const RunContext& context);

}  // namespace isla::tasks
