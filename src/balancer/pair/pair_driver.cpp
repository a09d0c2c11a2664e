#include "balancer/pair/pair_driver.hpp"

#include "durability/posix_file_system.hpp"
#include "net/udp_endpoint.hpp"

namespace isla::balancer::pair {

struct PairDriver::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& context, PairOptions options, ServiceAddress& address, AddressLease* lease,
       PairEvents events)
      : context(context),
        udp(context, options.heartbeat),
        terms(fs, options.term_file),
        peer(options.peer),
        tick_interval(options.tick_interval),
        timer(context),
        node(
            options, address, terms, core::SteadyClock::instance(),
            [] { return static_cast<std::uint64_t>(core::wall_clock_ms()); },
            [this](std::string datagram) { udp.send(peer, std::move(datagram)); },
            lease ? &lease_proxy : nullptr, std::move(events)),
        lease_proxy(lease, this) {}

  // Lease answers come back on the io_context, never inside hold() or probe(): the node is
  // not re-entrant.
  struct LeaseProxy final : AddressLease {
    LeaseProxy(AddressLease* inner, Impl* owner) : inner(inner), owner(owner) {}
    void hold(election::Term term, std::function<void(LeaseVerdict)> done) override {
      inner->hold(term, on_strand(std::move(done)));
    }
    void probe(std::function<void(bool)> done) override {
      inner->probe(on_strand(std::move(done)));
    }
    void release() override { inner->release(); }
    std::chrono::milliseconds ttl() const override { return inner->ttl(); }

    // `done`, run later on the io_context under the node's lock, and the status published.
    template <class Answer>
    std::function<void(Answer)> on_strand(std::function<void(Answer)> done) {
      std::weak_ptr<Impl> weak = owner->weak_from_this();
      return [weak, done = std::move(done)](Answer answer) {
        auto self = weak.lock();
        if (!self) return;
        asio::post(self->context, [self, done, answer] {
          std::lock_guard lock(self->mutex);
          done(answer);
          self->publish();
        });
      };
    }

    AddressLease* inner;
    Impl* owner;
  };

  void publish() { snapshot = node.status(); }

  void schedule() {
    timer.expires_after(tick_interval);
    timer.async_wait([weak = weak_from_this()](boost::system::error_code error) {
      auto self = weak.lock();
      if (!self || error) return;
      {
        std::lock_guard lock(self->mutex);
        if (self->stopped) return;
        self->node.tick();
        self->publish();
      }
      self->schedule();
    });
  }

  asio::io_context& context;
  durability::PosixFileSystem fs;
  net::UdpEndpoint udp;
  TermFile terms;
  core::Endpoint peer;
  std::chrono::milliseconds tick_interval;
  asio::steady_timer timer;
  mutable std::mutex mutex;
  PairNode node;
  LeaseProxy lease_proxy;
  PairStatus snapshot;
  bool stopped = false;
};

PairDriver::PairDriver(asio::io_context& context, PairOptions options, ServiceAddress& address,
                       AddressLease* lease, PairEvents events)
    : impl_(
          std::make_shared<Impl>(context, std::move(options), address, lease, std::move(events))) {}

PairDriver::~PairDriver() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopped = true;
  }
  // The timer belongs to the context's thread, which may be re-arming it right now: cancel
  // it there (ThreadSanitizer saw the cancel from here race with schedule()).
  asio::post(impl_->context, [impl = impl_] { impl->timer.cancel(); });
  impl_->udp.close();
}

void PairDriver::start() {
  std::weak_ptr<Impl> weak = impl_;
  impl_->udp.start([weak](std::string_view datagram, const core::Endpoint&) {
    auto self = weak.lock();
    if (!self) return;
    std::lock_guard lock(self->mutex);
    if (self->stopped) return;
    self->node.on_datagram(datagram);
    self->publish();
  });
  {
    std::lock_guard lock(impl_->mutex);
    impl_->node.start();
    impl_->publish();
  }
  impl_->schedule();
}

void PairDriver::stop() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopped) return;
  impl_->node.stop();
  impl_->publish();
  impl_->stopped = true;
  impl_->timer.cancel();
}

PairStatus PairDriver::status() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->snapshot;
}

}  // namespace isla::balancer::pair
