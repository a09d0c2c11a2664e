#include "election/codec.hpp"

#include <array>
#include <set>
#include <utility>

#include "core/endpoint.hpp"

namespace isla::election {

namespace json = boost::json;

namespace {

constexpr std::array kKinds{MessageKind::election,      MessageKind::answer,
                            MessageKind::coordinator,   MessageKind::heartbeat,
                            MessageKind::ring_election, MessageKind::ring_coordinator,
                            MessageKind::ring_ack};

std::optional<MessageKind> kind_from(std::string_view text) {
  for (const auto kind : kKinds) {
    if (text == to_string(kind)) return kind;
  }
  return std::nullopt;
}

bool travels_the_ring(MessageKind kind) {
  return kind == MessageKind::ring_election || kind == MessageKind::ring_coordinator;
}

json::object candidate_json(const Candidate& candidate) {
  return {{"id", candidate.id}, {"priority", candidate.priority}};
}

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxNodeIdBytes && core::parse_endpoint(id).has_value();
}

std::optional<std::uint64_t> as_unsigned(const json::value& value) {
  if (value.is_uint64()) return value.as_uint64();
  if (value.is_int64() && value.as_int64() >= 0)
    return static_cast<std::uint64_t>(value.as_int64());
  return std::nullopt;
}

std::optional<std::string> id_from(const json::value* value) {
  if (value == nullptr || !value->is_string() || !valid_id(value->as_string())) return std::nullopt;
  return std::string(value->as_string());
}

std::optional<Candidate> candidate_from(const json::value* value) {
  if (value == nullptr || !value->is_object()) return std::nullopt;
  const auto& object = value->as_object();
  auto id = id_from(object.if_contains("id"));
  if (!id) return std::nullopt;
  Candidate candidate{std::move(*id), 0};
  if (const auto* priority = object.if_contains("priority")) {
    const auto number = as_unsigned(*priority);
    if (!number || *number > UINT32_MAX) return std::nullopt;
    candidate.priority = static_cast<std::uint32_t>(*number);
  }
  return candidate;
}

// A required unsigned field; nullopt when absent or not a non-negative integer.
std::optional<std::uint64_t> number_from(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value ? as_unsigned(*value) : std::nullopt;
}

DecodedMessage reject(std::string why) {
  return {std::nullopt, std::move(why)};
}

// ring_election: the initiator first, then each node it passed, each once.
std::optional<std::string> read_candidates(const json::object& object, ElectionMessage& message) {
  const auto* list = object.if_contains("candidates");
  if (list == nullptr || !list->is_array() || list->as_array().empty()) return "bad_candidates";
  if (list->as_array().size() > kMaxCandidates) return "too_many_candidates";
  std::set<std::string> seen;
  for (const auto& item : list->as_array()) {
    auto candidate = candidate_from(&item);
    if (!candidate) return "bad_candidates";
    if (!seen.insert(candidate->id).second) return "duplicate_candidate";
    message.candidates.push_back(std::move(*candidate));
  }
  if (message.candidates.front().id != message.initiator) return "bad_initiator";
  return std::nullopt;
}

std::optional<std::string> read_kind_fields(const json::object& object, ElectionMessage& message) {
  const auto kind = message.kind;
  if (travels_the_ring(kind)) {
    auto initiator = id_from(object.if_contains("initiator"));
    if (!initiator) return "bad_initiator";
    message.initiator = std::move(*initiator);
    const auto attempt = number_from(object, "attempt");
    if (!attempt) return "bad_attempt";
    message.attempt = *attempt;
  }
  if (travels_the_ring(kind) || kind == MessageKind::ring_ack) {
    const auto seq = number_from(object, "seq");
    if (!seq) return "bad_seq";
    message.seq = *seq;
  }
  if (kind == MessageKind::ring_election) return read_candidates(object, message);
  const bool names_leader = kind == MessageKind::ring_coordinator || kind == MessageKind::answer;
  if (const auto* leader = object.if_contains("leader"); names_leader && leader) {
    message.leader = candidate_from(leader);
    if (!message.leader) return "bad_leader";
  }
  if (kind == MessageKind::ring_coordinator && !message.leader) return "bad_leader";
  return std::nullopt;
}

}  // namespace

json::object to_json(const ElectionMessage& message) {
  json::object object;
  object["kind"] = to_string(message.kind);
  object["from"] = candidate_json(message.from);
  object["term"] = message.term;
  const auto kind = message.kind;
  if (travels_the_ring(kind)) {
    object["initiator"] = message.initiator;
    object["attempt"] = message.attempt;
  }
  if (travels_the_ring(kind) || kind == MessageKind::ring_ack) object["seq"] = message.seq;
  if (kind == MessageKind::ring_election) {
    json::array candidates;
    for (const auto& candidate : message.candidates)
      candidates.push_back(candidate_json(candidate));
    object["candidates"] = std::move(candidates);
  }
  const bool names_leader = kind == MessageKind::ring_coordinator || kind == MessageKind::answer;
  if (names_leader && message.leader) object["leader"] = candidate_json(*message.leader);
  return object;
}

std::string encode(const ElectionMessage& message) {
  return json::serialize(to_json(message));
}

DecodedMessage from_json(const json::value& value) {
  if (!value.is_object()) return reject("not_an_object");
  const auto& object = value.as_object();
  ElectionMessage message;
  const auto* kind = object.if_contains("kind");
  const auto parsed_kind = kind && kind->is_string() ? kind_from(kind->as_string()) : std::nullopt;
  if (!parsed_kind) return reject("bad_kind");
  message.kind = *parsed_kind;
  auto from = candidate_from(object.if_contains("from"));
  if (!from) return reject("bad_from");
  message.from = std::move(*from);
  const auto term = number_from(object, "term");
  if (!term) return reject("bad_term");
  message.term = *term;
  if (auto why = read_kind_fields(object, message)) return reject(std::move(*why));
  return {std::move(message), {}};
}

DecodedMessage decode(std::string_view text) {
  if (text.size() > kMaxMessageBytes) return reject("too_large");
  boost::system::error_code error;
  json::parse_options options;
  options.max_depth = 8;
  const auto value = json::parse(text, error, {}, options);
  if (error) return reject("bad_json");
  return from_json(value);
}

}  // namespace isla::election
