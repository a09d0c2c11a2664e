#include "support/island.hpp"

#include "security/guard.hpp"
#include "security/island_secret.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "support/raw_http.hpp"

namespace isla::testing {

// Each island gets its own 127.A.B.0/24 from the process id and a counter, so tests run
// in parallel (ctest -j) never share an address, and none uses the defaults of `isla up`.
std::string unique_subnet() {
  static std::atomic<int> counter{0};
  const int pid = static_cast<int>(::getpid());
  const int a = 100 + pid % 100;
  const int b = (pid / 100 * 7 + counter++) % 250 + 1;
  return "127." + std::to_string(a) + "." + std::to_string(b);
}

std::filesystem::path source_dir() {
  return ISLA_SOURCE_DIR;
}
std::filesystem::path catalog_dir() {
  return source_dir() / "data/figures";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

Island::Island() : subnet_(unique_subnet()) {
  dir_ = std::filesystem::temp_directory_path() /
         ("isla-test-" + std::to_string(::getpid()) + "-" + subnet_);
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  gateway_ = gateway(0);
  // Secure by default, as `isla up` is: every test island signs what its nodes send.
  security::create_secret_file(secret_file());
}

namespace {

// The island's secret file goes on a command line unless the test gives a secret itself
// (or a config file, which may).
void add_secret(std::vector<std::string>& argv, const std::vector<std::string>& extra,
                const std::filesystem::path& secret_file) {
  for (const auto& flag : extra) {
    if (flag == "--secret" || flag == "--secret-file" || flag == "--config") return;
  }
  argv.insert(argv.end(), {"--secret-file", secret_file.string()});
}

}  // namespace

Island::~Island() {
  if (::testing::Test::HasFailure()) {
    for (const auto& [index, process] : gateways_) {
      std::cerr << "---- " << gateway_name(index) << " log ----\n" << gateway_log(index);
    }
    for (const auto& [index, process] : pieces_) {
      std::cerr << "---- pieces " << index << " log ----\n" << pieces_log(index);
    }
  }
  pieces_.clear();
  gateways_.clear();
  std::filesystem::remove_all(dir_);
}

void Island::start_gateway(const std::vector<std::string>& extra) {
  start_gateway_process(0, extra);
}

void Island::start_gateways(int count, const std::vector<std::string>& extra) {
  std::string voters;
  for (int index = 0; index < count; ++index) {
    voters += (voters.empty() ? "" : ",") + gateway(index).str();
  }
  for (int index = 0; index < count; ++index) {
    auto flags = extra;
    flags.insert(flags.end(), {"--store-voters", voters});
    start_gateway_process(index, std::move(flags));
  }
}

// Gateway 0 keeps the names a one-gateway island has always used.
std::string Island::gateway_name(int index) const {
  return index == 0 ? "gateway" : "gateway-" + std::to_string(index);
}

core::Endpoint Island::gateway(int index) const {
  return {subnet_ + "." + std::to_string(1 + index), 5235};
}

void Island::start_gateway_process(int index, std::vector<std::string> extra) {
  const auto address = gateway(index);
  std::vector<std::string> argv = {ISLA_BINARY,  "gateway",
                                   "--listen",   address.str(),
                                   "--data-dir", (dir_ / gateway_name(index)).string()};
  add_secret(argv, extra, secret_file());
  argv.insert(argv.end(), extra.begin(), extra.end());
  gateways_.erase(index);
  gateways_.emplace(
      index, core::ChildProcess::spawn(argv, (dir_ / (gateway_name(index) + ".log")).string()));
  net::HttpRequest request;
  request.target = "/api/status";
  ASSERT_TRUE(eventually(
      [&] { return net::fetch(address, request, std::chrono::milliseconds(200), client_).ok(); },
      std::chrono::seconds(10)))
      << gateway_name(index) << " did not start:\n"
      << gateway_log(index);
}

core::ChildProcess& Island::start_worker(int index, int gateway_count, int concurrency,
                                         const std::vector<std::string>& extra) {
  std::string gateways;
  for (int g = 0; g < gateway_count; ++g) {
    gateways += (gateways.empty() ? "" : ",") + gateway(g).str();
  }
  std::vector<std::string> argv = {ISLA_BINARY,     "worker",
                                   "--gateway",     gateways,
                                   "--id",          "worker-" + std::to_string(index),
                                   "--concurrency", std::to_string(concurrency)};
  add_secret(argv, extra, secret_file());
  argv.insert(argv.end(), extra.begin(), extra.end());
  workers_.erase(index);
  auto log = (dir_ / ("worker-" + std::to_string(index) + ".log")).string();
  return workers_.emplace(index, core::ChildProcess::spawn(argv, log)).first->second;
}

std::string Island::worker_log(int index) const {
  return read_file(dir_ / ("worker-" + std::to_string(index) + ".log"));
}

std::string Island::token(security::Role role) const {
  const auto now = security::wall_clock_ms();
  return security::mint_token(
      security::derive_key(security::load_secret_file(secret_file()), "token"),
      {"tests", role, now, now + 3'600'000,
       "island-test-" + std::string(security::to_string(role))});
}

core::Endpoint Island::pieces_address(int index) const {
  return {subnet_ + "." + std::to_string(11 + index), 1233};
}

core::Endpoint Island::start_pieces(int index, const std::vector<std::string>& figures,
                                    const std::vector<std::string>& extra) {
  std::string list;
  for (const auto& figure : figures) list += (list.empty() ? "" : ",") + figure;
  const auto address = pieces_address(index);
  std::vector<std::string> argv = {
      ISLA_BINARY,  "pieces",
      "--listen",   address.str(),
      "--gateway",  pieces_gateways_.empty() ? gateway_.str() : pieces_gateways_,
      "--catalog",  catalog_dir().string(),
      "--data-dir", (dir_ / ("pieces-" + std::to_string(index))).string()};
  // None: a partitioned piece server (--partitioned in `extra`) holds what it is assigned.
  if (!list.empty()) argv.insert(argv.end(), {"--figures", list});
  add_secret(argv, extra, secret_file());
  argv.insert(argv.end(), extra.begin(), extra.end());
  pieces_.erase(index);
  pieces_.emplace(index, core::ChildProcess::spawn(
                             argv, (dir_ / ("pieces-" + std::to_string(index) + ".log")).string()));
  return address;
}

void Island::announce_pieces_to(int count) {
  pieces_gateways_.clear();
  for (int index = 0; index < count; ++index) {
    pieces_gateways_ += (pieces_gateways_.empty() ? "" : ",") + gateway(index).str();
  }
}

void Island::wait_for_servers(std::size_t count) {
  ASSERT_TRUE(
      eventually([&] { return listed_servers().size() == count; }, std::chrono::seconds(10)))
      << "gateway lists " << listed_servers().size() << " piece servers, expected " << count;
}

std::string Island::gateway_log(int index) const {
  return read_file(dir_ / (gateway_name(index) + ".log"));
}
std::string Island::pieces_log(int index) const {
  return read_file(dir_ / ("pieces-" + std::to_string(index) + ".log"));
}

net::ClientResult Island::get(const std::string& target, std::chrono::milliseconds timeout) const {
  net::HttpRequest request;
  request.target = target;
  return net::fetch(gateway_, request, timeout, client_);
}

boost::json::value Island::get_json(const std::string& target) const {
  auto result = get(target);
  if (!result.ok()) return nullptr;
  boost::system::error_code error;
  auto value = boost::json::parse(result.response->body, error);
  return error ? boost::json::value() : value;
}

std::vector<std::string> Island::listed_servers() const {
  std::vector<std::string> out;
  auto status = get_json("/api/status");
  if (!status.is_object()) return out;
  const auto* servers = status.as_object().if_contains("piece_servers");
  if (servers == nullptr || !servers->is_array()) return out;
  for (const auto& server : servers->as_array()) {
    out.emplace_back(server.at("address").as_string());
  }
  return out;
}

}  // namespace isla::testing
