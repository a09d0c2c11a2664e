#include "balancer/pair/heartbeat_codec.hpp"

#include <boost/json.hpp>

#include "core/endpoint.hpp"
#include "election/codec.hpp"
#include "membership/datagram.hpp"

namespace isla::balancer::pair {

namespace json = boost::json;

namespace {

constexpr std::string_view kType = "balancer_pair";

DecodedBeat reject(std::string why) {
  return {std::nullopt, std::move(why)};
}

std::optional<std::uint64_t> unsigned_field(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_uint64()) return value->as_uint64();
  if (value->is_int64() && value->as_int64() >= 0) return value->as_int64();
  return std::nullopt;
}

}  // namespace

std::string encode(const Heartbeat& beat, std::string_view secret) {
  json::array messages;
  for (const auto& message : beat.messages) messages.push_back(election::to_json(message));
  json::object body{{"type", kType},
                    {"node", beat.node},
                    {"priority", beat.priority},
                    {"incarnation", beat.incarnation},
                    {"seq", beat.seq},
                    {"ts", beat.ts},
                    {"term", beat.term},
                    {"holds", beat.holds},
                    {"leaving", beat.leaving},
                    {"messages", std::move(messages)}};
  return membership::seal(json::serialize(body), secret);
}

DecodedBeat decode(std::string_view bytes, std::string_view secret) {
  const auto unsealed = membership::unseal(bytes, secret);
  if (!unsealed.body) return reject(unsealed.rejection);
  boost::system::error_code error;
  const auto parsed = json::parse(*unsealed.body, error);
  if (error || !parsed.is_object()) return reject("bad_json");
  const auto& object = parsed.as_object();

  const auto* type = object.if_contains("type");
  if (type == nullptr || !type->is_string() || type->as_string() != kType) {
    return reject("bad_type");
  }
  Heartbeat beat;
  const auto* node = object.if_contains("node");
  if (node == nullptr || !node->is_string() ||
      node->as_string().size() > election::kMaxNodeIdBytes ||
      !core::parse_endpoint(node->as_string())) {
    return reject("bad_node");
  }
  beat.node = std::string(node->as_string());

  const auto priority = unsigned_field(object, "priority");
  if (!priority || *priority > UINT32_MAX) return reject("bad_priority");
  beat.priority = static_cast<std::uint32_t>(*priority);
  for (auto [key, target] :
       {std::pair{"incarnation", &beat.incarnation}, std::pair{"seq", &beat.seq},
        std::pair{"ts", &beat.ts}, std::pair{"term", &beat.term}}) {
    const auto value = unsigned_field(object, key);
    if (!value) return reject(std::string("bad_") + key);
    *target = *value;
  }
  const auto* holds = object.if_contains("holds");
  if (holds == nullptr || !holds->is_bool()) return reject("bad_holds");
  beat.holds = holds->as_bool();
  const auto* leaving = object.if_contains("leaving");
  if (leaving != nullptr && !leaving->is_bool()) return reject("bad_leaving");
  beat.leaving = leaving != nullptr && leaving->as_bool();

  const auto* messages = object.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return reject("bad_messages");
  if (messages->as_array().size() > kMaxMessagesPerBeat) return reject("too_many_messages");
  for (const auto& value : messages->as_array()) {
    auto decoded = election::from_json(value);
    if (!decoded.message) return reject("bad_message_" + decoded.rejection);
    if (decoded.message->from.id != beat.node) return reject("foreign_message");
    beat.messages.push_back(std::move(*decoded.message));
  }
  return {std::move(beat), {}};
}

}  // namespace isla::balancer::pair
