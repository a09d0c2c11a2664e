// A real island over TLS: certificates from `isla certs init`, HTTPS on every listener,
// gateway -> piece server and gateway -> gateway calls verified against the island CA.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "core/child_process.hpp"
#include "net/tls.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// `isla certs init` for `hosts` into `dir`; fails the test if it does not succeed.
void certs_init(const fs::path& dir, const std::vector<std::string>& hosts) {
  const auto made = run_isla({"certs", "init", "--dir", dir.string(), "--hosts", joined(hosts)});
  ASSERT_EQ(made.exit_code, 0) << made.output;
}

net::HttpClientOptions trusting(const fs::path& dir) {
  net::HttpClientOptions options;
  options.tls = net::make_client_tls(dir / "ca.pem");
  return options;
}

TEST(TlsIsland, FiguresAndTheDashboardAreServedOverHttpsFromPieceServersOverHttps) {
  Island island;
  const auto certs = island.dir() / "tls";
  certs_init(certs, {island.gateway().host, island.pieces_address(0).host});
  island.set_client_options(trusting(certs));
  island.start_gateway({"--tls-dir", certs.string()});
  island.start_pieces(0, {"giraffe"}, {"--tls-dir", certs.string()});
  island.wait_for_servers(1);

  const auto figure = island.get("/api/figures/giraffe");
  ASSERT_TRUE(figure.ok()) << figure.message;
  EXPECT_EQ(figure.response->status, 200) << figure.response->body;
  EXPECT_NE(figure.response->body.find("\"pieces\""), std::string::npos);
  const auto dashboard = island.get("/");
  ASSERT_TRUE(dashboard.ok()) << dashboard.message;
  EXPECT_EQ(dashboard.response->status, 200);
  EXPECT_NE(dashboard.response->content_type.find("text/html"), std::string::npos);

  const auto cli = run_isla({"figures", "--gateway", "https://" + island.gateway().str(),
                             "--tls-ca", (certs / "ca.pem").string()});
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_NE(cli.output.find("giraffe"), std::string::npos) << cli.output;

  // Plain HTTP to the HTTPS listener gets no answer, and the gateway serves on.
  net::HttpRequest request;
  request.target = "/api/figures";
  EXPECT_FALSE(net::fetch(island.gateway(), request, 2000ms).ok());
  const auto plain_cli = run_isla({"figures", "--gateway", island.gateway().str()});
  EXPECT_NE(plain_cli.exit_code, 0) << plain_cli.output;
  EXPECT_TRUE(island.get("/api/figures").ok());
}

TEST(TlsIsland, AClientTrustingAnotherCaIsRefused) {
  Island island;
  const auto certs = island.dir() / "tls";
  const auto other = island.dir() / "other-tls";
  certs_init(certs, {island.gateway().host});
  certs_init(other, {island.gateway().host});
  island.set_client_options(trusting(certs));
  island.start_gateway({"--tls-dir", certs.string()});
  const auto cli = run_isla({"status", "--gateway", "https://" + island.gateway().str(), "--tls-ca",
                             (other / "ca.pem").string()});
  EXPECT_EQ(cli.exit_code, 3) << cli.output;
  EXPECT_NE(cli.output.find("certificate verify failed"), std::string::npos) << cli.output;
}

TEST(TlsStore, WritesAndReadsWorkOverTlsBetweenGateways) {
  const auto certs = fs::temp_directory_path() / ("isla-tls-store-" + unique_subnet());
  fs::remove_all(certs);
  StoreCluster cluster(3, 0, {"--tls-dir", certs.string()});
  std::vector<std::string> hosts;
  for (int node = 0; node < cluster.size(); ++node) hosts.push_back(cluster.address(node).host);
  certs_init(certs, hosts);
  cluster.set_client_options(trusting(certs));
  cluster.start_all();
  const auto leader = cluster.wait_for_leader(20s);
  ASSERT_TRUE(leader) << "no leader elected over TLS";

  // Written through a follower (forwarded to the leader), read from the other follower.
  const int writer = (*leader + 1) % 3;
  const int reader = (*leader + 2) % 3;
  const auto ca = (certs / "ca.pem").string();
  const auto put = run_isla({"kv", "put", "--gateway", "https://" + cluster.address(writer).str(),
                             "--tls-ca", ca, "greeting", "hello over tls"});
  EXPECT_EQ(put.exit_code, 0) << put.output;
  EXPECT_TRUE(cluster.wait_converged(10s));
  const auto get = run_isla({"kv", "get", "--gateway", "https://" + cluster.address(reader).str(),
                             "--tls-ca", ca, "greeting"});
  EXPECT_EQ(get.exit_code, 0) << get.output;
  EXPECT_NE(get.output.find("hello over tls"), std::string::npos) << get.output;
  fs::remove_all(certs);
}

TEST(TlsUp, IslaUpTlsMakesCertificatesAndTheCliFindsItsIslandOverHttps) {
  const auto gateway = unique_subnet() + ".1:5235";
  const auto dir = fs::temp_directory_path() / ("isla-up-tls-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto log = dir.string() + ".log";
  auto up =
      core::ChildProcess::spawn({ISLA_BINARY, "up", "--tls", "--gateway", gateway, "--gateways",
                                 "1", "--pieces", "1", "--pieces-subnet", unique_subnet(),
                                 "--catalog", catalog_dir().string(), "--data-dir", dir.string()},
                                log);
  const bool ready =
      eventually([&] { return read_file(log).find("is up") != std::string::npos; }, 30s);
  ASSERT_TRUE(ready) << read_file(log);
  EXPECT_NE(read_file(log).find("dashboard  https://" + gateway + "/"), std::string::npos)
      << read_file(log);
  EXPECT_TRUE(fs::exists(dir / "tls" / "ca.pem"));

  const auto figures = run_isla({"figures", "--gateway", "https://" + gateway, "--tls-ca",
                                 (dir / "tls" / "ca.pem").string()});
  EXPECT_EQ(figures.exit_code, 0) << figures.output;
  EXPECT_NE(figures.output.find("giraffe"), std::string::npos) << figures.output;
  // The balancers' service address speaks HTTPS too, with a certificate of the island CA.
  const auto service = "https://" + gateway.substr(0, gateway.rfind('.')) + ".100:8080";
  EXPECT_NE(read_file(log).find("service    " + service + "/"), std::string::npos)
      << read_file(log);
  const auto through =
      run_isla({"figures", "--gateway", service, "--tls-ca", (dir / "tls" / "ca.pem").string()});
  EXPECT_EQ(through.exit_code, 0) << through.output;
  EXPECT_NE(through.output.find("giraffe"), std::string::npos) << through.output;
  // Secure by default: a secret only its owner reads, an admin token the CLI finds in the
  // data dir, and nothing written without one.
  EXPECT_EQ(fs::status(dir / "secret").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const std::vector<std::string> over_tls = {"--gateway", "https://" + gateway, "--tls-ca",
                                             (dir / "tls" / "ca.pem").string()};
  auto with_token = std::vector<std::string>{"kv", "put", "k", "v", "--data-dir", dir.string()};
  with_token.insert(with_token.end(), over_tls.begin(), over_tls.end());
  const auto put = run_isla(with_token);
  EXPECT_EQ(put.exit_code, 0) << put.output;
  auto anonymous =
      std::vector<std::string>{"kv", "put", "k", "v", "--data-dir", (dir / "nowhere").string()};
  anonymous.insert(anonymous.end(), over_tls.begin(), over_tls.end());
  const auto refused = run_isla(anonymous);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("needs a token"), std::string::npos) << refused.output;
  const auto plain = run_isla({"status", "--gateway", gateway});
  EXPECT_EQ(plain.exit_code, 3) << plain.output;
  EXPECT_NE(plain.output.find("https://"), std::string::npos) << plain.output;

  up.signal(SIGINT);
  EXPECT_EQ(up.wait_for(30s), 0) << read_file(log);
  fs::remove_all(dir);
  fs::remove(log);
}

}  // namespace
}  // namespace isla::testing
