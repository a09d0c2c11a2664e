#pragma once
// Node addresses may be host names as well as IP literals: a Kubernetes gateway listens as
// its pod's stable name (isla-gateway-0.isla-gateway.NS.svc.cluster.local:5235), which is
// also its identity in the store and in datagrams, because its IP changes when the pod is
// rescheduled and its name does not.
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/endpoint.hpp"
#include "net/asio.hpp"

namespace isla::net {

// The address to bind for `host`: the literal itself, or what the name resolves to now (an
// IPv4 address first; blocking, so for start-up only). Throws std::runtime_error naming the
// host when it is neither.
asio::ip::address bind_address(const std::string& host);

// What names resolved to, both ways, for a while (thread-safe). Sends to a name use it; a
// datagram from an address a known name resolved to is reported as coming from that name,
// so that the checks comparing a datagram's claimed node with its sender (forged_source)
// hold for named nodes as they do for IP literals.
class NameCache {
 public:
  explicit NameCache(std::chrono::seconds ttl = std::chrono::seconds(30)) : ttl_(ttl) {}

  std::optional<asio::ip::address> address_of(const std::string& name) const;
  void remember(const std::string& name, const asio::ip::address& address);
  // `sender` under the name of its address and port, when a fresh entry has one.
  core::Endpoint name_of(const core::Endpoint& sender) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    asio::ip::address address;
    Clock::time_point expires;
  };
  const std::chrono::seconds ttl_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> by_name_;
  std::map<std::string, std::pair<std::string, Clock::time_point>> by_address_;  // ip -> name
};

}  // namespace isla::net
