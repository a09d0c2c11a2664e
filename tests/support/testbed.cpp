#include "support/testbed.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "support/island.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {

namespace {

using namespace std::chrono_literals;

// Making a bed waits for the machine-wide lock (other tests' beds) and for links to come up.
constexpr auto kScriptTimeout = 120s;
// What testbed.sh check exits with where no bed can be made: CTest's skip code.
constexpr int kUnavailable = 77;

std::string ip_command() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "/usr/sbin/ip";  // absent: spawning it fails and says so
}

CommandResult run_script(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/bin/bash", Testbed::script().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, kScriptTimeout);
}

// The identity of a network namespace: the device and inode of its nsfs file.
std::optional<std::pair<dev_t, ino_t>> namespace_id(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return std::pair{info.st_dev, info.st_ino};
}

// `ip netns exec` enters the namespace after fork: until it has, `testbed.sh kill` would
// not see the process.
void wait_until_inside(core::ChildProcess& process, const std::string& netns) {
  const auto wanted = namespace_id("/run/netns/" + netns);
  const auto proc = "/proc/" + std::to_string(process.pid()) + "/ns/net";
  const bool settled =
      eventually([&] { return namespace_id(proc) == wanted || !process.running(); }, 10s);
  if (!settled) throw std::runtime_error("process " + proc + " did not enter " + netns);
}

std::map<std::string, std::string> parse_state(const std::string& text) {
  std::map<std::string, std::string> state;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto equals = line.find('=');
    if (equals != std::string::npos) state[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return state;
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream stream(text);
  std::vector<std::string> out;
  for (std::string word; stream >> word;) out.push_back(word);
  return out;
}

std::string state_value(const std::map<std::string, std::string>& state, const std::string& key) {
  auto found = state.find(key);
  if (found == state.end()) throw std::runtime_error("testbed state has no " + key);
  return found->second;
}

std::vector<TestbedIsland> islands_of(const std::map<std::string, std::string>& state) {
  std::vector<TestbedIsland> islands;
  for (const auto& letter : words(state_value(state, "TESTBED_ISLANDS"))) {
    const auto key = "ISLAND_" + letter + "_";
    islands.push_back({letter,
                       state_value(state, key + "SUBNET"),
                       state_value(state, key + "BROADCAST"),
                       state_value(state, key + "ROUTER_IP"),
                       {}});
  }
  // TESTBED_HOSTS lists them island by island, in order: a1 a2 ... b1 b2 ...
  for (const auto& name : words(state_value(state, "TESTBED_HOSTS"))) {
    const auto key = "HOST_" + name + "_";
    const auto letter = state_value(state, key + "ISLAND");
    for (auto& island : islands) {
      if (island.letter == letter) {
        island.hosts.push_back(
            {name, state_value(state, key + "NS"), state_value(state, key + "IP")});
      }
    }
  }
  return islands;
}

std::string percent_text(double percent) {
  std::ostringstream text;
  text.setf(std::ios::fixed);
  text.precision(4);
  text << percent;
  return text.str();
}

}  // namespace

std::filesystem::path Testbed::script() {
  return source_dir() / "scripts/testbed/testbed.sh";
}

std::string Testbed::unique_name() {
  static std::atomic<int> counter{0};
  return "itb" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

std::optional<std::string> Testbed::why_unavailable() {
  // Asked once per process: the answer does not change while tests run.
  static const std::optional<std::string> why = []() -> std::optional<std::string> {
    auto check = run_script({"check"});
    if (check.exit_code == 0) return std::nullopt;
    if (check.exit_code == kUnavailable) return check.output;
    throw std::runtime_error("testbed.sh check failed (exit " + std::to_string(check.exit_code) +
                             "): " + check.output);
  }();
  return why;
}

std::optional<Testbed> Testbed::create(int islands, int hosts_per_island, std::string& why_not) {
  if (auto why = why_unavailable()) {
    why_not = *why;
    return std::nullopt;
  }
  const auto name = unique_name();
  // The owner is this process: if it dies without removing the bed (SIGKILL), the next
  // `up` on the machine removes it.
  auto up =
      run_script({"up", "--name", name, "--islands", std::to_string(islands), "--hosts-per-island",
                  std::to_string(hosts_per_island), "--owner-pid", std::to_string(::getpid())});
  if (up.exit_code != 0) {
    throw std::runtime_error("testbed.sh up failed (exit " + std::to_string(up.exit_code) +
                             "): " + up.output);
  }
  auto show = run_script({"show", "--name", name});
  if (show.exit_code != 0) {
    run_script({"down", "--name", name});
    throw std::runtime_error("testbed.sh show failed: " + show.output);
  }
  return Testbed(name, islands_of(parse_state(show.output)));
}

Testbed::Testbed(Testbed&& other) noexcept
    : name_(std::move(other.name_)), islands_(std::move(other.islands_)) {
  other.name_.clear();
}

Testbed& Testbed::operator=(Testbed&& other) noexcept {
  if (this != &other) {
    remove();
    name_ = std::move(other.name_);
    islands_ = std::move(other.islands_);
    other.name_.clear();
  }
  return *this;
}

Testbed::~Testbed() {
  remove();
}

void Testbed::remove() noexcept {
  if (name_.empty()) return;
  const auto name = std::exchange(name_, {});  // moved-from and removed look alike
  try {
    if (::testing::Test::HasFailure() && report_and_keep(name)) return;
    auto down = run_script({"down", "--name", name});
    if (down.exit_code == 0) return;
    std::cerr << "Testbed: could not remove bed " << name
              << " (remove it with: " << script().string() << " down --name " << name
              << "): " << down.output << "\n";
  } catch (const std::exception& error) {
    std::cerr << "Testbed: could not remove bed " << name << ": " << error.what() << "\n";
  }
}

bool Testbed::report_and_keep(const std::string& name) const {
  std::cerr << "---- test bed " << name << " (" << script().string() << ") ----\n";
  for (const auto& island : islands_) {
    std::cerr << "island " << island.letter << " " << island.subnet << ":";
    for (const auto& host : island.hosts) std::cerr << " " << host.name << "=" << host.ip;
    std::cerr << "\n";
  }
  const char* keep = std::getenv("ISLA_TESTBED_KEEP");
  if (keep == nullptr || std::string(keep) != "1") return false;
  run_script({"keep", "--name", name});
  std::cerr << "kept (ISLA_TESTBED_KEEP=1): look with `testbed.sh exec --name " << name
            << " a1 -- ...`, remove with `testbed.sh down --name " << name << "`\n";
  return true;
}

core::ChildProcess Testbed::spawn(const TestbedHost& host, const std::vector<std::string>& argv,
                                  const std::string& log_file) const {
  std::vector<std::string> command = {ip_command(), "netns", "exec", host.netns};
  command.insert(command.end(), argv.begin(), argv.end());
  auto process = core::ChildProcess::spawn(command, log_file);
  wait_until_inside(process, host.netns);
  return process;
}

CommandResult Testbed::run(const TestbedHost& host, const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout) const {
  std::vector<std::string> command = {ip_command(), "netns", "exec", host.netns};
  command.insert(command.end(), argv.begin(), argv.end());
  return run_command(command, timeout);
}

CommandResult Testbed::script_must(const std::string& command,
                                   const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {command, "--name", name_};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = run_script(argv);
  if (result.exit_code != 0) {
    std::string line;
    for (const auto& arg : argv) line += " " + arg;
    throw std::runtime_error("testbed.sh" + line + " failed (exit " +
                             std::to_string(result.exit_code) + "): " + result.output);
  }
  return result;
}

void Testbed::kill(const TestbedHost& host, int signal) const {
  script_must("kill", {host.name, std::to_string(signal)});
}

void Testbed::partition(const TestbedHost& host) const {
  script_must("partition", {host.name});
}

void Testbed::partition(const TestbedHost& host, const std::vector<TestbedHost>& peers) const {
  std::vector<std::string> args = {host.name, "--from"};
  for (const auto& peer : peers) args.push_back(peer.name);
  script_must("partition", args);
}

void Testbed::heal(const TestbedHost& host) const {
  script_must("heal", {host.name});
}

void Testbed::loss(const TestbedHost& host, double percent, bool udp_only) const {
  std::vector<std::string> args = {host.name, percent_text(percent)};
  if (udp_only) args.push_back("--udp-only");
  script_must("loss", args);
}

void enter_network_namespace(const std::string& netns) {
  const auto path = "/run/netns/" + netns;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  const int entered = ::setns(fd, CLONE_NEWNET);
  const int error = errno;
  ::close(fd);
  if (entered != 0) {
    throw std::runtime_error("cannot enter network namespace " + netns + ": " +
                             std::strerror(error));
  }
}

}  // namespace isla::testing
