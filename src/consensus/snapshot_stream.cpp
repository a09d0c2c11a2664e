#include "consensus/snapshot_stream.hpp"

#include <boost/json.hpp>

#include "consensus/raft_rpc.hpp"
#include "core/parse.hpp"
#include "net/http_types.hpp"

namespace isla::consensus {

namespace json = boost::json;

namespace {

// The parameters in the order the target spells them, each with its field.
struct Field {
  std::string_view name;
  std::uint64_t ChunkHeader::*member;
};
constexpr Field kDecimalFields[] = {{"from", &ChunkHeader::from},
                                    {"to", &ChunkHeader::to},
                                    {"leader_term", &ChunkHeader::leader_term},
                                    {"index", &ChunkHeader::index},
                                    {"term", &ChunkHeader::term},
                                    {"offset", &ChunkHeader::offset},
                                    {"total", &ChunkHeader::total}};

ChunkQuery refuse(std::string error) {
  return {std::nullopt, std::move(error)};
}

}  // namespace

std::string snapshot_chunk_target(const ChunkHeader& header) {
  std::string target = "/internal/raft/snapshot?cluster=" + cluster_param(header.cluster_id);
  for (const auto& field : kDecimalFields) {
    target += '&';
    target += field.name;
    target += '=';
    target += std::to_string(header.*field.member);
  }
  return target;
}

ChunkQuery parse_chunk_query(std::string_view query) {
  ChunkHeader header;
  const auto cluster = net::query_param(query, "cluster");
  if (!cluster) return refuse("give ?cluster= (the store cluster's id, in hex)");
  const auto cluster_id = core::parse_integer<std::uint64_t>(*cluster, 16);
  if (!cluster_id) return refuse("\"cluster\" must be a cluster id in hex");
  header.cluster_id = *cluster_id;
  for (const auto& field : kDecimalFields) {
    const auto raw = net::query_param(query, field.name);
    const auto value = raw ? core::parse_integer<std::uint64_t>(*raw) : std::nullopt;
    if (!value) {
      return refuse("\"" + std::string(field.name) + "\" must be given, as a whole number");
    }
    header.*field.member = *value;
  }
  if (header.from == 0 || header.to == 0) return refuse("\"from\" and \"to\" must name nodes");
  if (header.index == 0) return refuse("\"index\" must be a snapshot's index (at least 1)");
  if (header.total == 0 || header.offset >= header.total) {
    return refuse("\"offset\" must lie within the snapshot's \"total\" bytes");
  }
  return {header, {}};
}

std::string encode_chunk_answer(const ChunkAnswer& answer) {
  json::object body;
  if (!answer.error.empty()) body["error"] = net::valid_utf8(answer.error);
  if (answer.offset) body["offset"] = *answer.offset;
  if (answer.complete) body["complete"] = true;
  return json::serialize(body);
}

ChunkAnswer parse_chunk_answer(int status, std::string_view body) {
  ChunkAnswer answer;
  answer.status = status;
  boost::system::error_code error;
  const auto parsed = json::parse(body, error);
  const auto* object = error ? nullptr : parsed.if_object();
  if (object == nullptr) {
    answer.error = "HTTP " + std::to_string(status) + " without a chunk answer";
    return answer;
  }
  if (const auto* message = object->if_contains("error"); message && message->is_string()) {
    answer.error = std::string(message->get_string());
  }
  // Offsets are unsigned 64-bit; boost.json keeps those above 2^63 as uint64.
  if (const auto* offset = object->if_contains("offset")) {
    if (offset->is_uint64()) {
      answer.offset = offset->get_uint64();
    } else if (offset->is_int64() && offset->get_int64() >= 0) {
      answer.offset = static_cast<std::uint64_t>(offset->get_int64());
    }
  }
  if (const auto* complete = object->if_contains("complete"); complete && complete->is_bool()) {
    answer.complete = complete->get_bool();
  }
  if (status != 200 && answer.error.empty()) answer.error = "HTTP " + std::to_string(status);
  return answer;
}

}  // namespace isla::consensus
