#include "membership/datagram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <chrono>

#include "core/endpoint.hpp"
#include "core/names.hpp"
#include "net/udp_endpoint.hpp"

namespace isla::membership {

namespace json = boost::json;

namespace {

constexpr std::string_view kMagic = "isla1 ";

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0xf]);
  }
  return out;
}

std::string mac_of(std::string_view body, std::string_view secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &size);
  return hex(mac, size);
}

std::optional<DatagramType> type_from(std::string_view text) {
  if (text == "hello") return DatagramType::hello;
  if (text == "heartbeat") return DatagramType::heartbeat;
  if (text == "welcome") return DatagramType::welcome;
  if (text == "bye") return DatagramType::bye;
  return std::nullopt;
}

bool short_token(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

const json::value* field(const json::object& object, std::string_view key) {
  return object.if_contains(key);
}

std::optional<std::uint64_t> unsigned_field(const json::object& object, std::string_view key) {
  const auto* value = field(object, key);
  if (value == nullptr) return 0;
  if (value->is_uint64()) return value->as_uint64();
  if (value->is_int64() && value->as_int64() >= 0) {
    return static_cast<std::uint64_t>(value->as_int64());
  }
  return std::nullopt;
}

Decoded reject(std::string why) {
  return Decoded{std::nullopt, std::move(why)};
}

}  // namespace

const char* to_string(DatagramType type) {
  switch (type) {
    case DatagramType::hello:
      return "hello";
    case DatagramType::heartbeat:
      return "heartbeat";
    case DatagramType::welcome:
      return "welcome";
    case DatagramType::bye:
      return "bye";
  }
  return "unknown";
}

std::optional<std::string> encode(const Datagram& datagram, std::string_view secret) {
  json::object object;
  object["type"] = to_string(datagram.type);
  object["node"] = datagram.node;
  object["role"] = datagram.role;
  object["island"] = datagram.island;
  object["incarnation"] = datagram.incarnation;
  object["seq"] = datagram.seq;
  if (datagram.ack != 0) object["ack"] = datagram.ack;
  object["ts"] = datagram.ts;
  if (datagram.draining) object["draining"] = true;
  if (!datagram.figures.empty()) {
    json::array figures;
    for (const auto& figure : datagram.figures) figures.emplace_back(figure);
    object["figures"] = std::move(figures);
  }
  object["load"] = {{"in_flight", datagram.load.in_flight}, {"served", datagram.load.served}};
  const std::string body = json::serialize(object);
  std::string out(kMagic);
  out += secret.empty() ? std::string("-") : mac_of(body, secret);
  out += '\n';
  out += body;
  if (out.size() > net::kMaxDatagramBytes) return std::nullopt;
  return out;
}

Decoded decode(std::string_view bytes, std::string_view secret) {
  if (bytes.size() > net::kMaxDatagramBytes) return reject("too_large");
  if (!bytes.starts_with(kMagic)) return reject("bad_magic");
  const auto newline = bytes.find('\n');
  if (newline == std::string_view::npos) return reject("no_body");
  const auto mac = bytes.substr(kMagic.size(), newline - kMagic.size());
  const auto body = bytes.substr(newline + 1);
  if (!secret.empty()) {
    const auto expected = mac_of(body, secret);
    if (mac.size() != expected.size() ||
        CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) != 0) {
      return reject("bad_signature");
    }
  }
  boost::system::error_code error;
  auto parsed = json::parse(body, error);
  if (error || !parsed.is_object()) return reject("bad_json");
  const auto& object = parsed.as_object();

  Datagram datagram;
  const auto* type = field(object, "type");
  const auto parsed_type = type && type->is_string() ? type_from(type->as_string()) : std::nullopt;
  if (!parsed_type) return reject("bad_type");
  datagram.type = *parsed_type;

  for (auto [key, target] : {std::pair{"node", &datagram.node}, std::pair{"role", &datagram.role},
                             std::pair{"island", &datagram.island}}) {
    const auto* value = field(object, key);
    if (value == nullptr || !value->is_string()) return reject(std::string("bad_") + key);
    *target = std::string(value->as_string());
  }
  if (!core::parse_endpoint(datagram.node)) return reject("bad_node");
  if (!short_token(datagram.role)) return reject("bad_role");
  const bool unwelcomed_hello = datagram.island.empty() && datagram.type == DatagramType::hello;
  if (!unwelcomed_hello && !short_token(datagram.island)) return reject("bad_island");

  const auto incarnation = unsigned_field(object, "incarnation");
  const auto seq = unsigned_field(object, "seq");
  const auto ack = unsigned_field(object, "ack");
  const auto ts = unsigned_field(object, "ts");
  if (!incarnation || !seq || !ack || !ts) return reject("bad_number");
  datagram.incarnation = *incarnation;
  datagram.seq = *seq;
  datagram.ack = *ack;
  datagram.ts = *ts;

  if (const auto* draining = field(object, "draining")) {
    if (!draining->is_bool()) return reject("bad_draining");
    datagram.draining = draining->as_bool();
  }
  if (const auto* figures = field(object, "figures")) {
    if (!figures->is_array()) return reject("bad_figures");
    if (figures->as_array().size() > kMaxFiguresPerDatagram) return reject("too_many_figures");
    for (const auto& figure : figures->as_array()) {
      // The same grammar as figure names in URLs (1-64 of a-z, 0-9, '-'): a name no client
      // could ask for is never worth a place in the table.
      if (!figure.is_string() || !core::valid_figure_name(figure.as_string())) {
        return reject("bad_figure_name");
      }
      datagram.figures.emplace_back(figure.as_string());
    }
  }
  if (const auto* load = field(object, "load")) {
    if (!load->is_object()) return reject("bad_load");
    const auto in_flight = unsigned_field(load->as_object(), "in_flight");
    const auto served = unsigned_field(load->as_object(), "served");
    if (!in_flight || !served || *in_flight > UINT32_MAX) return reject("bad_load");
    datagram.load = {static_cast<std::uint32_t>(*in_flight), *served};
  }
  return Decoded{std::move(datagram), {}};
}

}  // namespace isla::membership
