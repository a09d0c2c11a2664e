#pragma once
// The pair's state in the balancer's /metrics, from its status (PairDriver::status()), brought
// up to date at scrape time:
//   isla_balancer_pair_role{role="starting|standby|taking_over|active"}  1 for the current one
//   isla_balancer_pair_holds_address        1 while this member holds the service address
//   isla_balancer_pair_peer_alive           1 while the peer's datagrams arrive
//   isla_balancer_pair_term_round           the election round of the term known
//   isla_balancer_pair_takeovers_total      claims of the address
//   isla_balancer_pair_releases_total       releases of it
//   isla_balancer_pair_datagrams_total{direction="sent|received"}
//   isla_balancer_pair_dropped_total{reason}  datagrams dropped (bad_signature, replayed, …)
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>

#include "balancer/pair/pair_status.hpp"

namespace isla::balancer::pair {

class PairMetrics {
 public:
  explicit PairMetrics(prometheus::Registry& registry);
  // Callable from any thread (the scraping one).
  void update(const PairStatus& status);

 private:
  void advance(prometheus::Counter& counter, std::uint64_t& seen, std::uint64_t now);

  std::mutex mutex_;
  prometheus::Family<prometheus::Gauge>& role_;
  std::map<PairRole, prometheus::Gauge*> roles_;
  prometheus::Gauge& holds_;
  prometheus::Gauge& peer_alive_;
  prometheus::Gauge& round_;
  prometheus::Counter& takeovers_;
  prometheus::Counter& releases_;
  prometheus::Counter& sent_;
  prometheus::Counter& received_;
  prometheus::Family<prometheus::Counter>& dropped_;
  std::map<std::string, std::pair<prometheus::Counter*, std::uint64_t>> dropped_seen_;
  std::uint64_t takeovers_seen_ = 0, releases_seen_ = 0, sent_seen_ = 0, received_seen_ = 0;
};

}  // namespace isla::balancer::pair
