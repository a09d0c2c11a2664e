// Fuzzes external task manifests (tasks/types/external_task.hpp): any text must either be
// refused with an error that names the file, or give a manifest within the bounds a manifest
// may ask for, whose schema describes itself and checks parameters without crashing.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "invariant.hpp"
#include "tasks/types/external_task.hpp"

namespace tasks = isla::tasks;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tasks::TaskManifest manifest;
  try {
    manifest = tasks::parse_task_manifest(text, "fuzz.toml", "/tasks");
  } catch (const std::runtime_error& error) {
    if (std::string_view(error.what()).substr(0, 9) != "fuzz.toml") fail("an unnamed refusal");
    return 0;
  }
  if (manifest.name.empty() || manifest.command.empty()) fail("accepted a nameless manifest");
  if (manifest.command[0].empty() || manifest.command[0][0] != '/') fail("a relative command");
  const auto& limits = manifest.limits;
  if (limits.wall.count() < 1 || limits.wall.count() > tasks::kMaxManifestWallMs) fail("wall");
  if (limits.cpu.count() < 1 || limits.cpu.count() > tasks::kMaxManifestWallMs) fail("cpu");
  if (limits.memory_bytes < (std::uint64_t{tasks::kMinManifestMemoryMb} << 20) ||
      limits.memory_bytes > (std::uint64_t{tasks::kMaxManifestMemoryMb} << 20)) {
    fail("memory");
  }
  if (limits.output_bytes < 1 ||
      limits.output_bytes > static_cast<std::uint64_t>(tasks::kMaxManifestOutputBytes)) {
    fail("output");
  }
  const auto schema = manifest.schema.to_json();
  if (schema.size() != manifest.schema.fields().size()) fail("a schema lost a field");
  // Defaults were checked against their own fields, so the defaults alone break only
  // "is required" rules.
  const auto defaults = manifest.schema.with_defaults({});
  for (const auto& error : manifest.schema.validate(defaults)) {
    if (error.rule != "is required") fail("a default breaks its own rule");
  }
  return 0;
}
