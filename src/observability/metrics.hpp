#pragma once
// Request metrics shared by every HTTP role, on prometheus-cpp's registry and serializer.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace isla::observability {

class HttpMetrics {
 public:
  explicit HttpMetrics(prometheus::Registry& registry);

  // Counts one answered request of `route` (a fixed name such as "figure", never a raw path).
  void observe(const std::string& route, int status, double seconds);
  prometheus::Gauge& in_flight() { return *in_flight_; }
  prometheus::Gauge& stream_unsent_bytes() { return *stream_unsent_bytes_; }
  // Brings the connection series up to the server's own counts, read at scrape time.
  void set_connections(std::size_t open, std::uint64_t refused_listener,
                       std::uint64_t refused_source);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Gauge* in_flight_;
  prometheus::Gauge* stream_unsent_bytes_;
  prometheus::Gauge* connections_open_;
  prometheus::Counter* refused_listener_;
  prometheus::Counter* refused_source_;
  std::uint64_t id_ = 0;
  std::mutex mutex_;
  std::map<std::pair<std::string, int>, prometheus::Counter*> counters_;
  std::map<std::string, prometheus::Histogram*> histograms_;
};

// The text exposition format of everything in `registry`.
std::string render(const prometheus::Registry& registry);

}  // namespace isla::observability
