#include "chaos/two_islands.hpp"

#include <fstream>
#include <sstream>

#include "security/island_secret.hpp"
#include "support/island.hpp"
#include "support/metrics_text.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t kGatewayPort = 5235;
constexpr std::uint16_t kPiecesPort = 1233;
constexpr auto kStartTimeout = 60s;

const json::object* object_of(const json::value& value) {
  return value.is_object() ? &value.as_object() : nullptr;
}

const json::object* peer_of(const json::value& status, const std::string& address) {
  const auto* object = object_of(status);
  const auto* peers = object ? object->if_contains("peers") : nullptr;
  if (peers == nullptr || !peers->is_array()) return nullptr;
  for (const auto& peer : peers->as_array()) {
    const auto* entry = object_of(peer);
    const auto* name = entry ? entry->if_contains("address") : nullptr;
    if (name && name->is_string() && name->as_string() == address) return entry;
  }
  return nullptr;
}

std::string join(const std::vector<core::Endpoint>& endpoints) {
  std::string out;
  for (const auto& endpoint : endpoints) out += (out.empty() ? "" : ",") + endpoint.str();
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ",") + name;
  return out;
}

std::string last_lines(const std::string& text, std::size_t lines) {
  std::size_t at = text.size();
  for (std::size_t seen = 0; at > 0 && seen <= lines; --at) {
    if (text[at - 1] == '\n') ++seen;
  }
  return text.substr(at == 0 ? 0 : at + 1);
}

}  // namespace

std::optional<std::string> bridge_of(const json::value& status) {
  const auto* object = object_of(status);
  const auto* bridge = object ? object->if_contains("bridge") : nullptr;
  const auto* fields = bridge ? object_of(*bridge) : nullptr;
  const auto* leader = fields ? fields->if_contains("leader") : nullptr;
  if (leader == nullptr || !leader->is_string()) return std::nullopt;
  return std::string(leader->as_string());
}

std::optional<std::string> peer_state(const json::value& status, const std::string& address) {
  const auto* peer = peer_of(status, address);
  const auto* state = peer ? peer->if_contains("state") : nullptr;
  if (state == nullptr || !state->is_string()) return std::nullopt;
  return std::string(state->as_string());
}

std::optional<std::uint64_t> peer_incarnation(const json::value& status,
                                              const std::string& address) {
  const auto* peer = peer_of(status, address);
  const auto* incarnation = peer ? peer->if_contains("incarnation") : nullptr;
  if (incarnation == nullptr || !incarnation->is_number()) return std::nullopt;
  return incarnation->to_number<std::uint64_t>();
}

std::unique_ptr<TwoIslands> TwoIslands::start(TwoIslandsOptions options, std::string& why_not) {
  auto bed = Testbed::create(kIslands, kGateways + kPieceServers, why_not);
  if (!bed) return nullptr;
  std::unique_ptr<TwoIslands> islands(new TwoIslands(std::move(*bed), std::move(options)));
  for (int island = 0; island < kIslands; ++island) {
    for (int index = 0; index < kGateways; ++index) islands->start_gateway(island, index);
    for (int index = 0; index < kPieceServers; ++index) islands->start_pieces(island, index);
  }
  if (auto settled = islands->settle(kStartTimeout); !settled) {
    throw std::runtime_error(std::string("the two islands did not settle: ") + settled.message() +
                             "\n" + islands->log_tails());
  }
  return islands;
}

TwoIslands::TwoIslands(Testbed bed, TwoIslandsOptions options)
    : bed_(std::move(bed)), options_(std::move(options)) {
  dir_ = std::filesystem::temp_directory_path() / ("isla-" + bed_->name());
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  // One secret for both islands: federated islands share it in this version.
  security::create_secret_file(dir_ / "secret");
}

TwoIslands::~TwoIslands() {
  // The nodes go before the bed and the directory they write to.
  gateways_.clear();
  pieces_.clear();
  bed_.reset();
  std::filesystem::remove_all(dir_);
}

core::Endpoint TwoIslands::gateway(int island, int index) const {
  return {gateway_host(island, index).ip, kGatewayPort};
}

std::vector<core::Endpoint> TwoIslands::gateways(int island) const {
  std::vector<core::Endpoint> out;
  for (int index = 0; index < kGateways; ++index) out.push_back(gateway(island, index));
  return out;
}

std::optional<int> TwoIslands::gateway_index(int island, const std::string& address) const {
  for (int index = 0; index < kGateways; ++index) {
    if (gateway(island, index).str() == address) return index;
  }
  return std::nullopt;
}

std::vector<std::string> TwoIslands::figures_of(int island) {
  if (island == 0) return {"giraffe", "lion", "owl"};
  return {"dragon", "robot", "rocket"};
}

std::string TwoIslands::log_of(const TestbedHost& host) const {
  return (dir_ / (host.name + ".log")).string();
}

void TwoIslands::start_gateway(int island, int index) {
  const auto& host = gateway_host(island, index);
  std::vector<std::string> argv = {ISLA_BINARY,      "gateway",
                                   "--listen",       gateway(island, index).str(),
                                   "--data-dir",     (dir_ / host.name).string(),
                                   "--secret-file",  (dir_ / "secret").string(),
                                   "--island",       bed_->island(island).letter,
                                   "--store-voters", join(gateways(island)),
                                   "--island-peers", join(gateways(1 - island)),
                                   "--threads",      "1"};
  if (auto extra = options_.gateway_flags.find({island, index});
      extra != options_.gateway_flags.end()) {
    argv.insert(argv.end(), extra->second.begin(), extra->second.end());
  }
  gateways_.erase({island, index});
  gateways_.emplace(std::pair{island, index}, bed_->spawn(host, argv, log_of(host)));
  if (!eventually([&] { return get(island, index, "/api/status", 300ms).ok(); }, 20s)) {
    throw std::runtime_error("gateway " + host.name + " did not start:\n" +
                             last_lines(read_file(log_of(host)), 40));
  }
}

void TwoIslands::start_pieces(int island, int index) {
  const auto& host = pieces_host(island, index);
  const auto all = figures_of(island);
  // Piece server k holds figures k and k+1: every figure has two replicas.
  const std::vector<std::string> held = {all[index % all.size()], all[(index + 1) % all.size()]};
  std::vector<std::string> argv = {ISLA_BINARY,     "pieces",
                                   "--listen",      host.ip + ":" + std::to_string(kPiecesPort),
                                   "--gateway",     join(gateways(island)),
                                   "--catalog",     catalog_dir().string(),
                                   "--figures",     join(held),
                                   "--data-dir",    (dir_ / host.name).string(),
                                   "--secret-file", (dir_ / "secret").string(),
                                   "--threads",     "1"};
  if (options_.response_delay.count() > 0) {
    argv.insert(argv.end(),
                {"--response-delay-ms", std::to_string(options_.response_delay.count())});
  }
  pieces_.erase({island, index});
  pieces_.emplace(std::pair{island, index}, bed_->spawn(host, argv, log_of(host)));
}

core::ChildProcess& TwoIslands::gateway_process(int island, int index) {
  return gateways_.at({island, index});
}

void TwoIslands::restore() {
  for (int island = 0; island < kIslands; ++island) {
    for (int index = 0; index < kGateways; ++index) {
      bed_->heal(gateway_host(island, index));
      if (!gateway_process(island, index).running()) start_gateway(island, index);
    }
  }
}

net::ClientResult TwoIslands::get(int island, int index, const std::string& target,
                                  std::chrono::milliseconds timeout) const {
  net::HttpRequest request;
  request.target = target;
  const auto to = gateway(island, index);
  return bed_->in_host(gateway_host(island, index),
                       [&] { return net::fetch(to, request, timeout); });
}

json::value TwoIslands::status(int island, int index) const {
  auto result = get(island, index, "/api/status");
  if (!result.ok() || result.response->status != 200) return nullptr;
  boost::system::error_code error;
  auto value = json::parse(result.response->body, error);
  return error ? json::value() : value;
}

std::optional<double> TwoIslands::metric(int island, int index, const std::string& series) const {
  auto result = get(island, index, "/metrics");
  if (!result.ok() || result.response->status != 200) return std::nullopt;
  return testing::metric(result.response->body, series);
}

std::string TwoIslands::unsettled(int island) const {
  std::optional<std::string> agreed;
  const auto other_figures = static_cast<std::int64_t>(figures_of(1 - island).size());
  for (int index = 0; index < kGateways; ++index) {
    const auto name = gateway_host(island, index).name;
    const auto status = this->status(island, index);
    if (!status.is_object()) return name + " does not answer";
    for (int peer = 0; peer < kGateways; ++peer) {
      if (peer == index) continue;
      const auto address = gateway(island, peer).str();
      const auto* entry = peer_of(status, address);
      if (peer_state(status, address) != "alive" || entry->at("draining").as_bool()) {
        return name + " does not see " + address + " alive: " + json::serialize(status.at("peers"));
      }
    }
    const auto bridge = bridge_of(status);
    if (!bridge) return name + " knows no bridge";
    if (agreed && *agreed != *bridge) return "bridges differ: " + *agreed + " and " + *bridge;
    agreed = bridge;
    std::size_t alive_servers = 0;
    for (const auto& server : status.at("piece_servers").as_array()) {
      if (server.at("state").as_string() == "alive") ++alive_servers;
    }
    if (alive_servers != kPieceServers) {
      return name + " routes to " + std::to_string(alive_servers) + " piece servers";
    }
    bool knows_other = false;
    for (const auto& remote : status.at("remote_islands").as_array()) {
      knows_other =
          knows_other || (remote.at("island").as_string() == bed_->island(1 - island).letter &&
                          remote.at("figure_count").to_number<std::int64_t>() == other_figures);
    }
    if (!knows_other) {
      return name + " does not know island " + bed_->island(1 - island).letter +
             "'s figures: " + json::serialize(status.at("remote_islands"));
    }
  }
  return {};
}

::testing::AssertionResult TwoIslands::settle(std::chrono::milliseconds timeout) {
  std::string why;
  const bool settled = eventually(
      [&] {
        why = unsettled(0);
        if (why.empty()) why = unsettled(1);
        return why.empty();
      },
      timeout);
  if (settled) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << why;
}

std::string TwoIslands::log_tails(std::size_t lines) const {
  std::ostringstream out;
  for (int island = 0; island < kIslands; ++island) {
    for (const auto& host : bed_->island(island).hosts) {
      out << "---- " << host.name << " (" << host.ip << ") ----\n"
          << last_lines(read_file(log_of(host)), lines);
    }
  }
  return out.str();
}

}  // namespace isla::testing
