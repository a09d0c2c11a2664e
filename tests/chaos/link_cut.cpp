#include "chaos/link_cut.hpp"

#include <unistd.h>

#include <iostream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "support/run_command.hpp"

namespace isla::testing {

namespace {

std::optional<std::string> iptables_path() {
  for (const char* path : {"/usr/sbin/iptables", "/sbin/iptables"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return std::nullopt;
}

// Inserts (-I) or deletes (-D) the rule that resets TCP from `from` to `to`:port. Rules
// carry a comment, so that one a killed test left behind can be recognised.
CommandResult reject(const std::string& action, const std::string& from, const std::string& to,
                     std::uint16_t port) {
  // -w: wait for the xtables lock, which parallel tests may hold.
  std::istringstream rule("-w 10 " + action + " OUTPUT -s " + from + " -d " + to +
                          " -p tcp --dport " + std::to_string(port) +
                          " -m comment --comment isla-test-link-cut"
                          " -j REJECT --reject-with tcp-reset");
  std::vector<std::string> argv = {iptables_path().value_or("iptables")};
  for (std::string word; rule >> word;) argv.push_back(word);
  return run_command(argv);
}

}  // namespace

LinkCut::LinkCut(std::string a, std::string b, std::uint16_t port)
    : a_(std::move(a)), b_(std::move(b)), port_(port) {
  if (auto result = reject("-I", a_, b_, port_); result.exit_code != 0) {
    throw std::runtime_error("iptables: " + result.output);
  }
  if (auto result = reject("-I", b_, a_, port_); result.exit_code != 0) {
    reject("-D", a_, b_, port_);
    throw std::runtime_error("iptables: " + result.output);
  }
}

LinkCut::~LinkCut() {
  for (const auto& [from, to] : {std::pair{a_, b_}, std::pair{b_, a_}}) {
    if (auto result = reject("-D", from, to, port_); result.exit_code != 0) {
      std::cerr << "LinkCut: could not remove the rule " << from << " -> " << to << ":" << port_
                << " (remove it by hand: iptables -D OUTPUT ...): " << result.output << "\n";
    }
  }
}

std::optional<std::string> LinkCut::unavailable() {
  if (::geteuid() != 0) return "cutting links takes iptables, which takes root";
  if (!iptables_path()) return "iptables is not installed (scripts/deps.sh installs it)";
  try {
    // Addresses no test uses: the rules touch nothing while they exist.
    LinkCut probe("127.255.255.253", "127.255.255.254", 9);
  } catch (const std::exception& error) {
    return std::string("iptables does not work here: ") + error.what();
  }
  return std::nullopt;
}

}  // namespace isla::testing
