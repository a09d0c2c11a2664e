#pragma once
// AddressLease on the island store (store::Store: the embedded Raft store, or any other
// backend). The key (e.g. "_isla/balancer/vip/10.77.3.100:80") holds "<term, 16 hex digits>
// <holder>" and is attached to a store lease of `ttl`, so it disappears when its holder stops
// renewing. A member takes the key only when it is absent (created with a compare on
// create_revision 0) or already its own (compare-and-swap on mod_revision): while another
// member's key lives, that member is alive and renewing, and it keeps the address even if
// the pair cannot hear each other. The store, not the members' clocks, decides.
#include <chrono>
#include <memory>
#include <string>

#include "balancer/pair/address_lease.hpp"
#include "net/asio.hpp"
#include "store/store.hpp"

namespace isla::balancer::pair {

struct StoreLeaseOptions {
  std::string key;     // e.g. "_isla/balancer/vip/" + the service address
  std::string holder;  // this member's --heartbeat address
  std::chrono::milliseconds ttl{3000};
  std::chrono::milliseconds request_timeout{1000};
};

// "<term as 16 hex digits> <holder>": fixed-width hex so that values order as terms do.
std::string lease_value(election::Term term, const std::string& holder);
// The term in a stored value, or nullopt for a value this code did not write.
std::optional<election::Term> term_of_lease_value(std::string_view value);
std::string_view holder_of_lease_value(std::string_view value);

class StoreAddressLease final : public AddressLease {
 public:
  // `store` must outlive this object and every hold() in flight.
  StoreAddressLease(asio::any_io_executor executor, store::Store& store, StoreLeaseOptions options);

  void hold(election::Term term, std::function<void(LeaseVerdict)> done) override;
  void release() override;
  void probe(std::function<void(bool reachable)> done) override;
  std::chrono::milliseconds ttl() const override { return options_.ttl; }

 private:
  struct State;
  static asio::awaitable<LeaseVerdict> take(std::shared_ptr<State> state, election::Term term);
  static asio::awaitable<void> give_up(std::shared_ptr<State> state);
  static asio::awaitable<bool> reach(std::shared_ptr<State> state);
  static asio::awaitable<store::StoreResult<store::RangeResult>> read_key(
      std::shared_ptr<State> state, store::Deadline deadline);

  asio::any_io_executor executor_;
  StoreLeaseOptions options_;
  std::shared_ptr<State> state_;
};

}  // namespace isla::balancer::pair
