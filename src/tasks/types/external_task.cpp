#include "tasks/types/external_task.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tasks/types/bubblewrap_sandbox.hpp"

namespace isla::tasks {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxNameLength = 64;

bool is_name(std::string_view text) {
  return !text.empty() && text.size() <= kMaxNameLength &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
         });
}

// Reads one manifest, remembering where it is so every error names the file, line and key.
class ManifestReader {
 public:
  ManifestReader(const std::string& source, const toml::table& root)
      : source_(source), root_(root) {}

  [[noreturn]] void fail(const toml::node* node, std::string_view key,
                         std::string_view problem) const {
    // The root table's position says nothing: a key missing from it has no line.
    const auto line = node != nullptr && node != &root_ ? node->source().begin.line : 0;
    throw std::runtime_error(fmt::format("{}{}: {}: {}", source_,
                                         line > 0 ? ":" + std::to_string(line) : std::string(), key,
                                         problem));
  }

  void only_keys(const toml::table& table, std::string_view prefix,
                 std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, node] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
        fail(&node, fmt::format("{}{}", prefix, key.str()), "is not a manifest key");
      }
    }
  }

  std::string string(const toml::table& table, std::string_view key, std::string_view path,
                     bool required, std::size_t max_length = 4096) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      if (required) fail(&table, path, "is required");
      return {};
    }
    const auto* value = node->as_string();
    if (value == nullptr || value->get().size() > max_length) {
      fail(node, path, fmt::format("must be a string of at most {} bytes", max_length));
    }
    return value->get();
  }

  std::int64_t integer(const toml::table& table, std::string_view key, std::string_view path,
                       std::int64_t fallback, std::int64_t min, std::int64_t max) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) return fallback;
    const auto* value = node->as_integer();
    if (value == nullptr || value->get() < min || value->get() > max) {
      fail(node, path, fmt::format("must be an integer in [{}, {}]", min, max));
    }
    return value->get();
  }

  std::optional<double> number(const toml::table& table, std::string_view key,
                               std::string_view path) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* value = node->as_integer()) return static_cast<double>(value->get());
    if (const auto* value = node->as_floating_point()) return value->get();
    fail(node, path, "must be a number");
  }

  json::value to_json(const toml::node& node, std::string_view path) const {
    if (const auto* value = node.as_string()) return json::value(value->get());
    if (const auto* value = node.as_integer()) return json::value(value->get());
    if (const auto* value = node.as_floating_point()) return json::value(value->get());
    if (const auto* value = node.as_boolean()) return json::value(value->get());
    if (const auto* array = node.as_array()) {
      json::array items;
      for (const auto& item : *array) {
        if (!item.is_integer() && !item.is_floating_point()) {
          fail(&item, path, "an array default must hold numbers only");
        }
        items.push_back(to_json(item, path));
      }
      return items;
    }
    fail(&node, path, "must be a string, number, boolean or array of numbers");
  }

  ParamField field(std::string_view name, const toml::node& node) const {
    const std::string path = fmt::format("params.{}", name);
    if (!is_name(name)) fail(&node, path, "a parameter name is 1-64 letters, digits, _ or -");
    const auto* table = node.as_table();
    if (table == nullptr) fail(&node, path, "must be a table ([params.NAME])");
    only_keys(
        *table, path + ".",
        {"type", "required", "min", "max", "max_length", "max_items", "default", "description"});
    ParamField field;
    field.name = std::string(name);
    const auto type_name = string(*table, "type", path + ".type", true);
    const auto type = param_type_from(type_name);
    if (!type)
      fail(table->get("type"), path + ".type", "must be string, integer, number, boolean or array");
    field.type = *type;
    if (const auto* required = table->get("required")) {
      if (!required->is_boolean()) fail(required, path + ".required", "must be true or false");
      field.required = required->as_boolean()->get();
    }
    field.min = number(*table, "min", path + ".min");
    field.max = number(*table, "max", path + ".max");
    if (table->contains("max_length")) {
      field.max_length = static_cast<std::size_t>(
          integer(*table, "max_length", path + ".max_length", 0, 0, kMaxStringBytes));
    }
    if (table->contains("max_items")) {
      field.max_items = static_cast<std::size_t>(
          integer(*table, "max_items", path + ".max_items", 0, 0, kMaxArrayItems));
    }
    if (const auto* value = table->get("default"))
      field.default_value = to_json(*value, path + ".default");
    field.description = string(*table, "description", path + ".description", false);
    return field;
  }

 private:
  const std::string& source_;
  const toml::table& root_;
};

const char* signal_name(int number) {
  const char* name = sigabbrev_np(number);
  return name != nullptr ? name : "?";
}

std::string with_stderr(std::string text, const std::string& error_tail) {
  if (error_tail.empty()) return text;
  return text + "; stderr: " + error_tail;
}

std::optional<json::value> parse_json(const std::string& text) {
  boost::system::error_code error;
  auto value = json::parse(text, error);
  if (error) return std::nullopt;
  return value;
}

}  // namespace

TaskManifest parse_task_manifest(std::string_view text, const std::string& source,
                                 const std::string& task_dir) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    const auto& where = error.source().begin;
    throw std::runtime_error(fmt::format("{}:{}:{}: not TOML: {}", source, where.line, where.column,
                                         error.description()));
  }
  const ManifestReader reader(source, table);
  reader.only_keys(table, "", {"name", "description", "command", "limits", "params"});
  TaskManifest manifest;
  manifest.task_dir = task_dir;
  manifest.name = reader.string(table, "name", "name", true, kMaxNameLength);
  if (!is_name(manifest.name)) {
    reader.fail(table.get("name"), "name", "must be 1-64 letters, digits, _ or -");
  }
  manifest.description = reader.string(table, "description", "description", false);

  const toml::node* command = table.get("command");
  if (command == nullptr) reader.fail(&table, "command", "is required");
  const auto* words = command->as_array();
  if (words == nullptr || words->empty() || words->size() > 64) {
    reader.fail(command, "command", "must be an array of 1 to 64 strings");
  }
  for (const auto& word : *words) {
    const auto* value = word.as_string();
    if (value == nullptr || value->get().empty() || value->get().size() > 4096 ||
        value->get().find('\0') != std::string::npos) {
      reader.fail(&word, "command", "must be an array of non-empty strings");
    }
    manifest.command.push_back(value->get());
  }
  if (fs::path(manifest.command[0]).is_relative()) {
    manifest.command[0] = (fs::path(task_dir) / manifest.command[0]).lexically_normal().string();
  }

  if (const auto* limits_node = table.get("limits")) {
    const auto* limits = limits_node->as_table();
    if (limits == nullptr) reader.fail(limits_node, "limits", "must be a table ([limits])");
    reader.only_keys(*limits, "limits.",
                     {"wall_ms", "cpu_ms", "memory_mb", "output_bytes", "max_running"});
    const auto wall =
        reader.integer(*limits, "wall_ms", "limits.wall_ms", 60'000, 1, kMaxManifestWallMs);
    manifest.limits.wall = std::chrono::milliseconds(wall);
    manifest.limits.cpu = std::chrono::milliseconds(
        reader.integer(*limits, "cpu_ms", "limits.cpu_ms", wall, 1, kMaxManifestWallMs));
    manifest.limits.memory_bytes =
        static_cast<std::uint64_t>(reader.integer(*limits, "memory_mb", "limits.memory_mb", 256,
                                                  kMinManifestMemoryMb, kMaxManifestMemoryMb))
        << 20;
    manifest.limits.output_bytes = static_cast<std::uint64_t>(reader.integer(
        *limits, "output_bytes", "limits.output_bytes", 1 << 20, 1, kMaxManifestOutputBytes));
    manifest.limits.max_running = static_cast<int>(
        reader.integer(*limits, "max_running", "limits.max_running", 0, 0, 100'000));
  }

  if (const auto* params_node = table.get("params")) {
    const auto* params = params_node->as_table();
    if (params == nullptr) reader.fail(params_node, "params", "must be a table ([params.NAME])");
    for (const auto& [name, node] : *params) {
      ParamField field = reader.field(name.str(), node);
      try {
        manifest.schema.add(std::move(field));
      } catch (const std::invalid_argument& error) {
        reader.fail(&node, fmt::format("params.{}", name.str()), error.what());
      }
    }
  }
  return manifest;
}

void check_command(const TaskManifest& manifest, const std::string& source) {
  const auto& program = manifest.command[0];
  std::error_code error;
  if (!fs::is_regular_file(program, error) || ::access(program.c_str(), X_OK) != 0) {
    throw std::runtime_error(
        fmt::format("{}: command: {} is not an executable file", source, program));
  }
}

TaskOutcome outcome_of(const SandboxResult& result) {
  switch (result.end) {
    case SandboxEnd::limit_cpu:
      return TaskOutcome::failure_of(FailureKind::limit_cpu, result.detail);
    case SandboxEnd::limit_memory:
      return TaskOutcome::failure_of(FailureKind::limit_memory,
                                     with_stderr(result.detail, result.error_tail));
    case SandboxEnd::limit_wall:
      return TaskOutcome::failure_of(FailureKind::limit_wall, result.detail);
    case SandboxEnd::cancelled:
      return TaskOutcome::failure_of(FailureKind::cancelled, result.detail);
    case SandboxEnd::output_too_large:
      return TaskOutcome::failure_of(FailureKind::failed, result.detail);
    case SandboxEnd::unavailable:
      return TaskOutcome::failure_of(FailureKind::failed, result.detail);
    case SandboxEnd::signalled:
      return TaskOutcome::failure_of(
          FailureKind::crashed, with_stderr(fmt::format("died of signal {} (SIG{})", result.signal,
                                                        signal_name(result.signal)),
                                            result.error_tail));
    case SandboxEnd::exited:
      break;
  }
  auto value = parse_json(result.output);
  if (result.exit_code == 0) {
    if (!value) {
      return TaskOutcome::failure_of(FailureKind::failed,
                                     with_stderr("its output is not JSON", result.error_tail));
    }
    return TaskOutcome::success(std::move(*value));
  }
  if (!value) {
    return TaskOutcome::failure_of(
        FailureKind::crashed,
        with_stderr(fmt::format("exited with code {} without a result", result.exit_code),
                    result.error_tail));
  }
  // A program that fails on purpose says why: {"error": "…"}.
  std::string why = json::serialize(*value);
  if (const auto* object = value->if_object()) {
    if (const auto* error = object->if_contains("error"); error && error->is_string()) {
      why = std::string(error->get_string());
    }
  }
  return TaskOutcome::failure_of(FailureKind::failed,
                                 fmt::format("exited with code {}: {}", result.exit_code, why));
}

std::vector<ParamError> ExternalTaskType::validate(const json::value& params) const {
  return manifest_.schema.validate(params);
}

TaskOutcome ExternalTaskType::run(const json::object& params, const RunContext& context) const {
  try {
    const auto errors = validate(params);
    if (!errors.empty())
      return TaskOutcome::failure_of(FailureKind::bad_params, errors[0].message());
    SandboxRequest request;
    request.argv = manifest_.command;
    request.read_only = {manifest_.task_dir};
    const auto program_dir = fs::path(manifest_.command[0]).parent_path().string();
    if (program_dir != manifest_.task_dir) request.read_only.push_back(program_dir);
    request.input = json::serialize(manifest_.schema.with_defaults(params));
    request.limits = manifest_.limits;
    return outcome_of(sandbox_->run(request, context));
  } catch (const std::exception& error) {
    return TaskOutcome::failure_of(FailureKind::failed, manifest_.name + ": " + error.what());
  }
}

void add_external_types(TaskCatalog& catalog, const std::string& dir,
                        std::shared_ptr<Sandbox> sandbox) {
  std::error_code error;
  const auto root = fs::canonical(dir, error);
  if (error) throw std::runtime_error(fmt::format("task directory {}: {}", dir, error.message()));
  std::vector<fs::path> manifests;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().extension() == ".toml") {
      manifests.push_back(entry.path());
    }
  }
  std::sort(manifests.begin(), manifests.end());
  for (const auto& path : manifests) {
    const std::string source = path.string();
    std::ifstream file(path, std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    if (!file) throw std::runtime_error(source + ": cannot be read");
    auto manifest = parse_task_manifest(text.str(), source, root.string());
    check_command(manifest, source);
    try {
      catalog.add(std::make_shared<ExternalTaskType>(std::move(manifest), sandbox));
    } catch (const std::invalid_argument& duplicate) {
      throw std::runtime_error(source + ": name: " + duplicate.what());
    }
  }
}

void add_external_types(TaskCatalog& catalog, const std::string& dir) {
  add_external_types(catalog, dir, std::make_shared<BubblewrapSandbox>());
}

}  // namespace isla::tasks
