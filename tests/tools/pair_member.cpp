// isla-pair-member: one member of the balancer pair with nothing but a tiny TCP responder
// behind the service address, for the chaos tests and bench/failover_vs_keepalived.sh until
// `isla balancer --heartbeat/--peer/--priority` drives the same PairDriver. Test-only: it
// answers every connection on --serve PORT with --name and a newline, then closes.
//
//   isla-pair-member --heartbeat 10.77.3.1:7946 --peer 10.77.3.2:7946 --priority 200
//       --vip 10.77.3.100 --interface eth0 --serve 8080 --name a1 --secret-file s
//       --term-file /tmp/a1.term [--owned-device isla-vip0 | --owned-device ""]
#include <CLI/CLI.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include "balancer/pair/interface_address.hpp"
#include "balancer/pair/pair_driver.hpp"
#include "core/logging.hpp"

using namespace isla;
using boost::asio::ip::tcp;

namespace {

asio::awaitable<void> answer(tcp::socket socket, std::string text) {
  co_await boost::asio::async_write(socket, boost::asio::buffer(text), net::use_nothrow);
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> serve(tcp::acceptor& acceptor, std::string text) {
  for (;;) {
    auto [error, socket] = co_await acceptor.async_accept(net::use_nothrow);
    if (error) co_return;
    asio::co_spawn(acceptor.get_executor(), answer(std::move(socket), text), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"isla-pair-member: a balancer pair member with a tiny responder (tests)"};
  std::string heartbeat, peer, vip, interface, name = "member", secret, secret_file, term_file;
  std::string owned_device = "isla-vip0";
  std::string status_file;
  std::uint32_t priority = 100;
  int prefix = 24;
  long heartbeat_ms = 100;
  long peer_timeout_ms = 200;
  std::uint16_t port = 8080;
  app.add_option("--heartbeat", heartbeat, "own HOST:PORT for the pair's datagrams")->required();
  app.add_option("--peer", peer, "the other member's HOST:PORT")->required();
  app.add_option("--priority", priority, "the higher leads");
  app.add_option("--heartbeat-interval-ms", heartbeat_ms);
  app.add_option("--peer-timeout-ms", peer_timeout_ms);
  app.add_option("--vip", vip, "the service address")->required();
  app.add_option("--prefix", prefix, "prefix length when the VIP goes on --interface");
  app.add_option("--interface", interface, "where the neighbours are (ARP)")->required();
  app.add_option("--owned-device", owned_device,
                 "TUN device holding the VIP, gone with the process; empty: on --interface");
  app.add_option("--serve", port, "TCP port of the responder (bound on every address)");
  app.add_option("--name", name, "what the responder answers");
  app.add_option("--secret", secret, "island secret (tests only; prefer --secret-file)");
  app.add_option("--secret-file", secret_file);
  app.add_option("--term-file", term_file);
  app.add_option("--status-file", status_file, "status JSON written on every role change");
  CLI11_PARSE(app, argc, argv);

  if (!secret_file.empty()) {
    std::ifstream in(secret_file);
    std::stringstream text;
    text << in.rdbuf();
    secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  }
  const auto heartbeat_endpoint = core::parse_endpoint(heartbeat);
  const auto peer_endpoint = core::parse_endpoint(peer);
  if (!heartbeat_endpoint || !peer_endpoint) {
    std::cerr << "--heartbeat and --peer take HOST:PORT\n";
    return 2;
  }

  balancer::pair::PairOptions options;
  options.heartbeat = *heartbeat_endpoint;
  options.peer = *peer_endpoint;
  options.priority = priority;
  options.heartbeat_interval = std::chrono::milliseconds(heartbeat_ms);
  options.peer_timeout = std::chrono::milliseconds(peer_timeout_ms);
  options.secret = secret;
  options.term_file = term_file;

  balancer::pair::InterfaceAddressOptions address_options;
  address_options.address = vip;
  address_options.prefix_length = prefix;
  address_options.interface = interface;
  address_options.owned_device = owned_device;
  balancer::pair::InterfaceAddress address(address_options);

  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(tcp::v4(), port), /*reuse_address=*/true);
  asio::co_spawn(context, serve(acceptor, name + "\n"), asio::detached);

  std::unique_ptr<balancer::pair::PairDriver> driver;
  const auto write_status = [&] {
    if (status_file.empty() || !driver) return;
    asio::post(context, [&] {
      std::ofstream(status_file + ".tmp")
          << boost::json::serialize(balancer::pair::to_json(driver->status())) << "\n";
      std::rename((status_file + ".tmp").c_str(), status_file.c_str());
    });
  };
  balancer::pair::PairEvents events;
  events.on_active = [&](election::Term term) {
    std::cerr << "pair: active term " << term << "\n";
    write_status();
  };
  events.on_standby = [&](election::Term term, std::optional<std::string> leader) {
    std::cerr << "pair: standby term " << term << " leader " << leader.value_or("-") << "\n";
    write_status();
  };
  driver = std::make_unique<balancer::pair::PairDriver>(context, options, address, nullptr, events);
  driver->start();

  boost::asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    driver->stop();
    acceptor.close();
    context.stop();
  });
  context.run();
  return 0;
}
