#pragma once
// A broken network link between two loopback addresses, made with iptables: while a LinkCut
// lives, TCP connections from either address to the other's port are reset (REJECT with a
// TCP reset), whoever opened them. Needs root and a working iptables (scripts/deps.sh).
#include <cstdint>
#include <optional>
#include <string>

namespace isla::testing {

class LinkCut {
 public:
  // Throws std::runtime_error when iptables refuses the rules.
  LinkCut(std::string a, std::string b, std::uint16_t port);
  ~LinkCut();  // removes the rules, also when the test fails
  LinkCut(const LinkCut&) = delete;
  LinkCut& operator=(const LinkCut&) = delete;

  // Why links cannot be cut here (not root, no usable iptables), or nullopt when they can.
  static std::optional<std::string> unavailable();

 private:
  std::string a_;
  std::string b_;
  std::uint16_t port_;
};

}  // namespace isla::testing
