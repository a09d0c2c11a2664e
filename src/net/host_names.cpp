#include "net/host_names.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <stdexcept>

namespace isla::net {

asio::ip::address bind_address(const std::string& host) {
  boost::system::error_code error;
  const auto literal = asio::ip::make_address(host, error);
  if (!error) return literal;
  asio::io_context context;
  asio::ip::tcp::resolver resolver(context);
  const auto results = resolver.resolve(host, "", error);
  if (error || results.empty()) {
    throw std::runtime_error("cannot listen on " + host +
                             ": neither an IP address nor a name that resolves" +
                             (error ? " (" + error.message() + ")" : std::string()));
  }
  for (const auto& entry : results) {
    if (entry.endpoint().address().is_v4()) return entry.endpoint().address();
  }
  return results.begin()->endpoint().address();
}

std::optional<asio::ip::address> NameCache::address_of(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto found = by_name_.find(name);
  if (found == by_name_.end() || found->second.expires < Clock::now()) return std::nullopt;
  return found->second.address;
}

void NameCache::remember(const std::string& name, const asio::ip::address& address) {
  std::lock_guard lock(mutex_);
  const auto expires = Clock::now() + ttl_;
  by_name_[name] = {address, expires};
  by_address_[address.to_string()] = {name, expires};
}

core::Endpoint NameCache::name_of(const core::Endpoint& sender) const {
  std::lock_guard lock(mutex_);
  const auto found = by_address_.find(sender.host);
  if (found == by_address_.end() || found->second.second < Clock::now()) return sender;
  return {found->second.first, sender.port};
}

}  // namespace isla::net
