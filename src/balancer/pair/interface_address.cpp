#include "balancer/pair/interface_address.hpp"

#include "balancer/pair/netlink_address.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace isla::balancer::pair {

namespace {

// core::ChildProcess execs a path: find a bare name on PATH, and in the sbin directories
// where `ip` lives but which a non-login PATH may lack.
std::string find_program(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos) return name;
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= path.size()) {
    const auto end = std::min(path.find(':', begin), path.size());
    const auto candidate = std::filesystem::path(path.substr(begin, end - begin)) / name;
    if (end > begin && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    begin = end + 1;
  }
  return name;  // fails to start, and says so
}

}  // namespace

InterfaceAddress::InterfaceAddress(InterfaceAddressOptions options) : options_(std::move(options)) {
  options_.ip_program = find_program(options_.ip_program);
  options_.arping_program = find_program(options_.arping_program);
}

InterfaceAddress::~InterfaceAddress() {
  close_device();
}

std::string InterfaceAddress::device() const {
  return options_.owned_device.empty() ? options_.interface : options_.owned_device;
}

std::string InterfaceAddress::prefix() const {
  return options_.address + "/" +
         std::to_string(options_.owned_device.empty() ? options_.prefix_length : 32);
}

std::vector<std::string> InterfaceAddress::add_command() const {
  return {options_.ip_program, "addr", "replace", prefix(), "dev", device()};
}

std::vector<std::string> InterfaceAddress::delete_command() const {
  return {options_.ip_program, "addr", "del", prefix(), "dev", device()};
}

bool InterfaceAddress::open_device() {
  if (tun_fd_ >= 0) return true;
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    spdlog::warn("event=pair_tun_failed error=\"/dev/net/tun: {}\"", std::strerror(errno));
    return false;
  }
  ifreq request{};
  request.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(request.ifr_name, options_.owned_device.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd, TUNSETIFF, &request) < 0) {
    spdlog::warn("event=pair_tun_failed device={} error=\"{}\"", options_.owned_device,
                 std::strerror(errno));
    ::close(fd);
    return false;
  }
  tun_fd_ = fd;
  if (run({options_.ip_program, "link", "set", "dev", options_.owned_device, "up"}) != 0) {
    close_device();
    return false;
  }
  return true;
}

void InterfaceAddress::close_device() {
  if (tun_fd_ < 0) return;
  ::close(tun_fd_);  // the kernel deletes the device and its addresses
  tun_fd_ = -1;
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
  if (options_.owned_device.empty()) return prefix() + " on " + options_.interface;
  return prefix() + " on " + options_.owned_device + " (owned), announced on " + options_.interface;
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
  if (!options_.owned_device.empty() && !open_device()) {
    spdlog::warn("event=pair_address_claim_failed address=\"{}\" term={}", describe(), term);
    return false;
  }
  if (options_.in_process) {
    const auto error =
        netlink_set_address(true, device(), options_.address,
                            options_.owned_device.empty() ? options_.prefix_length : 32);
    if (error.empty()) {
      if (const auto arp = send_gratuitous_arp(options_.interface, options_.address);
          !arp.empty()) {
        spdlog::warn("event=pair_arp_failed address=\"{}\" error=\"{}\"", describe(), arp);
      }
      announce();
      return true;
    }
    spdlog::warn("event=pair_netlink_failed address=\"{}\" error=\"{}\"", describe(), error);
  }
  const auto code = run(add_command());
  if (code != 0) {
    spdlog::warn("event=pair_address_claim_failed address=\"{}\" term={} exit={}", describe(), term,
                 code ? *code : -1);
    release();
    return false;
  }
  announce();
  return true;
}

void InterfaceAddress::announce() {
  if (options_.arping_program.empty()) return;
  announcer_.reset();  // an announcement of an earlier claim still running
  try {
    announcer_.emplace(core::ChildProcess::spawn(announce_command(), options_.log_file));
  } catch (const std::exception& error) {
    // The address is ours all the same; neighbours learn it when their ARP entries expire.
    spdlog::warn("event=pair_arp_failed address=\"{}\" error=\"{}\"", describe(), error.what());
  }
}

void InterfaceAddress::release() {
  announcer_.reset();
  if (!options_.owned_device.empty()) {
    // Also a VIP that an older run (or a hand) put on the interface itself.
    remove(options_.interface, options_.prefix_length);
    // The device stays (empty, up) for the next claim, which then costs one request. It
    // goes, with whatever is on it, when the process ends.
    if (open_device()) remove(options_.owned_device, 32);
    return;
  }
  remove(options_.interface, options_.prefix_length);
}

void InterfaceAddress::remove(const std::string& device, int prefix_length) {
  if (options_.in_process) {
    const auto error = netlink_set_address(false, device, options_.address, prefix_length);
    if (error.empty()) return;
    spdlog::debug("event=pair_netlink_failed device={} error=\"{}\"", device, error);
  }
  // Exit 2 ("Cannot assign requested address") means it was not there: released all the same.
  run({options_.ip_program, "addr", "del", options_.address + "/" + std::to_string(prefix_length),
       "dev", device});
}

}  // namespace isla::balancer::pair
