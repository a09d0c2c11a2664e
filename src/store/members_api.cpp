#include "store/members_api.hpp"

#include <boost/json.hpp>
#include <variant>

#include "core/endpoint.hpp"
#include "store/store_http.hpp"

namespace isla::store {

namespace json = boost::json;
using net::HttpRequest;
using net::HttpResponse;

namespace {

const char* to_string(consensus::Progress::State state) {
  switch (state) {
    case consensus::Progress::State::probe:
      return "probe";
    case consensus::Progress::State::replicate:
      return "replicate";
    case consensus::Progress::State::snapshot:
      return "snapshot";
  }
  return "unknown";
}

json::object to_json(const StoreMember& member, consensus::Index commit) {
  json::object out{{"id", member.id},
                   {"address", member.address},
                   {"role", member.voter ? "voter" : "learner"},
                   {"leader", member.leader}};
  // Promises are in the store, so every replica knows them; progress only the leader.
  if (!member.voter) out["promoting"] = member.promoting;
  if (member.progress) {
    const auto& progress = *member.progress;
    out["match"] = progress.match;
    out["lag"] = commit > progress.match ? commit - progress.match : 0;
    // How the leader replicates to the others; it keeps no such state for itself.
    if (!member.leader) {
      out["next"] = progress.next;
      out["state"] = to_string(progress.state);
      out["active"] = progress.recent_active;
    }
  }
  return out;
}

// Member ids are hashes of the address, so "localhost:5235" and "127.0.0.1:5235" are
// different members: the address must be the one the gateway was started with (--listen).
std::variant<std::string, HttpResponse> address_from(std::string_view text) {
  auto endpoint = core::parse_endpoint(text);
  if (!endpoint) {
    return net::json_error(400, "not a host:port address: '" + net::valid_utf8(text) +
                                    "' (give the gateway's --listen address)");
  }
  return endpoint->str();
}

class MembersApi {
 public:
  MembersApi(RaftStore& store, const net::HttpClient& client, int max_hops)
      : store_(store), client_(client), max_hops_(max_hops) {}

  asio::awaitable<HttpResponse> list(HttpRequest& request, std::string_view) {
    auto value = net::query_param(request.query(), "serializable");
    const auto consistency = value && (*value == "true" || *value == "1")
                                 ? Consistency::serializable
                                 : Consistency::linearizable;
    auto result = co_await store_.members(consistency);
    if (!result.ok()) co_return co_await failed(request, result.error);
    const auto& members = *result.value;
    json::array list;
    for (const auto& member : members.members) list.push_back(to_json(member, members.commit));
    json::object body{{"leader", members.leader},
                      {"leader_address", members.leader_address},
                      {"commit", members.commit},
                      {"from_leader", members.from_leader},
                      {"members", std::move(list)}};
    co_return net::json_response(200, json::serialize(body));
  }

  asio::awaitable<HttpResponse> add(HttpRequest& request, std::string_view) {
    constexpr std::string_view kShape = "the body must be {\"address\": \"host:port\"}";
    boost::system::error_code error;
    auto body = json::parse(request.body, error);
    if (error || !body.is_object()) co_return net::json_error(400, kShape);
    for (const auto& field : body.as_object()) {
      if (field.key() != "address") {
        co_return net::json_error(
            400, "unknown field \"" + std::string(field.key()) + "\"; " + std::string(kShape));
      }
    }
    const auto* given = body.as_object().if_contains("address");
    if (given == nullptr || !given->is_string()) co_return net::json_error(400, kShape);
    auto address = address_from(given->as_string());
    if (auto* bad = std::get_if<HttpResponse>(&address)) co_return std::move(*bad);
    auto result = co_await store_.add_member(std::get<std::string>(address), request.deadline);
    if (!result.ok()) co_return co_await failed(request, result.error);
    // 202: a learner is in, and becomes a voter later, once it has caught up.
    const auto& member = *result.value;
    co_return net::json_response(member.voter ? 200 : 202,
                                 json::serialize(to_json(member, store_.status().commit)));
  }

  asio::awaitable<HttpResponse> remove(HttpRequest& request, std::string_view tail) {
    auto decoded = net::percent_decode(tail);
    if (!decoded) co_return net::json_error(400, "the address has a malformed %-escape or a NUL");
    auto address = address_from(*decoded);
    if (auto* bad = std::get_if<HttpResponse>(&address)) co_return std::move(*bad);
    auto result = co_await store_.remove_member(std::get<std::string>(address), request.deadline);
    if (!result.ok()) co_return co_await failed(request, result.error);
    co_return net::json_response(200,
                                 json::serialize(to_json(*result.value, store_.status().commit)));
  }

 private:
  asio::awaitable<HttpResponse> failed(HttpRequest& request, const StoreError& error) {
    co_return co_await forward_to_leader(client_, request, error, max_hops_);
  }

  RaftStore& store_;
  const net::HttpClient& client_;
  int max_hops_;
};

}  // namespace

void add_member_routes(net::Router& router, RaftStore& store, const net::HttpClient& client,
                       int max_hops) {
  auto api = std::make_shared<MembersApi>(store, client, max_hops);
  router.add("GET", "/api/store/members", false, "store_members", net::Access::anyone,
             bind(api, &MembersApi::list));
  router.add("POST", "/api/store/members", false, "store_members", net::Access::admin,
             bind(api, &MembersApi::add));
  router.add("DELETE", "/api/store/members/", true, "store_members", net::Access::admin,
             bind(api, &MembersApi::remove));
}

}  // namespace isla::store
