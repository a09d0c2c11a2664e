#include "balancer/pair/interface_address.hpp"

#include <spdlog/spdlog.h>

namespace isla::balancer::pair {

InterfaceAddress::InterfaceAddress(InterfaceAddressOptions options)
    : options_(std::move(options)) {}

InterfaceAddress::~InterfaceAddress() = default;

std::vector<std::string> InterfaceAddress::add_command() const {
  return {options_.ip_program,
          "addr",
          "replace",
          options_.address + "/" + std::to_string(options_.prefix_length),
          "dev",
          options_.interface};
}

std::vector<std::string> InterfaceAddress::delete_command() const {
  return {options_.ip_program,
          "addr",
          "del",
          options_.address + "/" + std::to_string(options_.prefix_length),
          "dev",
          options_.interface};
}

std::vector<std::string> InterfaceAddress::announce_command() const {
  return {options_.arping_program,
          "-q",
          "-U",
          "-c",
          std::to_string(options_.arp_count),
          "-I",
          options_.interface,
          options_.address};
}

std::string InterfaceAddress::describe() const {
  return options_.address + "/" + std::to_string(options_.prefix_length) + " on " +
         options_.interface;
}

std::optional<int> InterfaceAddress::run(const std::vector<std::string>& argv) {
  try {
    auto child = core::ChildProcess::spawn(argv, options_.log_file);
    return child.wait_for(options_.command_timeout);  // the destructor kills a straggler
  } catch (const std::exception& error) {
    spdlog::warn("event=pair_address_command_failed command={} error=\"{}\"", argv.front(),
                 error.what());
    return std::nullopt;
  }
}

bool InterfaceAddress::claim(election::Term term) {
  const auto code = run(add_command());
  if (code != 0) {
    spdlog::warn("event=pair_address_claim_failed address=\"{}\" term={} exit={}", describe(), term,
                 code ? *code : -1);
    release();
    return false;
  }
  if (!options_.arping_program.empty()) {
    announcer_.reset();  // an announcement of an earlier claim still running
    try {
      announcer_.emplace(core::ChildProcess::spawn(announce_command(), options_.log_file));
    } catch (const std::exception& error) {
      // The address is ours all the same; neighbours learn it when their ARP entries expire.
      spdlog::warn("event=pair_arp_failed address=\"{}\" error=\"{}\"", describe(), error.what());
    }
  }
  return true;
}

void InterfaceAddress::release() {
  announcer_.reset();
  // Exit 2 ("Cannot assign requested address") means it was not there: released all the same.
  run(delete_command());
}

}  // namespace isla::balancer::pair
