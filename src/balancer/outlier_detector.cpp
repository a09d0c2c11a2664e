#include "balancer/outlier_detector.hpp"

#include <algorithm>
#include <stdexcept>

namespace isla::balancer {

namespace {

void validate(const OutlierOptions& options) {
  if (options.consecutive_errors < 1 || options.consecutive_gateway_failures < 1) {
    throw std::invalid_argument("outlier detection: the failure thresholds must be at least 1");
  }
  using std::chrono::milliseconds;
  if (options.base_ejection_time <= milliseconds::zero() ||
      options.max_ejection_time < options.base_ejection_time ||
      options.forgive_after <= milliseconds::zero()) {
    throw std::invalid_argument(
        "outlier detection: times must be positive, the maximum ejection at least the base");
  }
  if (options.max_ejection_percent < 0 || options.max_ejection_percent > 100) {
    throw std::invalid_argument("outlier detection: max_ejection_percent must be 0 to 100");
  }
}

}  // namespace

OutlierDetector::OutlierDetector(BackendSet& backends, OutlierOptions options)
    : backends_(backends), options_(options) {
  validate(options_);
}

std::optional<Ejection> OutlierDetector::record(BackendId id, Outcome outcome,
                                                core::SteadyTime now) {
  if (!backends_.find(id)) return std::nullopt;
  Record& record = records_[id];
  if (record.ejected) return std::nullopt;
  if (outcome == Outcome::success) {
    record.errors = 0;
    record.gateway_failures = 0;
    return std::nullopt;
  }
  ++record.errors;
  record.gateway_failures = outcome == Outcome::gateway_failure ? record.gateway_failures + 1 : 0;
  if (!over_threshold(record) || !may_eject_another()) return std::nullopt;
  return eject(id, record, now);
}

std::vector<BackendId> OutlierDetector::tick(core::SteadyTime now) {
  std::erase_if(records_, [this](const auto& entry) { return !backends_.find(entry.first); });
  std::vector<BackendId> returned;
  for (auto& [id, record] : records_) {
    if (!record.ejected || record.ejected_until > now) continue;
    record = Record{.times_ejected = record.times_ejected, .returned_at = now};
    backends_.set_ejected(id, false);
    returned.push_back(id);
  }
  std::ranges::sort(returned);
  return returned;
}

std::optional<core::SteadyTime> OutlierDetector::next_return() const {
  std::optional<core::SteadyTime> earliest;
  for (const auto& [id, record] : records_) {
    if (record.ejected && (!earliest || record.ejected_until < *earliest)) {
      earliest = record.ejected_until;
    }
  }
  return earliest;
}

bool OutlierDetector::over_threshold(const Record& record) const {
  return record.errors >= options_.consecutive_errors ||
         record.gateway_failures >= options_.consecutive_gateway_failures;
}

bool OutlierDetector::may_eject_another() const {
  const auto ejected = std::ranges::count_if(backends_.backends(), &Backend::ejected);
  // Envoy's test: the share already ejected is below the cap (so one may go when none has).
  return ejected * 100 < static_cast<std::ptrdiff_t>(options_.max_ejection_percent) *
                             static_cast<std::ptrdiff_t>(backends_.size());
}

Ejection OutlierDetector::eject(BackendId id, Record& record, core::SteadyTime now) {
  if (record.times_ejected > 0) {
    const auto forgiven = (now - record.returned_at) / options_.forgive_after;
    record.times_ejected -= static_cast<int>(std::min<long long>(forgiven, record.times_ejected));
  }
  ++record.times_ejected;
  const auto duration =
      std::min(options_.base_ejection_time * record.times_ejected, options_.max_ejection_time);
  record.ejected = true;
  record.ejected_until = now + duration;
  record.errors = 0;
  record.gateway_failures = 0;
  backends_.set_ejected(id, true);
  return {.id = id, .until = record.ejected_until, .times = record.times_ejected};
}

}  // namespace isla::balancer
