#pragma once
// A real island for integration tests: the isla binary started as a gateway and piece
// servers on loopback addresses no other test uses, with logs kept for failure reports.
#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/child_process.hpp"
#include "core/endpoint.hpp"
#include "net/http_client.hpp"
#include "security/token.hpp"

namespace isla::testing {

std::filesystem::path source_dir();
// A 127.A.B prefix that no other test in any process uses.
std::string unique_subnet();
std::filesystem::path catalog_dir();

class Island {
 public:
  Island();
  ~Island();

  // Starts the gateway; extra flags are appended to its command line.
  void start_gateway(const std::vector<std::string>& extra = {});
  // Starts `count` gateways as one island: they are the island store's voters, and so each
  // other's membership seeds. Gateway 0 is gateway(), the one piece servers report to.
  void start_gateways(int count, const std::vector<std::string>& extra = {});
  // Starts piece server `index` (0-based) holding `figures`; returns its address.
  core::Endpoint start_pieces(int index, const std::vector<std::string>& figures,
                              const std::vector<std::string>& extra = {});
  // Starts task worker `index` (`isla worker --id worker-INDEX`) leasing from gateways
  // 0..gateway_count-1.
  core::ChildProcess& start_worker(int index, int gateway_count, int concurrency,
                                   const std::vector<std::string>& extra = {});
  core::ChildProcess& worker_process(int index) { return workers_.at(index); }
  std::string worker_log(int index) const;
  // Piece servers started from now on announce to gateways 0..count-1, not only gateway 0
  // (as `isla up` starts them), so that every gateway knows the island's figures.
  void announce_pieces_to(int count);
  // Waits until the gateway routes to `count` piece servers; fails the test otherwise.
  void wait_for_servers(std::size_t count);

  core::Endpoint gateway() const { return gateway_; }
  core::Endpoint gateway(int index) const;
  core::Endpoint pieces_address(int index) const;
  core::ChildProcess& gateway_process(int index = 0) { return gateways_.at(index); }
  core::ChildProcess& pieces_process(int index) { return pieces_.at(index); }
  std::string gateway_log(int index = 0) const;
  std::string pieces_log(int index) const;
  std::filesystem::path dir() const { return dir_; }
  // The island secret its nodes get (--secret-file) unless a test passes its own.
  std::filesystem::path secret_file() const { return dir_ / "secret"; }
  // A token of `role` for this island, valid for an hour.
  std::string token(security::Role role) const;

  // Requests of the helpers (get, get_json, waiting for the gateway) use these: TLS to an
  // island started with --tls-dir.
  void set_client_options(net::HttpClientOptions options) { client_ = std::move(options); }

  net::ClientResult get(const std::string& target,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;
  boost::json::value get_json(const std::string& target) const;
  // Addresses in the gateway's /api/status piece_servers list.
  std::vector<std::string> listed_servers() const;

 private:
  std::string subnet_;  // "127.A.B"
  std::filesystem::path dir_;
  core::Endpoint gateway_;
  std::string pieces_gateways_;  // --gateway of piece servers; empty: gateway 0
  void start_gateway_process(int index, std::vector<std::string> extra);
  std::string gateway_name(int index) const;

  std::map<int, core::ChildProcess> gateways_;
  std::map<int, core::ChildProcess> pieces_;
  std::map<int, core::ChildProcess> workers_;
  net::HttpClientOptions client_;
};

std::string read_file(const std::filesystem::path& path);

}  // namespace isla::testing
