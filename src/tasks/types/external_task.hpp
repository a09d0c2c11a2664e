#pragma once
// External task types: executables in a task directory, each described by a TOML manifest
// (format in docs/tasks.md), run by a Sandbox with the manifest's limits; parameters go to
// the program's stdin as JSON, its result is the JSON it writes to stdout.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/types/param_schema.hpp"
#include "tasks/types/sandbox.hpp"
#include "tasks/types/task_type.hpp"

namespace isla::tasks {

struct TaskManifest {
  std::string name;
  std::string description;
  std::vector<std::string> command;  // command[0] made absolute against the task directory
  std::string task_dir;
  TaskLimits limits;
  ParamSchema schema;
};

// Bounds a manifest may ask for.
inline constexpr std::int64_t kMaxManifestWallMs = 3'600'000;
inline constexpr std::int64_t kMinManifestMemoryMb = 16;  // bwrap and a loader need some
inline constexpr std::int64_t kMaxManifestMemoryMb = 65'536;
inline constexpr std::int64_t kMaxManifestOutputBytes = 64ll << 20;

// Parses one manifest. `source` (its file name) and the offending key start every error:
// "tasks.d/wc.toml: limits.wall_ms: must be an integer in [1, 3600000]". Throws
// std::runtime_error. Does not look at the file system (see check_command).
TaskManifest parse_task_manifest(std::string_view text, const std::string& source,
                                 const std::string& task_dir);
// Throws std::runtime_error naming `source` when command[0] is not an executable file.
void check_command(const TaskManifest& manifest, const std::string& source);

// What a sandboxed run means to the queue: a result, or a failure of the right kind.
TaskOutcome outcome_of(const SandboxResult& result);

class ExternalTaskType final : public TaskType {
 public:
  ExternalTaskType(TaskManifest manifest, std::shared_ptr<Sandbox> sandbox)
      : manifest_(std::move(manifest)), sandbox_(std::move(sandbox)) {}
  const std::string& name() const override { return manifest_.name; }
  const std::string& description() const override { return manifest_.description; }
  const TaskLimits& limits() const override { return manifest_.limits; }
  boost::json::object schema_json() const override { return manifest_.schema.to_json(); }
  std::vector<ParamError> validate(const boost::json::value& params) const override;
  TaskOutcome run(const boost::json::object& params, const RunContext& context) const override;

 private:
  TaskManifest manifest_;
  std::shared_ptr<Sandbox> sandbox_;
};

// add_external_types (task_type.hpp) with a sandbox of the caller's choosing; the two-argument
// form uses a BubblewrapSandbox. Manifests are read in file-name order.
void add_external_types(TaskCatalog& catalog, const std::string& dir,
                        std::shared_ptr<Sandbox> sandbox);

}  // namespace isla::tasks
