// isla up: a whole island on loopback, stopped gracefully with Ctrl+C.
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "app/commands.hpp"
#include "app/server_flags.hpp"
#include "app/up_balancers.hpp"
#include "app/up_etcd.hpp"
#include "core/child_process.hpp"
#include "net/http_client.hpp"
#include "net/tls_certificates.hpp"
#include "pieces/catalog.hpp"
#include "security/island_secret.hpp"

namespace isla::app {

namespace {

constexpr std::int64_t kAdminTokenTtlMs = 30LL * 24 * 3600 * 1000;

struct UpFlags {
  int pieces = 3;
  int replicas = 2;  // piece servers holding each figure of the partitioned catalogue
  int gateways = 3;  // the first at --gateway, the others at the next addresses
  std::string catalog = "data/figures";
  std::string data_dir = ".isla-data";
  std::string island = "local";
  std::string gateway = "127.0.0.1:5235";
  std::string pieces_subnet = "127.0.1";  // piece server i listens on <subnet>.(11+i):1233
  long ready_timeout_ms = 15'000;
  bool fresh = false;    // remove --data-dir first
  bool tls = false;      // HTTPS everywhere, with certificates in <data-dir>/tls
  int workers = 2;       // the autoscaler's minimum: started at once by the store leader
  int max_workers = 8;   // and its maximum
  std::string task_dir;  // external task types; default: tasks.d beside the binary, if any
  // The balancer pair in front of the gateways: 2 by default, so that the service address
  // and its failover are part of every island; 0 leaves clients to the gateways.
  int balancers = 2;
  std::string service;  // default: the gateways' /24, host .100, port 8080
  // "embedded", or "nats": a local 3-node nats-server -js cluster (on the first three
  // gateways' hosts, ports 4222/6222/8222) that the gateways' queue runs on (issue 14).
  std::string queue = "embedded";
  // The store back end: "embedded" (the gateways' own Raft store) or "etcd" (a local
  // 3-member etcd cluster started beside the island, hosts .201-.203 of the gateways' /24).
  std::string store = "embedded";
};

// Debian's nats-server (scripts/deps.sh), in /usr/sbin, which PATH may lack.
std::string nats_server_binary() {
  for (const char* path : {"/usr/sbin/nats-server", "/usr/bin/nats-server",
                           "/usr/local/bin/nats-server", "/usr/local/sbin/nats-server"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  throw std::runtime_error("--queue nats: nats-server not found (make deps installs it)");
}

// The sample external tasks CMake builds beside the binary (tasks.d/), when they are there.
std::string default_task_dir(const std::string& self) {
  const auto beside = std::filesystem::path(self).parent_path() / "tasks.d";
  return std::filesystem::is_directory(beside) ? beside.string() : std::string();
}

struct Member {
  std::string role;
  std::string address;
  std::string figures;
  core::ChildProcess process;
  bool exited = false;  // seen to have exited (balancers only: the island goes on)
};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// Gateway k (0-based) listens at the first gateway's address with k added to its last
// octet: 127.0.0.1, 127.0.0.2, ... all on the same port.
core::Endpoint gateway_address(const core::Endpoint& first, int k) {
  const auto dot = first.host.rfind('.');
  const int last = std::stoi(first.host.substr(dot + 1)) + k;
  if (last > 254) throw std::invalid_argument("--gateway: no room for more gateways after it");
  return {first.host.substr(0, dot + 1) + std::to_string(last), first.port};
}

// Polls the gateway until it routes to `expected` piece servers and its store has a leader,
// or the deadline passes.
bool wait_until_ready(const core::Endpoint& gateway, std::size_t expected,
                      std::chrono::milliseconds timeout, const net::HttpClientOptions& client) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < give_up) {
    net::HttpRequest request;
    request.target = "/api/status";
    auto result = net::fetch(gateway, request, std::chrono::milliseconds(500), client);
    if (result.ok() && result.response->status == 200) {
      boost::system::error_code error;
      auto body = boost::json::parse(result.response->body, error);
      const auto* servers =
          error || !body.is_object() ? nullptr : body.as_object().if_contains("piece_servers");
      const auto* store = servers ? body.as_object().if_contains("store") : nullptr;
      const auto* leader =
          store && store->is_object() ? store->as_object().if_contains("leader_address") : nullptr;
      const bool led = leader && leader->is_string() && !leader->as_string().empty();
      if (servers && servers->is_array() && servers->as_array().size() >= expected && led) {
        return true;
      }
    }
    timespec pause{0, 50'000'000};
    nanosleep(&pause, nullptr);
  }
  return false;
}

// The partitioned catalogue settles once every figure is held by its owners and no one else
// (piece servers acquire their share, then drop what they held only until the owners had
// it). Returns each piece server's figures then, or as they are when `timeout` passes.
std::map<std::string, std::vector<std::string>> wait_until_placed(
    const core::Endpoint& gateway, std::chrono::milliseconds timeout,
    const net::HttpClientOptions& client) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  std::map<std::string, std::vector<std::string>> held;
  for (;;) {
    net::HttpRequest request;
    request.target = "/api/figures";
    auto result = net::fetch(gateway, request, std::chrono::milliseconds(500), client);
    bool settled = false;
    if (result.ok() && result.response->status == 200) {
      boost::system::error_code error;
      auto body = boost::json::parse(result.response->body, error);
      const auto* figures =
          error || !body.is_object() ? nullptr : body.as_object().if_contains("figures");
      if (figures && figures->is_array()) {
        held.clear();
        settled = true;
        for (const auto& figure : figures->as_array()) {
          const auto& entry = figure.as_object();
          std::set<std::string> servers;
          std::set<std::string> owners;
          for (const auto& server : entry.at("servers").as_array()) {
            servers.insert(std::string(server.as_string()));
            held[std::string(server.as_string())].push_back(
                std::string(entry.at("name").as_string()));
          }
          if (const auto* listed = entry.if_contains("owners")) {
            for (const auto& owner : listed->as_array())
              owners.insert(std::string(owner.as_string()));
          }
          settled = settled && !owners.empty() && servers == owners;
        }
      }
    }
    if (settled || std::chrono::steady_clock::now() >= give_up) return held;
    timespec pause{0, 100'000'000};
    nanosleep(&pause, nullptr);
  }
}

int stop_all(std::vector<Member>& members) {
  int worst = 0;
  // Balancers first (no new requests reach the gateways), then piece servers, so the
  // gateways see their byes; the gateways last.
  // etcd after the gateways, which keep their state in it.
  for (const std::string role : {"balancer", "pieces", "gateway", "nats", "etcd"}) {
    for (auto& member : members) {
      if (member.role == role) member.process.signal(SIGINT);
    }
    for (auto& member : members) {
      if (member.role != role) continue;
      if (member.exited) continue;  // a balancer that died earlier, already reported
      auto code = member.process.wait_for(std::chrono::seconds(15));
      if (!code) {
        std::cerr << "isla up: " << member.role << " " << member.address
                  << " did not stop within 15 s; killing it\n";
        member.process.signal(SIGKILL);
        code = member.process.wait_for(std::chrono::seconds(5));
      }
      // etcd dies of the SIGINT it was sent once it has stopped (its signal handler re-raises
      // it): that is its clean stop.
      if (member.role == "etcd" && code == 128 + SIGINT) code = 0;
      std::cout << "  stopped " << member.role << " " << member.address << " (exit "
                << code.value_or(-1) << ")\n";
      worst = std::max(worst, code.value_or(1));
    }
  }
  return worst == 0 ? 0 : kExitFailed;
}

int run_up(const UpFlags& flags) {
  if (flags.pieces < 1 || flags.pieces > 200) {
    throw std::invalid_argument("--pieces must be between 1 and 200");
  }
  if (flags.replicas < 1 || flags.replicas > 16) {
    throw std::invalid_argument("--replicas must be between 1 and 16");
  }
  pieces::load_catalog(flags.catalog);  // a bad catalogue fails here, before anything starts
  if (flags.gateways < 1 || flags.gateways > 7) {
    throw std::invalid_argument("--gateways must be between 1 and 7");
  }
  auto gateway = core::parse_endpoint(flags.gateway, 5235);
  if (!gateway || gateway->host.find('.') == std::string::npos) {
    throw std::invalid_argument("--gateway: not an IPv4 HOST:PORT address");
  }
  // An odd number of voters (a majority must survive); an extra gateway joins as a learner.
  std::vector<std::string> gateways;
  for (int k = 0; k < flags.gateways; ++k) gateways.push_back(gateway_address(*gateway, k).str());
  const auto voter_count =
      static_cast<std::size_t>(flags.gateways % 2 == 1 ? flags.gateways : flags.gateways - 1);
  const std::vector<std::string> voters(
      gateways.begin(), gateways.begin() + static_cast<std::ptrdiff_t>(voter_count));
  auto service = flags.service.empty() ? std::optional(default_service_address(*gateway))
                                       : core::parse_endpoint(flags.service, 8080);
  if (!service) throw std::invalid_argument("--service: not a HOST:PORT address");
  const auto plan = plan_balancers(*service, flags.balancers);

  // Signals are taken synchronously below; children get the default mask back.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);

  const auto self = core::self_executable();
  const std::filesystem::path data(flags.data_dir);
  // The store refuses data of another island or other voters; say which data is reused, and
  // how to start over, before a gateway refuses to start.
  if (flags.fresh) {
    std::filesystem::remove_all(data);
  } else if (std::filesystem::exists(data)) {
    std::cout << "isla up: reusing the island's data in " << data.string()
              << " (--fresh starts over)\n";
  }
  // The island's secret signs everything between its nodes; the admin token lets the CLI
  // (which looks for it here) and the README's tour do everything.
  const auto secret_path = data / "secret";
  if (!std::filesystem::exists(secret_path)) security::create_secret_file(secret_path);
  const auto secret = security::load_secret_file(secret_path);
  write_private_file(
      data / "admin.token",
      mint_with_secret(secret, security::Role::admin, "isla-up", kAdminTokenTtlMs) + "\n");
  std::vector<std::string> pieces_addresses;
  for (int i = 0; i < flags.pieces; ++i) {
    pieces_addresses.push_back(flags.pieces_subnet + "." + std::to_string(11 + i) + ":1233");
  }
  const auto tls_dir = data / "tls";
  const auto with_tls = [&](std::vector<std::string> argv) {
    if (flags.tls) argv.insert(argv.end(), {"--tls-dir", tls_dir.string()});
    return argv;
  };
  net::HttpClientOptions client;
  if (flags.tls) {
    std::vector<std::string> hosts;
    for (const auto& address : gateways) hosts.push_back(core::parse_endpoint(address)->host);
    for (const auto& address : pieces_addresses) {
      hosts.push_back(core::parse_endpoint(address)->host);
    }
    if (!plan.balancers.empty()) hosts.push_back(plan.service.host);
    for (const auto& path : net::init_certificates(tls_dir, hosts)) {
      std::cout << "isla up: created " << path.string() << "\n";
    }
    client.tls = net::make_client_tls(tls_dir / "ca.pem");
  }
  // Workers: the store leader's autoscaler starts --workers of them and scales within
  // --max-workers (the worker does not speak TLS to gateways yet: none with --tls).
  const std::string task_dir = flags.task_dir.empty() ? default_task_dir(self) : flags.task_dir;
  std::string nats_urls;  // --queue nats: the local cluster's servers
  const auto with_tasks = [&](std::vector<std::string> argv) {
    if (!plan.balancers.empty()) argv.insert(argv.end(), {"--balancer-admin", admin_list(plan)});
    if (!task_dir.empty()) argv.insert(argv.end(), {"--task-dir", task_dir});
    if (!nats_urls.empty()) argv.insert(argv.end(), {"--queue", nats_urls});
    if (flags.workers > 0 && !flags.tls) {
      argv.insert(argv.end(), {"--autoscale", "--min-workers", std::to_string(flags.workers),
                               "--max-workers", std::to_string(flags.max_workers)});
    }
    return argv;
  };
  std::vector<Member> members;
  if (flags.queue == "nats") {
    // Three JetStream servers routed to each other; the gateways create the stream (R3).
    std::vector<std::string> hosts;
    for (std::size_t k = 0; k < 3; ++k) hosts.push_back(gateway_address(*gateway, k).host);
    std::string urls;
    for (std::size_t k = 0; k < hosts.size(); ++k) {
      std::string routes;
      for (std::size_t other = 0; other < hosts.size(); ++other) {
        if (other != k)
          routes += (routes.empty() ? "" : ",") + ("nats://" + hosts[other] + ":6222");
      }
      const auto dir = data / ("nats-" + std::to_string(k + 1));
      std::filesystem::create_directories(dir);
      members.push_back({"nats", hosts[k] + ":4222", "",
                         core::ChildProcess::spawn(
                             {nats_server_binary(), "-js", "-a", hosts[k], "-p", "4222", "-m",
                              "8222", "-n", "isla-nats-" + std::to_string(k + 1), "-sd",
                              dir.string(), "--cluster_name", "isla-" + flags.island, "--cluster",
                              "nats://" + hosts[k] + ":6222", "--routes", routes},
                             (dir / "nats-server.log").string()),
                         false});
      urls += (urls.empty() ? "" : ",") + ("nats://" + hosts[k] + ":4222");
    }
    nats_urls = urls;
  }
  std::vector<std::string> store_flags;
  if (flags.store == "etcd") {
    const auto etcd = plan_local_etcd(*gateway, data, flags.island);
    auto started = start_local_etcd(etcd, std::chrono::milliseconds(flags.ready_timeout_ms));
    for (std::size_t m = 0; m < started.size(); ++m) {
      members.push_back({"etcd", etcd.clients[m].str(), "", std::move(started[m]), false});
    }
    store_flags = {"--store", store::etcd::store_url(etcd)};
    std::cout << "isla up: etcd cluster " << store::etcd::store_url(etcd) << " (data in "
              << etcd.data_root.string() << ")\n";
  }
  for (std::size_t k = 0; k < gateways.size(); ++k) {
    auto argv = with_tasks(
        with_tls({self, "gateway", "--listen", gateways[k], "--island", flags.island, "--data-dir",
                  (data / ("gateway-" + std::to_string(k + 1))).string(), "--store-voters",
                  join(voters), "--secret-file", secret_path.string(), "--partition-catalog",
                  flags.catalog, "--replicas", std::to_string(flags.replicas)}));
    argv.insert(argv.end(), store_flags.begin(), store_flags.end());
    members.push_back({"gateway", gateways[k], "", core::ChildProcess::spawn(argv), false});
  }
  // The catalogue is partitioned: the gateways spread it over the piece servers by
  // consistent hashing, --replicas of them per figure, and each piece server acquires its
  // share from the catalogue (docs/architecture.md, "The partitioned catalogue").
  for (int i = 0; i < flags.pieces; ++i) {
    const auto& address = pieces_addresses[static_cast<std::size_t>(i)];
    members.push_back({"pieces", address, "",
                       core::ChildProcess::spawn(with_tls(
                           {self, "pieces", "--listen", address, "--gateway", join(gateways),
                            "--catalog", flags.catalog, "--partitioned", "--data-dir",
                            (data / ("pieces-" + std::to_string(i + 1))).string(), "--secret-file",
                            secret_path.string()})),
                       false});
  }

  if (!wait_until_ready(*gateway, static_cast<std::size_t>(flags.pieces),
                        std::chrono::milliseconds(flags.ready_timeout_ms), client)) {
    std::cerr << "isla up: the gateway did not see all " << flags.pieces
              << " piece servers and a store leader within " << flags.ready_timeout_ms
              << " ms; see the logs above. Stopping.\n";
    stop_all(members);
    return kExitFailed;
  }
  const auto placed =
      wait_until_placed(*gateway, std::chrono::milliseconds(flags.ready_timeout_ms), client);
  for (auto& member : members) {
    if (member.role != "pieces") continue;
    const auto found = placed.find(member.address);
    const auto figures = found == placed.end() ? std::vector<std::string>{} : found->second;
    member.figures = std::to_string(figures.size()) +
                     (figures.size() == 1 ? " figure   " : " figures  ") + join(figures);
  }
  for (std::size_t k = 0; k < plan.balancers.size(); ++k) {
    members.push_back({"balancer", plan.balancers[k].admin, "",
                       core::ChildProcess::spawn(
                           with_tls(balancer_argv(self, plan, k, gateways, data, secret_path))),
                       false});
  }
  if (!plan.balancers.empty() &&
      !wait_until_service_answers(plan.service, std::chrono::milliseconds(flags.ready_timeout_ms),
                                  client)) {
    std::cerr << "isla up: the service address " << plan.service.str() << " did not answer within "
              << flags.ready_timeout_ms << " ms; see the logs above. Stopping.\n";
    stop_all(members);
    return kExitFailed;
  }
  std::cout << "\nisla island '" << flags.island << "' is up\n"
            << "  dashboard  " << (flags.tls ? "https://" : "http://") << gateway->str() << "/"
            << (flags.tls ? "  (trust " + (tls_dir / "ca.pem").string() + ")" : "") << "\n"
            << "  gateways   " << join(gateways) << "  (store voters: " << join(voters) << ")\n"
            << "  secret     " << secret_path.string()
            << "  (admin token for the CLI: " << (data / "admin.token").string() << ")\n";
  if (!plan.balancers.empty()) {
    std::cout << "  service    " << (flags.tls ? "https://" : "http://") << plan.service.str()
              << "/  (clients' address: the "
              << (plan.balancers.size() == 2 ? "active balancer of the pair" : "balancer")
              << " in front of the gateways)\n";
    for (const auto& balancer : plan.balancers) {
      std::cout << "  balancer   admin http://" << balancer.admin << "/api/status"
                << (plan.balancers.size() == 2
                        ? "  heartbeat " + balancer.heartbeat + "  priority " +
                              std::to_string(balancer.priority)
                        : "")
                << "\n";
    }
  }
  for (const auto& member : members) {
    if (member.role == "pieces") {
      std::cout << "  pieces     " << member.address << "  " << member.figures << "\n";
    }
  }
  if (flags.workers > 0 && !flags.tls) {
    std::cout << "  workers    " << flags.workers << " to " << flags.max_workers
              << ", started and scaled by the store leader's gateway (logs in its data "
                 "dir's workers/)"
              << (task_dir.empty() ? "" : "; external tasks from " + task_dir) << "\n";
  }
  if (!nats_urls.empty()) {
    std::cout << "  queue      NATS JetStream " << nats_urls << "  (stream ISLA_TASKS, R3; data in "
              << (data / "nats-N").string() << ")\n";
  }
  if (flags.tls) {
    std::cout << "TLS: give the CLI  --gateway https://" << gateway->str() << " --tls-ca "
              << (tls_dir / "ca.pem").string() << "  (or ISLA_GATEWAY, ISLA_TLS_CA)\n";
  }
  std::cout << "try: isla figures | isla figure giraffe | isla status | isla kv put k v | isla "
               "task run primes limit=100000   (Ctrl+C "
               "stops the island)\n"
            << std::endl;

  for (;;) {
    timespec tick{0, 200'000'000};
    const int signal_number = sigtimedwait(&stop_signals, nullptr, &tick);
    if (signal_number == SIGINT || signal_number == SIGTERM) break;
    for (auto& member : members) {
      if (member.role == "balancer" && !member.exited) {
        if (auto code = member.process.try_wait()) {
          member.exited = true;  // its peer, if any, takes the address over: not fatal
          std::cerr << "isla up: balancer " << member.address << " exited (code " << *code << "); "
                    << (plan.balancers.size() == 2 ? "the other one serves " : "nothing serves ")
                    << plan.service.str() << "\n";
        }
        continue;
      }
      if (member.role == "etcd" && !member.exited) {
        if (auto code = member.process.try_wait()) {
          member.exited = true;  // the other two keep a quorum: not fatal
          std::cerr << "isla up: etcd member " << member.address << " exited (code " << *code
                    << ")\n";
        }
        continue;
      }
      if (auto code = member.process.try_wait(); code && member.role == "gateway") {
        std::cerr << "isla up: the gateway exited (code " << *code << "); stopping the island\n";
        return std::max(stop_all(members), kExitFailed);
      }
    }
  }
  std::cout << "\nstopping the island gracefully (balancers, piece servers, then the gateways)\n";
  return stop_all(members);
}

}  // namespace

void add_up_command(CLI::App& app) {
  auto flags = std::make_shared<UpFlags>();
  auto* command = app.add_subcommand("up", "Start a whole island on loopback (Ctrl+C stops it)");
  command->add_option("--pieces", flags->pieces, "Number of piece servers")->capture_default_str();
  command
      ->add_option("--replicas", flags->replicas,
                   "Piece servers holding each figure (the catalogue is spread over the piece "
                   "servers by consistent hashing)")
      ->capture_default_str();
  command->add_option("--catalog", flags->catalog, "Directory of figure files")
      ->capture_default_str();
  command->add_option("--data-dir", flags->data_dir, "Where the nodes keep their state")
      ->capture_default_str();
  command->add_option("--island", flags->island, "Island name")->capture_default_str();
  command->add_option("--gateway", flags->gateway, "The first gateway's address")
      ->capture_default_str();
  command
      ->add_option("--gateways", flags->gateways,
                   "Number of gateways (the island store's replicas; the next addresses after "
                   "--gateway)")
      ->capture_default_str();
  command
      ->add_option("--pieces-subnet", flags->pieces_subnet,
                   "First three octets of the piece servers' loopback addresses")
      ->capture_default_str();
  command
      ->add_option("--workers", flags->workers,
                   "Task workers the autoscaler keeps at least (0: no workers, no autoscaler)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  command
      ->add_option("--max-workers", flags->max_workers, "Task workers the autoscaler may grow to")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command
      ->add_option("--balancers", flags->balancers,
                   "Balancers in front of the gateways: 2 (an active/standby pair), 1 or 0")
      ->check(CLI::Range(0, 2))
      ->capture_default_str();
  command->add_option("--service", flags->service,
                      "The balancers' service address (default: host .100 of the gateways' "
                      "/24, port 8080)");
  command->add_option("--task-dir", flags->task_dir,
                      "External task types (TOML manifests); default: tasks.d beside the binary");
  command
      ->add_option("--queue", flags->queue,
                   "Where tasks wait: embedded (the island store) or nats (a local 3-node "
                   "nats-server -js cluster the gateways' queue runs on)")
      ->check(CLI::IsMember({"embedded", "nats"}))
      ->capture_default_str();
  command->add_flag("--tls", flags->tls,
                    "HTTPS on every listener and between nodes; the island CA and the nodes' "
                    "certificates are created in --data-dir/tls when missing");
  command
      ->add_option("--store", flags->store,
                   "The store back end: embedded (the gateways' Raft store) or etcd (a local "
                   "3-member etcd cluster started beside the island, stopped with it)")
      ->check(CLI::IsMember({"embedded", "etcd"}))
      ->capture_default_str();
  command->add_flag("--fresh", flags->fresh,
                    "Remove --data-dir first: a new island, its store empty");
  command->callback([flags] { exit_with(run_up(*flags)); });
}

}  // namespace isla::app
