#pragma once
// The seam between the pair's election and whatever "owning the service address" means: the
// active member claims it with the term it leads, and releases it before anything else when
// it steps down. Calls come from the pair's strand, one at a time; both are idempotent.
//
// Implementations: ListenerAddress (loopback: the proxy binds or closes VIP:PORT),
// InterfaceAddress (network namespaces, hosts: `ip addr add` the VIP and announce it with
// gratuitous ARP), and the tests' recording fake.
#include <functional>
#include <string>

#include "election/term.hpp"

namespace isla::balancer::pair {

class ServiceAddress {
 public:
  virtual ~ServiceAddress() = default;
  // Takes the address for `term`. Returns false when it could not (the pair retries on its
  // next tick); a failure must leave the address not held.
  virtual bool claim(election::Term term) = 0;
  // Lets go of the address; also called once at start, to drop a stale one left by a crash.
  virtual void release() = 0;
  // What it is, for logs and status ("10.77.3.100/24 on eth0").
  virtual std::string describe() const = 0;
};

// The proxy owns the listening socket: serve(true) binds VIP:PORT and accepts, serve(false)
// closes it. The hook runs on the pair's strand and should not block for long; an exception
// from serve(true) counts as a failed claim.
class ListenerAddress final : public ServiceAddress {
 public:
  using ServeHook = std::function<void(bool serve)>;
  explicit ListenerAddress(ServeHook serve, std::string what = "listener")
      : serve_(std::move(serve)), what_(std::move(what)) {}

  bool claim(election::Term) override {
    try {
      serve_(true);
      return true;
    } catch (...) {
      release();
      return false;
    }
  }
  void release() override { serve_(false); }
  std::string describe() const override { return what_; }

 private:
  ServeHook serve_;
  std::string what_;
};

}  // namespace isla::balancer::pair
