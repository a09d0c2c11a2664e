#include "store/kv_api.hpp"

#include <spdlog/spdlog.h>

#include <atomic>

#include "consensus/codec.hpp"
#include "consensus/raft_rpc.hpp"
#include "core/parse.hpp"
#include "store/store_http.hpp"
#include "store/store_rpc.hpp"
#include "store/system_keys.hpp"

namespace isla::store {

namespace json = boost::json;
using net::HttpRequest;
using net::HttpResponse;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kWatchPoll = std::chrono::seconds(1);

bool is_reserved(std::string_view key) {
  return key == "txn" || key == "watch" || key == "lease" || key.starts_with("lease/");
}

Consistency consistency_of(const HttpRequest& request) {
  auto value = net::query_param(request.query(), "serializable");
  return value && (*value == "true" || *value == "1") ? Consistency::serializable
                                                      : Consistency::linearizable;
}

HttpResponse ok_json(json::object body) {
  return net::json_response(200, json::serialize(body));
}

class KvApi {
 public:
  KvApi(Store& store, RaftStore* raft, const net::HttpClient& client, KvApiOptions options)
      : store_(store), raft_(raft), client_(client), options_(options) {}

  asio::awaitable<HttpResponse> get_key(HttpRequest& request, std::string_view tail) {
    auto key = key_from(tail);
    if (auto* error = std::get_if<HttpResponse>(&key)) co_return std::move(*error);
    const auto& name = std::get<std::string>(key);
    if (is_private_key(name) && !may_change_system_keys(request.principal)) {
      co_return private_refusal();
    }
    const auto consistency = consistency_of(request);
    auto result = co_await store_.range(name, false, consistency, request.deadline);
    if (!result.ok()) co_return error_response(result.error);
    if (result.value->kvs.empty()) {
      json::object body{{"error", "key not found"}, {"revision", result.value->revision}};
      co_return net::json_response(404, json::serialize(body));
    }
    auto body = to_json(result.value->kvs.front());
    body["revision"] = result.value->revision;
    co_return ok_json(std::move(body));
  }

  asio::awaitable<HttpResponse> list(HttpRequest& request, std::string_view) {
    auto raw = net::query_param(request.query(), "prefix");
    if (!raw) co_return net::json_error(400, "give ?prefix= (an empty prefix lists every key)");
    auto prefix = net::percent_decode(*raw);
    if (!prefix) co_return net::json_error(400, "the prefix has a malformed %-escape or a NUL");
    if (auto error = check_prefix(*prefix, options_.limits)) {
      co_return net::json_error(400, "prefix: " + error->message);
    }
    const auto consistency = consistency_of(request);
    auto result = co_await store_.range(*prefix, true, consistency, request.deadline);
    if (!result.ok()) co_return error_response(result.error);
    if (!may_change_system_keys(request.principal)) {
      std::erase_if(result.value->kvs, [](const KeyValue& kv) { return is_private_key(kv.key); });
    }
    co_return ok_json({{"revision", result.value->revision},
                       {"count", result.value->kvs.size()},
                       {"kvs", to_json(result.value->kvs)}});
  }

  asio::awaitable<HttpResponse> put_key(HttpRequest& request, std::string_view tail) {
    auto key = key_from(tail);
    if (auto* error = std::get_if<HttpResponse>(&key)) co_return std::move(*error);
    auto op = parse_put(std::get<std::string>(std::move(key)), request.body, options_.limits);
    if (auto* error = std::get_if<KvRequestError>(&op)) {
      co_return net::json_error(error->status, error->message);
    }
    Txn txn;
    txn.success.push_back(std::get<RequestOp>(std::move(op)));
    co_return co_await write(request, txn, [](const TxnResult& result) {
      json::object body{{"revision", result.revision}};
      const auto& previous = result.results.front().kvs;
      body["prev"] = previous.empty() ? json::value(nullptr) : json::value(to_json(previous[0]));
      return body;
    });
  }

  asio::awaitable<HttpResponse> delete_key(HttpRequest& request, std::string_view tail) {
    auto key = key_from(tail);
    if (auto* error = std::get_if<HttpResponse>(&key)) co_return std::move(*error);
    const auto txn = delete_txn(std::get<std::string>(std::move(key)));
    co_return co_await write(request, txn, [](const TxnResult& result) -> json::object {
      return {{"revision", result.revision}, {"deleted", result.results.front().deleted}};
    });
  }

  asio::awaitable<HttpResponse> txn(HttpRequest& request, std::string_view) {
    auto parsed = parse_txn(request.body, options_.limits);
    if (auto* error = std::get_if<KvRequestError>(&parsed)) {
      co_return net::json_error(error->status, error->message);
    }
    co_return co_await write(request, std::get<Txn>(parsed),
                             [](const TxnResult& result) { return to_json(result); });
  }

  asio::awaitable<HttpResponse> watch(HttpRequest& request, std::string_view) {
    std::string prefix;
    if (auto raw = net::query_param(request.query(), "prefix")) {
      auto decoded = net::percent_decode(*raw);
      if (!decoded) co_return net::json_error(400, "the prefix has a malformed %-escape or a NUL");
      if (auto error = check_prefix(*decoded, options_.limits)) {
        co_return net::json_error(400, "prefix: " + error->message);
      }
      prefix = std::move(*decoded);
    }
    auto current = co_await current_revision(request.deadline);
    if (!current.ok()) co_return error_response(current.error);
    Revision from = *current.value + 1;
    if (auto raw = net::query_param(request.query(), "from")) {
      auto parsed = core::parse_integer<std::int64_t>(*raw);
      if (!parsed || *parsed < 0) {
        co_return net::json_error(400, "\"from\" must be a revision (a non-negative integer)");
      }
      from = std::max<Revision>(*parsed, 1);
    }
    if (is_private_key(prefix) && !may_change_system_keys(request.principal)) {
      co_return private_refusal();
    }
    auto slot = take_watcher_slot();
    if (!slot) {
      auto busy = net::json_error(503, "this gateway serves " +
                                           std::to_string(options_.limits.max_watchers) +
                                           " watches already; try another gateway or later");
      busy.headers.emplace_back("Retry-After", "1");
      co_return busy;
    }
    const bool hide_private = !may_change_system_keys(request.principal);
    co_return event_stream(std::move(prefix), from, *current.value, request.remote, hide_private,
                           std::move(slot));
  }

  asio::awaitable<HttpResponse> grant_lease(HttpRequest& request, std::string_view) {
    boost::system::error_code error;
    auto body = json::parse(request.body, error);
    const json::value* ttl =
        error || !body.is_object() ? nullptr : body.as_object().if_contains("ttl_ms");
    if (ttl == nullptr || !ttl->is_int64() || ttl->as_int64() <= 0 ||
        ttl->as_int64() > 86'400'000) {
      co_return net::json_error(400,
                                "the body must be {\"ttl_ms\": N} with 0 < N <= 86400000 (a day)");
    }
    auto result = co_await store_.grant_lease(ttl->as_int64(), request.deadline);
    if (!result.ok()) co_return co_await failed(request, result.error);
    co_return ok_json({{"id", result.value->id}, {"ttl_ms", result.value->ttl_ms}});
  }

  asio::awaitable<HttpResponse> lease_action(HttpRequest& request, std::string_view tail) {
    const bool keep_alive = request.method == "POST";
    std::string_view id_text = tail;
    if (keep_alive) {
      if (!tail.ends_with("/keepalive")) {
        co_return net::json_error(404, "use POST /api/kv/lease/{id}/keepalive");
      }
      id_text = tail.substr(0, tail.size() - std::string_view("/keepalive").size());
    }
    auto id = core::parse_integer<std::int64_t>(id_text);
    if (!id || *id <= 0) co_return net::json_error(400, "the lease id must be a positive integer");
    if (keep_alive) {
      auto result = co_await store_.keep_alive(*id, request.deadline);
      if (result.ok()) co_return ok_json({{"id", *id}});
      if (result.error.code == StoreErrorCode::rejected) {
        co_return net::json_error(404, result.error.message);
      }
      co_return co_await failed(request, result.error);
    }
    auto result = co_await store_.revoke_lease(*id, request.deadline);
    if (!result.ok()) co_return co_await failed(request, result.error);
    if (!result.value->error.empty()) co_return net::json_error(404, result.value->error);
    co_return ok_json({{"id", *id}, {"revision", result.value->revision}});
  }

  asio::awaitable<HttpResponse> raft_messages(HttpRequest& request, std::string_view) {
    // Messages of another store (another island, or a replica started on other data) must
    // not be stepped: their terms and indexes mean nothing here.
    const auto cluster = net::query_param(request.query(), "cluster");
    const auto ours = consensus::cluster_param(raft_->cluster_id());
    if (!cluster || *cluster != ours) {
      co_return net::json_error(409, "this replica belongs to store cluster " + ours + ", not " +
                                         std::string(cluster.value_or("(none)")));
    }
    const auto nonce = net::query_param(request.query(), "reply");
    if (nonce && !consensus::valid_reply_nonce(*nonce)) {
      co_return net::json_error(400, "reply: not a nonce (1 to 64 lowercase hex digits)");
    }
    auto messages = consensus::decode_message_batch(request.body);
    if (!messages) co_return net::json_error(400, "the body is not a Raft message batch");
    HttpResponse response;
    response.status = 204;
    response.content_type.clear();
    if (!nonce) {
      raft_->receive(std::move(*messages));
      co_return response;
    }
    // Past this the sender is better served by answers in requests of their own.
    const auto deadline = std::min(request.deadline, Clock::now() + options_.raft_answer_wait);
    auto answers = co_await raft_->receive_and_answer(std::move(*messages), deadline);
    if (answers.empty()) co_return response;
    response.status = 200;
    response.content_type = "application/octet-stream";
    response.body = consensus::encode_message_batch(answers);
    if (!options_.reply_key.empty()) {
      response.headers.emplace_back(
          std::string(consensus::kReplyMacHeader),
          consensus::reply_mac(options_.reply_key, *nonce, response.body));
    }
    co_return response;
  }

  // A chunk of a streamed snapshot (consensus/snapshot_stream.hpp); the answer says how much
  // of that snapshot this replica holds, refused or not.
  asio::awaitable<HttpResponse> raft_snapshot(HttpRequest& request, std::string_view) {
    const auto answer = raft_->receive_snapshot_chunk(request.query(), request.body);
    co_return net::json_response(answer.status, consensus::encode_chunk_answer(answer));
  }

  asio::awaitable<HttpResponse> raft_join(HttpRequest& request, std::string_view) {
    boost::system::error_code error;
    auto body = json::parse(request.body, error);
    auto join = error
                    ? json::result<JoinRequest>(boost::system::error_code(
                          boost::system::errc::invalid_argument, boost::system::generic_category()))
                    : json::try_value_to<JoinRequest>(body);
    if (!join || join->id == 0 || !core::parse_endpoint(join->address)) {
      co_return net::json_error(400, "the body must be {\"id\": N, \"address\": \"host:port\"}");
    }
    auto result = co_await raft_->add_learner(join->id, join->address);
    if (result.code != StoreErrorCode::ok) co_return error_response(result);
    co_return ok_json({});
  }

 private:
  // The revision this gateway's view of the store has reached: the replica's own on the
  // embedded store; on another back end, the revision a read of one key carries.
  asio::awaitable<StoreResult<Revision>> current_revision(Deadline deadline) {
    if (raft_ != nullptr) co_return StoreResult<Revision>{raft_->revision(), {}};
    const std::string probe = std::string(kSystemPrefix) + "revision";
    auto read = co_await store_.range(probe, false, Consistency::linearizable, deadline);
    if (!read.ok()) co_return StoreResult<Revision>{std::nullopt, std::move(read.error)};
    co_return StoreResult<Revision>{read.value->revision, {}};
  }

  // Keys come percent-encoded in the path; some names are the API's own.
  std::variant<std::string, HttpResponse> key_from(std::string_view tail) const {
    auto key = net::percent_decode(tail);
    if (!key) return net::json_error(400, "the key has a malformed %-escape or a NUL byte");
    if (is_reserved(*key)) {
      return net::json_error(400, "\"" + *key +
                                      "\" is reserved by the API; use POST /api/kv/txn to "
                                      "reach such a key");
    }
    if (auto error = check_key(*key, options_.limits)) {
      return net::json_error(error->status, error->message);
    }
    return std::move(*key);
  }

  template <class Describe>
  asio::awaitable<HttpResponse> write(HttpRequest& request, const Txn& txn, Describe describe) {
    const bool trusted = may_change_system_keys(request.principal);
    if (reads_private_keys(txn) && !trusted) co_return private_refusal();
    if (touches_system_keys(txn) && !trusted) {
      co_return net::json_error(
          403, "keys under \"" + std::string(kSystemPrefix) +
                   "\" are isla's own (the token deny list, the task queue, the store's "
                   "promotion promises): only an admin token changes them, and a delete of "
                   "every key needs one too");
    }
    auto result = co_await store_.txn(txn, request.deadline);
    if (!result.ok()) co_return co_await failed(request, result.error);
    if (!result.value->error.empty()) co_return net::json_error(400, result.value->error);
    co_return ok_json(describe(*result.value));
  }

  static HttpResponse private_refusal() {
    return net::json_error(403, "keys under \"" + std::string(kPrivatePrefix) +
                                    "\" are each subject's orders: read them through "
                                    "/api/orders (only an admin reads them here)");
  }

  // A follower hands writes to the leader as they came, one hop further.
  asio::awaitable<HttpResponse> failed(HttpRequest& request, const StoreError& error) {
    co_return co_await forward_to_leader(client_, request, error, options_.max_hops);
  }

  // `current`: the revision this replica had applied when the watch began. A client that
  // loses the stream before any event resumes from current + 1 (or its `from`) without a gap.
  // A place among the watchers this gateway serves, given back when the stream ends.
  std::shared_ptr<void> take_watcher_slot() {
    if (watchers_->fetch_add(1) >= options_.limits.max_watchers) {
      watchers_->fetch_sub(1);
      return nullptr;
    }
    return std::shared_ptr<void>(watchers_.get(),
                                 [count = watchers_](void*) { count->fetch_sub(1); });
  }

  HttpResponse event_stream(std::string prefix, Revision from, Revision current, std::string remote,
                            bool hide_private, std::shared_ptr<void> slot) {
    struct State {
      std::string prefix;
      std::string remote;
      bool hide_private;  // a prefix over the orders' keys, watched by a client
      std::shared_ptr<void> slot;
      Revision from;  // the first revision not yet handed to the server
      std::chrono::steady_clock::time_point next_keepalive;
      bool replaying = false;  // the last page stopped at a limit: more history is there
      bool done = false;
    };
    auto state = std::make_shared<State>(
        State{std::move(prefix), std::move(remote), hide_private, std::move(slot), from,
              std::chrono::steady_clock::now() + options_.watch_keepalive});
    HttpResponse response;
    response.content_type = "text/event-stream";
    response.headers.emplace_back("Cache-Control", "no-cache");
    response.headers.emplace_back("Isla-Revision", std::to_string(current));
    response.headers.emplace_back("Isla-Watch-From", std::to_string(from));
    response.stream =
        [this, state](net::StreamBacklog& backlog) -> asio::awaitable<std::optional<std::string>> {
      if (state->done) co_return std::nullopt;
      // History is replayed at the client's pace: what it has not taken yet stays in the
      // store. Once up to date the watch takes events as they come, and a client that
      // cannot keep up is cut off below rather than buffered without end.
      if (state->replaying) co_await backlog.wait_unsent_at_most(0);
      const auto now = std::chrono::steady_clock::now();
      auto result = co_await store_.watch(state->prefix, state->from, now + kWatchPoll);
      if (!result.ok()) {
        state->done = true;
        co_return last_event("error", {{"error", net::valid_utf8(result.error.message)},
                                       {"resume_from", state->from}});
      }
      if (result.value->compacted) {
        state->done = true;
        co_return last_event("compacted",
                             {{"error",
                               "the revision asked for was compacted; read again and watch "
                               "from the revision the read returns"},
                              {"compact_revision", result.value->compact_revision}});
      }
      std::string chunk;
      for (const auto& event : result.value->events) {
        if (state->hide_private && is_private_key(event.kv.key)) continue;
        chunk += "id: " + std::to_string(event.kv.mod_revision) +
                 "\nevent: " + (event.type == Event::Type::put ? "put" : "delete") +
                 "\ndata: " + json::serialize(to_json(event.kv)) + "\n\n";
      }
      if (backlog.would_exceed(chunk.size(), options_.limits.max_watch_unread_bytes)) {
        state->done = true;
        const std::size_t unread = backlog.unsent_bytes();
        spdlog::warn("store watch cut off remote={} prefix=\"{}\" unread_bytes={} resume_from={}",
                     state->remote, net::valid_utf8(state->prefix), unread, state->from);
        co_return last_event(
            "error", {{"error", "watcher too slow: " + std::to_string(unread) + " bytes unread"},
                      {"unread_bytes", unread},
                      {"resume_from", state->from}});
      }
      state->from = result.value->next;
      state->replaying = result.value->more;
      if (chunk.empty() && std::chrono::steady_clock::now() >= state->next_keepalive) {
        chunk = ": keep-alive\n\n";
      }
      if (!chunk.empty()) state->next_keepalive = now + options_.watch_keepalive;
      co_return chunk;
    };
    return response;
  }

  // The event that ends a stream early: what happened, and how to go on.
  static std::string last_event(std::string_view type, const json::object& body) {
    return "event: " + std::string(type) + "\ndata: " + json::serialize(body) + "\n\n";
  }

  Store& store_;
  RaftStore* raft_;  // the embedded store's replica, for the internal Raft routes; or null
  const net::HttpClient& client_;
  KvApiOptions options_;
  std::shared_ptr<std::atomic<std::size_t>> watchers_ =
      std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace

void add_kv_routes(net::Router& router, RaftStore& store, const net::HttpClient& client,
                   KvApiOptions options) {
  add_kv_routes(router, store, &store, client, options);
}

void add_kv_routes(net::Router& router, Store& store, RaftStore* raft,
                   const net::HttpClient& client, KvApiOptions options) {
  auto api = std::make_shared<KvApi>(store, raft, client, options);
  if (raft != nullptr) {
    router.add("POST", "/internal/raft/messages", false, "raft_messages", net::Access::node,
               bind(api, &KvApi::raft_messages));
    // A peer's batches are stepped, flushed and answered on the Raft loop: serving their
    // connection there too saves a wake-up of another thread on the way in and on the way
    // out, which on a lone writer's path cost more than they carry.
    router.serve_on("raft_messages", raft->node().loop_context());
    router.add("POST", "/internal/raft/snapshot", false, "raft_snapshot", net::Access::node,
               bind(api, &KvApi::raft_snapshot));
    router.add("POST", "/internal/raft/join", false, "raft_join", net::Access::node,
               bind(api, &KvApi::raft_join));
  }
  router.add("GET", "/api/kv", false, "kv_list", net::Access::read, bind(api, &KvApi::list));
  router.add("GET", "/api/kv/watch", false, "kv_watch", net::Access::read,
             bind(api, &KvApi::watch));
  router.add("POST", "/api/kv/txn", false, "kv_txn", net::Access::write, bind(api, &KvApi::txn));
  router.add("POST", "/api/kv/lease", false, "kv_lease", net::Access::write,
             bind(api, &KvApi::grant_lease));
  router.add("POST", "/api/kv/lease/", true, "kv_lease", net::Access::write,
             bind(api, &KvApi::lease_action));
  router.add("DELETE", "/api/kv/lease/", true, "kv_lease", net::Access::write,
             bind(api, &KvApi::lease_action));
  router.add("GET", "/api/kv/", true, "kv_get", net::Access::read, bind(api, &KvApi::get_key));
  router.add("PUT", "/api/kv/", true, "kv_put", net::Access::write, bind(api, &KvApi::put_key));
  router.add("DELETE", "/api/kv/", true, "kv_delete", net::Access::write,
             bind(api, &KvApi::delete_key));
}

}  // namespace isla::store
