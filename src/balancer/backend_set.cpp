#include "balancer/backend_set.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace isla::balancer {

namespace {

void check_weight(int weight) {
  if (weight < kMinWeight || weight > kMaxWeight) {
    throw std::invalid_argument(fmt::format("backend weight {} is out of range: give {} to {}",
                                            weight, kMinWeight, kMaxWeight));
  }
}

}  // namespace

BackendId BackendSet::add(core::Endpoint endpoint, int weight, bool up) {
  check_weight(weight);
  if (find(endpoint)) {
    throw std::invalid_argument(
        fmt::format("backend {} is already in the set: remove it first", endpoint.str()));
  }
  const BackendId id = next_id_++;
  backends_.push_back({.id = id, .endpoint = std::move(endpoint), .weight = weight, .up = up});
  ++generation_;
  return id;
}

bool BackendSet::remove(BackendId id) {
  const Backend* backend = find(id);
  if (!backend) return false;
  backends_.erase(backends_.begin() + (backend - backends_.data()));
  ++generation_;
  return true;
}

bool BackendSet::set_weight(BackendId id, int weight) {
  check_weight(weight);
  Backend* backend = find_mutable(id);
  if (!backend) return false;
  if (backend->weight != weight) {
    backend->weight = weight;
    ++generation_;
  }
  return true;
}

bool BackendSet::set_up(BackendId id, bool up) {
  Backend* backend = find_mutable(id);
  if (backend) backend->up = up;
  return backend != nullptr;
}

bool BackendSet::set_ejected(BackendId id, bool ejected) {
  Backend* backend = find_mutable(id);
  if (backend) backend->ejected = ejected;
  return backend != nullptr;
}

void BackendSet::request_started(BackendId id) {
  if (Backend* backend = find_mutable(id)) ++backend->active_requests;
}

void BackendSet::request_finished(BackendId id) {
  Backend* backend = find_mutable(id);
  if (backend && backend->active_requests > 0) --backend->active_requests;
}

const Backend* BackendSet::find(BackendId id) const {
  // Ids ascend in the vector (appended in issue order, erased in place).
  const auto it = std::ranges::lower_bound(backends_, id, {}, &Backend::id);
  return it != backends_.end() && it->id == id ? &*it : nullptr;
}

std::optional<BackendId> BackendSet::find(const core::Endpoint& endpoint) const {
  const auto it = std::ranges::find(backends_, endpoint, &Backend::endpoint);
  if (it == backends_.end()) return std::nullopt;
  return it->id;
}

std::size_t BackendSet::pickable_count() const {
  return static_cast<std::size_t>(std::ranges::count_if(backends_, &Backend::pickable));
}

std::shared_ptr<const std::vector<Backend>> BackendSet::snapshot() const {
  return std::make_shared<const std::vector<Backend>>(backends_);
}

Backend* BackendSet::find_mutable(BackendId id) {
  return const_cast<Backend*>(std::as_const(*this).find(id));
}

}  // namespace isla::balancer
