// Fuzzes what `isla balancer` parses from outside: the admin API's POST /api/backends body
// and DELETE address, the --backends list, the --hash-key spec with the affinity key it
// finds in a request's cookies, durations (--check-interval), and the gateways' check of the
// balancer's X-Forwarded-For signature. The first byte picks the parser. Whatever is
// accepted must be in range and survive a round trip; nothing may throw but the documented
// std::invalid_argument.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "balancer/backend_set.hpp"
#include "balancer/proxy/admin_request.hpp"
#include "balancer/proxy/duration.hpp"
#include "balancer/proxy/hash_key.hpp"
#include "invariant.hpp"
#include "security/forwarded_auth.hpp"

namespace {

using namespace isla;

void check_spec(const balancer::BackendSpec& spec) {
  if (spec.weight < balancer::kMinWeight || spec.weight > balancer::kMaxWeight) {
    fail("accepted a weight out of range");
  }
  if (spec.endpoint.port == 0 || spec.endpoint.host.empty()) fail("accepted an empty address");
}

void backend_body(std::string_view text) {
  auto parsed = balancer::parse_backend_body(text);
  if (auto* message = std::get_if<std::string>(&parsed)) {
    if (message->empty()) fail("refused without a reason");
    return;
  }
  const auto& spec = std::get<balancer::BackendSpec>(parsed);
  check_spec(spec);
  const boost::json::object again{{"address", spec.endpoint.str()}, {"weight", spec.weight}};
  auto round = balancer::parse_backend_body(boost::json::serialize(again));
  const auto* back = std::get_if<balancer::BackendSpec>(&round);
  if (!back || back->endpoint != spec.endpoint || back->weight != spec.weight) {
    fail("an accepted backend did not survive a round trip");
  }
}

void backend_list(std::string_view text) {
  try {
    for (const auto& spec : balancer::parse_backend_list(text)) check_spec(spec);
  } catch (const std::invalid_argument&) {
  }
}

void hash_key(std::string_view text) {
  const auto split = text.find('\n');
  const auto spec_text = text.substr(0, split);
  const auto cookies =
      split == std::string_view::npos ? std::string_view() : text.substr(split + 1);
  balancer::HashKeySpec spec;
  try {
    spec = balancer::parse_hash_key(spec_text);
  } catch (const std::invalid_argument&) {
    return;
  }
  if (spec.name.empty()) fail("accepted an empty key name");
  net::HttpRequest request;
  request.headers = {{"Cookie", std::string(cookies)}, {spec.name, std::string(cookies)}};
  if (auto key = balancer::hash_key(request, spec)) {
    if (key->empty()) fail("an empty affinity key");
    const auto& source =
        request.headers[spec.source == balancer::HashKeySpec::Source::cookie ? 0 : 1];
    const auto* begin = source.second.data();
    if (key->data() < begin || key->data() + key->size() > begin + source.second.size()) {
      fail("the affinity key does not point into its header");
    }
  }
}

void duration(std::string_view text) {
  try {
    const auto millis = balancer::parse_duration(text).count();
    if (millis < 1 || millis > 86'400'000) fail("accepted a duration out of range");
  } catch (const std::invalid_argument&) {
  }
}

void forwarded(std::string_view text) {
  static const security::ForwardedVerifier verifier("fuzz-secret", "127.0.0.1:5235");
  net::HttpRequest head;
  head.headers = {{"X-Forwarded-For", "10.0.0.1"},
                  {std::string(security::kForwardedAuthHeader), std::string(text)}};
  // Without the secret no signature can be right: nothing may be believed.
  if (verifier.trusted_client(head, 1'700'000'000'000)) fail("believed an unsigned client");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      backend_body(text);
      break;
    case 1:
      backend_list(text);
      break;
    case 2:
      hash_key(text);
      break;
    case 3:
      duration(text);
      break;
    case 4:
      forwarded(text);
      break;
    default: {
      auto parsed = balancer::parse_backend_address(text);
      if (auto* endpoint = std::get_if<core::Endpoint>(&parsed); endpoint && endpoint->port == 0) {
        fail("accepted port 0");
      }
    }
  }
  return 0;
}
