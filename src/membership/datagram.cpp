#include "membership/datagram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
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
  if (text == "ping") return DatagramType::ping;
  if (text == "ack") return DatagramType::ack;
  if (text == "ping_req") return DatagramType::ping_req;
  if (text == "nack") return DatagramType::nack;
  return std::nullopt;
}

std::optional<MemberState> state_from(std::string_view text) {
  if (text == "alive") return MemberState::alive;
  if (text == "suspect") return MemberState::suspect;
  if (text == "dead") return MemberState::dead;
  if (text == "left") return MemberState::left;
  return std::nullopt;
}

bool is_probe_type(DatagramType type) {
  return type == DatagramType::ping || type == DatagramType::ack ||
         type == DatagramType::ping_req || type == DatagramType::nack;
}

// Whether a datagram of this type may, or must, name a target.
enum class TargetRule { forbidden, optional, required };
TargetRule target_rule(DatagramType type) {
  switch (type) {
    case DatagramType::ack:
      return TargetRule::optional;
    case DatagramType::ping_req:
    case DatagramType::nack:
      return TargetRule::required;
    default:
      return TargetRule::forbidden;
  }
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

bool valid_address(std::string_view text) {
  return core::parse_endpoint(text).has_value();
}

json::object load_json(const Load& load) {
  json::object object{{"in_flight", load.in_flight}, {"served", load.served}};
  // Left out when zero, so that piece servers' datagrams stay as they were.
  if (load.queue_delay_ms != 0) object["queue_delay_ms"] = load.queue_delay_ms;
  if (load.p99_ms != 0) object["p99_ms"] = load.p99_ms;
  if (load.cpu_percent != 0) object["cpu_percent"] = load.cpu_percent;
  if (load.capacity != 0) object["capacity"] = load.capacity;
  if (load.saturated) object["saturated"] = true;
  return object;
}

std::optional<Load> load_from(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  const auto& object = value.as_object();
  const auto in_flight = unsigned_field(object, "in_flight");
  const auto served = unsigned_field(object, "served");
  const auto queue_delay = unsigned_field(object, "queue_delay_ms");
  const auto p99 = unsigned_field(object, "p99_ms");
  const auto cpu = unsigned_field(object, "cpu_percent");
  const auto capacity = unsigned_field(object, "capacity");
  if (!in_flight || !served || !queue_delay || !p99 || !cpu || !capacity) return std::nullopt;
  if (*in_flight > UINT32_MAX || *queue_delay > UINT32_MAX || *p99 > UINT32_MAX ||
      *cpu > kMaxCpuPercent || *capacity > UINT32_MAX) {
    return std::nullopt;
  }
  bool saturated = false;
  if (const auto* flag = object.if_contains("saturated")) {
    if (!flag->is_bool()) return std::nullopt;
    saturated = flag->as_bool();
  }
  return Load{static_cast<std::uint32_t>(*in_flight),
              *served,
              static_cast<std::uint32_t>(*queue_delay),
              static_cast<std::uint32_t>(*p99),
              static_cast<std::uint32_t>(*cpu),
              static_cast<std::uint32_t>(*capacity),
              saturated};
}

json::object gossip_json(const GossipEntry& entry) {
  json::object object{
      {"node", entry.node}, {"state", to_string(entry.state)}, {"inc", entry.incarnation}};
  if (!entry.from.empty()) object["from"] = entry.from;
  if (entry.load) object["load"] = load_json(*entry.load);
  return object;
}

std::optional<GossipEntry> gossip_from(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  const auto& object = value.as_object();
  GossipEntry entry;
  const auto* node = field(object, "node");
  if (node == nullptr || !node->is_string() || !valid_address(node->as_string())) {
    return std::nullopt;
  }
  entry.node = std::string(node->as_string());
  const auto* state = field(object, "state");
  const auto parsed_state =
      state && state->is_string() ? state_from(state->as_string()) : std::nullopt;
  if (!parsed_state) return std::nullopt;
  entry.state = *parsed_state;
  const auto* inc = field(object, "inc");
  const auto incarnation = unsigned_field(object, "inc");
  if (inc == nullptr || !incarnation) return std::nullopt;
  entry.incarnation = *incarnation;
  // A suspicion names its accuser and nothing else names one: confirmations are counted per
  // accuser.
  const auto* from = field(object, "from");
  if ((from != nullptr) != (entry.state == MemberState::suspect)) return std::nullopt;
  if (from != nullptr) {
    if (!from->is_string() || !valid_address(from->as_string())) return std::nullopt;
    entry.from = std::string(from->as_string());
  }
  if (const auto* load = field(object, "load")) {
    if (entry.state != MemberState::alive) return std::nullopt;
    entry.load = load_from(*load);
    if (!entry.load) return std::nullopt;
  }
  return entry;
}

// The probe id and target, checked against what the datagram's type requires.
std::optional<std::string> decode_probe_fields(const json::object& object, Datagram& datagram) {
  const auto probe = unsigned_field(object, "probe");
  if (!probe || (*probe != 0) != is_probe_type(datagram.type)) return "bad_probe";
  datagram.probe = *probe;
  const auto* target = field(object, "target");
  const auto rule = target_rule(datagram.type);
  if (target == nullptr) {
    if (rule == TargetRule::required) return "bad_target";
    return std::nullopt;
  }
  if (rule == TargetRule::forbidden || !target->is_string() ||
      !valid_address(target->as_string())) {
    return "bad_target";
  }
  datagram.target = std::string(target->as_string());
  return std::nullopt;
}

std::optional<std::string> decode_gossip(const json::object& object, Datagram& datagram) {
  const auto* gossip = field(object, "gossip");
  if (gossip == nullptr) return std::nullopt;
  if (!gossip->is_array()) return "bad_gossip";
  if (gossip->as_array().size() > kMaxGossipPerDatagram) return "too_much_gossip";
  for (const auto& value : gossip->as_array()) {
    auto entry = gossip_from(value);
    if (!entry) return "bad_gossip";
    datagram.gossip.push_back(std::move(*entry));
  }
  return std::nullopt;
}

// A list of figure names ("figures", "assigned"); the reason it is refused, if it is.
std::optional<std::string> decode_figure_names(const json::value& value, const std::string& key,
                                               std::vector<std::string>& out) {
  if (!value.is_array()) return "bad_" + key;
  if (value.as_array().size() > kMaxFiguresPerDatagram) return "too_many_" + key;
  for (const auto& figure : value.as_array()) {
    // The same grammar as figure names in URLs (1-64 of a-z, 0-9, '-'): a name no client
    // could ask for is never worth a place in the table.
    if (!figure.is_string() || !core::valid_figure_name(figure.as_string())) {
      return std::string("bad_figure_name");
    }
    out.emplace_back(figure.as_string());
  }
  return std::nullopt;
}

// The JSON body with at most `gossip_count` gossip entries.
std::string body_of(const Datagram& datagram, std::size_t gossip_count) {
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
  if (datagram.assigned) {
    json::array assigned;
    for (const auto& figure : *datagram.assigned) assigned.emplace_back(figure);
    object["assigned"] = std::move(assigned);
  }
  object["load"] = load_json(datagram.load);
  if (datagram.probe != 0) object["probe"] = datagram.probe;
  if (!datagram.target.empty()) object["target"] = datagram.target;
  if (gossip_count > 0) {
    json::array gossip;
    for (std::size_t i = 0; i < gossip_count; ++i)
      gossip.emplace_back(gossip_json(datagram.gossip[i]));
    object["gossip"] = std::move(gossip);
  }
  return json::serialize(object);
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
    case DatagramType::ping:
      return "ping";
    case DatagramType::ack:
      return "ack";
    case DatagramType::ping_req:
      return "ping_req";
    case DatagramType::nack:
      return "nack";
  }
  return "unknown";
}

const char* to_string(MemberState state) {
  switch (state) {
    case MemberState::alive:
      return "alive";
    case MemberState::suspect:
      return "suspect";
    case MemberState::dead:
      return "dead";
    case MemberState::left:
      return "left";
  }
  return "unknown";
}

std::optional<std::string> encode(const Datagram& datagram, std::string_view secret) {
  // What the first line leaves for the body: the magic, "-" or the MAC in hex, the newline.
  const std::size_t mac_chars = secret.empty() ? 1 : 2 * SHA256_DIGEST_LENGTH;
  const std::size_t room = net::kMaxDatagramBytes - kMagic.size() - mac_chars - 1;
  // Gossip is a bonus: drop the least fresh entries (the last ones) until the rest fits.
  std::size_t gossip_count = std::min(datagram.gossip.size(), kMaxGossipPerDatagram);
  std::string body = body_of(datagram, gossip_count);
  while (body.size() > room && gossip_count > 0) body = body_of(datagram, --gossip_count);
  auto out = seal(body, secret);
  if (out.size() > net::kMaxDatagramBytes) return std::nullopt;
  return out;
}

std::string seal(std::string_view body, std::string_view secret) {
  std::string out(kMagic);
  out += secret.empty() ? std::string("-") : mac_of(body, secret);
  out += '\n';
  out += body;
  return out;
}

Unsealed unseal(std::string_view bytes, std::string_view secret) {
  if (bytes.size() > net::kMaxDatagramBytes) return {std::nullopt, "too_large"};
  if (!bytes.starts_with(kMagic)) return {std::nullopt, "bad_magic"};
  const auto newline = bytes.find('\n');
  if (newline == std::string_view::npos) return {std::nullopt, "no_body"};
  const auto mac = bytes.substr(kMagic.size(), newline - kMagic.size());
  const auto body = bytes.substr(newline + 1);
  if (!secret.empty()) {
    const auto expected = mac_of(body, secret);
    if (mac.size() != expected.size() ||
        CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) != 0) {
      return {std::nullopt, "bad_signature"};
    }
  }
  return {body, {}};
}

Decoded decode(std::string_view bytes, std::string_view secret) {
  const auto unsealed = unseal(bytes, secret);
  if (!unsealed.body) return reject(unsealed.rejection);
  const auto body = *unsealed.body;
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
  if (!core::valid_short_name(datagram.role)) return reject("bad_role");
  const bool unwelcomed_hello = datagram.island.empty() && datagram.type == DatagramType::hello;
  if (!unwelcomed_hello && !core::valid_short_name(datagram.island)) return reject("bad_island");

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
    if (auto why = decode_figure_names(*figures, "figures", datagram.figures)) {
      return reject(std::move(*why));
    }
  }
  if (const auto* assigned = field(object, "assigned")) {
    if (datagram.type != DatagramType::welcome) return reject("bad_assigned");
    datagram.assigned.emplace();
    if (auto why = decode_figure_names(*assigned, "assigned", *datagram.assigned)) {
      return reject(std::move(*why));
    }
  }
  if (const auto* load = field(object, "load")) {
    auto parsed_load = load_from(*load);
    if (!parsed_load) return reject("bad_load");
    datagram.load = *parsed_load;
  }
  if (auto why = decode_probe_fields(object, datagram)) return reject(std::move(*why));
  if (auto why = decode_gossip(object, datagram)) return reject(std::move(*why));
  return Decoded{std::move(datagram), {}};
}

}  // namespace isla::membership
