#include "tasks/autoscale/kubernetes_objects.hpp"

namespace isla::tasks::autoscale {

namespace json = boost::json;

namespace {

const json::object* object_at(const json::object& parent, std::string_view key) {
  const auto* found = parent.if_contains(key);
  return found ? found->if_object() : nullptr;
}

std::string string_at(const json::object& parent, std::string_view key) {
  const auto* found = parent.if_contains(key);
  const auto* text = found ? found->if_string() : nullptr;
  return text ? std::string(*text) : std::string();
}

}  // namespace

std::optional<Scale> scale_from_json(const json::value& value) {
  const auto* root = value.if_object();
  if (!root) return std::nullopt;
  const auto* metadata = object_at(*root, "metadata");
  const auto* spec = object_at(*root, "spec");
  if (!metadata || !spec) return std::nullopt;
  Scale scale;
  scale.name = string_at(*metadata, "name");
  scale.namespace_name = string_at(*metadata, "namespace");
  scale.resource_version = string_at(*metadata, "resourceVersion");
  if (scale.resource_version.empty()) return std::nullopt;
  // spec.replicas is left out when it is 0 (omitempty).
  if (const auto* replicas = spec->if_contains("replicas")) {
    const auto* number = replicas->if_int64();
    if (!number || *number < 0 || *number > 1'000'000) return std::nullopt;
    scale.replicas = static_cast<int>(*number);
  }
  if (const auto* status = object_at(*root, "status"))
    scale.selector = string_at(*status, "selector");
  return scale;
}

std::string scale_update_json(const Scale& scale, int replicas) {
  json::object metadata{{"name", scale.name}, {"resourceVersion", scale.resource_version}};
  if (!scale.namespace_name.empty()) metadata["namespace"] = scale.namespace_name;
  const json::object body{{"apiVersion", "autoscaling/v1"},
                          {"kind", "Scale"},
                          {"metadata", std::move(metadata)},
                          {"spec", json::object{{"replicas", replicas}}}};
  return json::serialize(body);
}

std::optional<std::vector<std::string>> live_pod_names(const json::value& value) {
  const auto* root = value.if_object();
  if (!root) return std::nullopt;
  const auto* items_value = root->if_contains("items");
  // An empty list may come as "items": null.
  if (!items_value || items_value->is_null()) return std::vector<std::string>{};
  const auto* items = items_value->if_array();
  if (!items) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& item : *items) {
    const auto* pod = item.if_object();
    const auto* metadata = pod ? object_at(*pod, "metadata") : nullptr;
    if (!metadata) return std::nullopt;
    const auto name = string_at(*metadata, "name");
    if (!valid_object_name(name)) return std::nullopt;
    if (metadata->if_contains("deletionTimestamp")) continue;
    const auto* status = object_at(*pod, "status");
    const auto phase = status ? string_at(*status, "phase") : std::string();
    if (phase == "Succeeded" || phase == "Failed") continue;
    names.push_back(name);
  }
  return names;
}

std::string deletion_cost_patch(long cost) {
  const json::object body{
      {"metadata",
       json::object{{"annotations", json::object{{"controller.kubernetes.io/pod-deletion-cost",
                                                  std::to_string(cost)}}}}}};
  return json::serialize(body);
}

bool valid_object_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  for (const char c : name) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace isla::tasks::autoscale
