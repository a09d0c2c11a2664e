#include "tasks/types/builtin_type.hpp"

#include <algorithm>
#include <exception>

namespace isla::tasks {

std::vector<ParamError> BuiltinType::validate(const boost::json::value& params) const {
  auto errors = spec_.schema.validate(params);
  if (errors.empty() && spec_.extra_check) {
    errors = spec_.extra_check(spec_.schema.with_defaults(params.get_object()));
  }
  return errors;
}

TaskOutcome BuiltinType::run(const boost::json::object& params, const RunContext& context) const {
  try {
    const auto errors = validate(params);
    if (!errors.empty())
      return TaskOutcome::failure_of(FailureKind::bad_params, errors[0].message());
    RunContext bounded = context;
    bounded.deadline =
        std::min(context.deadline, std::chrono::steady_clock::now() + spec_.limits.wall);
    return spec_.function(spec_.schema.with_defaults(params), bounded);
  } catch (const std::exception& error) {
    return TaskOutcome::failure_of(FailureKind::failed, spec_.name + ": " + error.what());
  }
}

TaskOutcome stopped_outcome(const RunContext& context) {
  if (std::chrono::steady_clock::now() >= context.deadline) {
    return TaskOutcome::failure_of(FailureKind::limit_wall,
                                   "the task ran past its wall-clock limit");
  }
  return TaskOutcome::failure_of(FailureKind::cancelled, "the run was asked to stop");
}

}  // namespace isla::tasks
