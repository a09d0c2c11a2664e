#include "net/udp_endpoint.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/ip/udp.hpp>

#include "net/host_names.hpp"

namespace isla::net {

using udp = asio::ip::udp;

struct UdpEndpoint::Impl : std::enable_shared_from_this<UdpEndpoint::Impl> {
  explicit Impl(asio::io_context& context) : socket(context) {}
  udp::socket socket;
  NameCache names;  // peers that are host names (docs/kubernetes.md)

  void send_to(std::shared_ptr<std::string> payload, const udp::endpoint& target) {
    if (!socket.is_open()) return;
    socket.async_send_to(asio::buffer(*payload), target,
                         [payload](boost::system::error_code, std::size_t) {});
  }

  // A name not resolved lately: resolved without blocking the loop, then sent to (or
  // dropped, as any undeliverable datagram is).
  asio::awaitable<void> resolve_and_send(core::Endpoint to, std::shared_ptr<std::string> payload) {
    auto self = shared_from_this();
    udp::resolver resolver(socket.get_executor());
    auto [error, results] =
        co_await resolver.async_resolve(to.host, std::to_string(to.port), use_nothrow);
    if (error || results.empty()) co_return;
    auto chosen = results.begin()->endpoint();
    for (const auto& entry : results) {
      if (entry.endpoint().address().is_v4()) {
        chosen = entry.endpoint();
        break;
      }
    }
    names.remember(to.host, chosen.address());
    send_to(std::move(payload), chosen);
  }

  asio::awaitable<void> receive_loop(Receiver receiver) {
    auto self = shared_from_this();
    std::array<char, kMaxDatagramBytes + 1> buffer{};
    udp::endpoint sender;
    for (;;) {
      auto [error, size] =
          co_await socket.async_receive_from(asio::buffer(buffer), sender, use_nothrow);
      if (error == asio::error::operation_aborted || !socket.is_open()) co_return;
      if (error) continue;  // e.g. ICMP port unreachable reported for an earlier send
      if (size > kMaxDatagramBytes) continue;
      receiver(std::string_view(buffer.data(), size),
               names.name_of(core::Endpoint{sender.address().to_string(), sender.port()}));
    }
  }
};

UdpEndpoint::UdpEndpoint(asio::io_context& context, const core::Endpoint& bind, bool share_port)
    : impl_(std::make_shared<Impl>(context)) {
  boost::system::error_code error;
  const auto address = bind_address(bind.host);
  // Our own name, if we have one, is a name our peers' datagrams may come back to.
  if (address.to_string() != bind.host) impl_->names.remember(bind.host, address);
  const udp::endpoint endpoint(address, bind.port);
  impl_->socket.open(endpoint.protocol(), error);
  if (!error && share_port) impl_->socket.set_option(udp::socket::reuse_address(true), error);
  if (!error) impl_->socket.bind(endpoint, error);
  if (error) throw std::runtime_error("cannot bind UDP " + bind.str() + ": " + error.message());
}

UdpEndpoint::~UdpEndpoint() {
  close();
}

void UdpEndpoint::start(Receiver receiver) {
  asio::co_spawn(impl_->socket.get_executor(), impl_->receive_loop(std::move(receiver)),
                 asio::detached);
}

void UdpEndpoint::send(const core::Endpoint& to, std::string datagram) {
  if (datagram.size() > kMaxDatagramBytes) {
    spdlog::warn("datagram dropped reason=too_large bytes={} to={}", datagram.size(), to.str());
    return;
  }
  boost::system::error_code error;
  auto address = asio::ip::make_address(to.host, error);
  auto impl = impl_;
  auto payload = std::make_shared<std::string>(std::move(datagram));
  if (error) {
    const auto known = impl->names.address_of(to.host);
    if (!known) {
      asio::co_spawn(impl->socket.get_executor(), impl->resolve_and_send(to, payload),
                     asio::detached);
      return;
    }
    address = *known;
  }
  asio::post(impl->socket.get_executor(),
             [impl, payload, target = udp::endpoint(address, to.port)] {
               impl->send_to(payload, target);
             });
}

void UdpEndpoint::allow_broadcast() {
  boost::system::error_code error;
  impl_->socket.set_option(asio::socket_base::broadcast(true), error);
  if (error) spdlog::warn("cannot enable UDP broadcast: {}", error.message());
}

void UdpEndpoint::close() {
  auto impl = impl_;
  asio::post(impl->socket.get_executor(), [impl] {
    boost::system::error_code ignored;
    impl->socket.close(ignored);
  });
}

}  // namespace isla::net
