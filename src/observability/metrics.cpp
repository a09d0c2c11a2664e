#include "observability/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace isla::observability {

namespace {

const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};

}  // namespace

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("isla_http_requests_total")
                    .Help("HTTP requests answered, by route and status code")
                    .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("isla_http_request_duration_seconds")
                   .Help("Time from reading a request to having its response, by route")
                   .Register(registry)),
      in_flight_(&prometheus::BuildGauge()
                      .Name("isla_http_requests_in_flight")
                      .Help("Requests being handled right now")
                      .Register(registry)
                      .Add({})),
      stream_unsent_bytes_(&prometheus::BuildGauge()
                                .Name("isla_http_stream_unsent_bytes")
                                .Help("Bytes of streamed answers (store watches) waiting for "
                                      "their clients to take them")
                                .Register(registry)
                                .Add({})),
      connections_open_(&prometheus::BuildGauge()
                             .Name("isla_http_connections_open")
                             .Help("HTTP connections open right now")
                             .Register(registry)
                             .Add({})) {
  auto& refused = prometheus::BuildCounter()
                      .Name("isla_http_connections_refused_total")
                      .Help(
                          "Connections closed at accept because a cap was reached: reason "
                          "listener (max connections) or source (max per source address)")
                      .Register(registry);
  refused_listener_ = &refused.Add({{"reason", "listener"}});
  refused_source_ = &refused.Add({{"reason", "source"}});
  static std::atomic<std::uint64_t> next_id{1};
  id_ = next_id++;
}

void HttpMetrics::observe(const std::string& route, int status, double seconds) {
  // The hot path: a per-thread cache of the few (route, status) pairs a server answers,
  // so a request takes no lock and allocates nothing here.
  struct Cached {
    std::uint64_t owner;  // an id, never reused, unlike an address
    int status;
    std::string route;
    prometheus::Counter* counter;
    prometheus::Histogram* histogram;
  };
  thread_local std::vector<Cached> cache;
  for (const auto& entry : cache) {
    if (entry.owner == id_ && entry.status == status && entry.route == route) {
      entry.counter->Increment();
      entry.histogram->Observe(seconds);
      return;
    }
  }
  prometheus::Counter* counter = nullptr;
  prometheus::Histogram* histogram = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto& slot = counters_[{route, status}];
    if (slot == nullptr) {
      slot = &requests_.Add({{"route", route}, {"code", std::to_string(status)}});
    }
    counter = slot;
    auto& latency = histograms_[route];
    if (latency == nullptr) latency = &latency_.Add({{"route", route}}, kLatencyBuckets);
    histogram = latency;
  }
  if (cache.size() < 64) cache.push_back({id_, status, route, counter, histogram});
  counter->Increment();
  histogram->Observe(seconds);
}

void HttpMetrics::set_connections(std::size_t open, std::uint64_t refused_listener,
                                  std::uint64_t refused_source) {
  connections_open_->Set(static_cast<double>(open));
  // Counters only go up; the server's totals do too, so add what is new since the last scrape.
  std::lock_guard lock(mutex_);  // two scrapes at once must not both add the difference
  const auto catch_up = [](prometheus::Counter& counter, std::uint64_t total) {
    const double now = static_cast<double>(total);
    if (now > counter.Value()) counter.Increment(now - counter.Value());
  };
  catch_up(*refused_listener_, refused_listener);
  catch_up(*refused_source_, refused_source);
}

std::string render(const prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace isla::observability
