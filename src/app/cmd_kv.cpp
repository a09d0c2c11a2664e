// isla kv get | put | del | ls | watch | txn: the island store from the command line
// (docs/configuration.md). People get values and tables; --json gives the gateway's JSON.
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <iterator>
#include <optional>
#include <thread>

#include "app/client_http.hpp"
#include "app/commands.hpp"
#include "app/server_flags.hpp"
#include "app/table.hpp"
#include "net/http_stream.hpp"
#include "rpc/call.hpp"

namespace isla::app {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct KvArgs {
  ClientFlags client;
  std::string key;  // or the prefix, for ls and watch
  std::string value;
  bool serializable = false;
  std::int64_t lease = 0;   // put --lease; the lease commands' ID
  std::int64_t ttl_ms = 0;  // lease grant
  std::int64_t from = 0;    // watch: 0 = from now on
  long count = 0;           // watch: 0 = until interrupted
  long every_ms = 0;        // lease keepalive: 0 = once, else again every this many ms
};

// A watch stream open this long counts as a recovery, even without an event.
constexpr auto kRecovered = std::chrono::seconds(1);

// Longest value `ls` shows before cutting it short (--json shows it whole).
constexpr std::size_t kShownValueBytes = 60;

[[noreturn]] void usage(const std::string& message) {
  std::cerr << "isla: " << message << "\n";
  exit_with(kExitUsage);
}

// Keys and values are text (the API's JSON carries them as strings).
void check_text(std::string_view text, std::string_view what) {
  if (!net::is_valid_utf8(text)) {
    usage(std::string(what) + " is not valid UTF-8 text; the store holds text");
  }
}

// Keys of get, put and del travel in the URL path, where a few names are the API's own
// (GET /api/kv/watch is the watch stream): those keys are reachable only by `kv txn`.
void check_key(const std::string& key) {
  if (key.empty()) usage("the key is empty");
  check_text(key, "the key");
  if (key == "txn" || key == "watch" || key == "lease" || key.starts_with("lease/")) {
    usage("the key '" + key + "' is reserved by the HTTP API; reach it with `isla kv txn`");
  }
}

// One line of text for people: control characters (a value's newlines) escaped.
std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The first `limit` bytes of `text` (not splitting a UTF-8 character), marked when cut.
std::string shortened(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
  text.resize(end);
  return text + "...";
}

std::string key_target(const std::string& key) {
  return "/api/kv/" + percent_encode(key);
}

void print_json(const std::string& body) {
  std::cout << body << "\n";
}

void kv_get(const KvArgs& args) {
  check_key(args.key);
  net::HttpRequest request;
  request.target = key_target(args.key) + (args.serializable ? "?serializable=true" : "");
  auto answer = ask(args.client, request, {{200, 404}, true});
  if (answer.status == 404) {
    const auto& message = at(answer.json, "error");
    if (!message.is_string() || message.as_string() != "key not found") {
      std::cerr << "isla: " << text(at(answer.json, "error")) << " (HTTP 404 from "
                << args.client.gateway << ")\n";
    } else {
      std::cerr << "isla: key '" << printable(args.key) << "' not found (revision "
                << text(at(answer.json, "revision")) << ")\n";
    }
    exit_with(kExitFailed);
  }
  if (args.client.json) {
    print_json(answer.body);
  } else {
    std::cout << text(at(answer.json, "value")) << "\n";
  }
}

std::string read_stdin() {
  std::cin >> std::noskipws;
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

void kv_put(const KvArgs& args) {
  check_key(args.key);
  const std::string value = args.value == "-" ? read_stdin() : args.value;
  check_text(value, "the value");
  json::object body{{"value", value}};
  if (args.lease != 0) body["lease"] = args.lease;
  net::HttpRequest request;
  request.method = "PUT";
  request.target = key_target(args.key);
  request.body = json::serialize(body);
  auto answer = ask(args.client, request, {{200}, true});
  if (args.client.json) {
    print_json(answer.body);
  } else {
    std::cout << "put " << printable(args.key) << " (rev " << text(at(answer.json, "revision"))
              << ")\n";
  }
}

void kv_del(const KvArgs& args) {
  check_key(args.key);
  net::HttpRequest request;
  request.method = "DELETE";
  request.target = key_target(args.key);
  auto answer = ask(args.client, request, {{200}, true});
  const auto& deleted = at(answer.json, "deleted");
  const bool found = deleted.is_int64() && deleted.as_int64() > 0;
  if (args.client.json) {
    print_json(answer.body);
  } else if (found) {
    std::cout << "delete " << printable(args.key) << " (rev " << text(at(answer.json, "revision"))
              << ")\n";
  } else {
    std::cerr << "isla: key '" << printable(args.key) << "' not found; nothing deleted\n";
  }
  exit_with(found ? 0 : kExitFailed);
}

void kv_ls(const KvArgs& args) {
  check_text(args.key, "the prefix");
  net::HttpRequest request;
  request.target = "/api/kv?prefix=" + percent_encode(args.key) +
                   (args.serializable ? "&serializable=true" : "");
  auto answer = ask(args.client, request, {{200}, true});
  if (args.client.json) {
    print_json(answer.body);
    return;
  }
  std::vector<std::vector<std::string>> rows;
  const auto& kvs = at(answer.json, "kvs");
  if (kvs.is_array()) {
    for (const auto& kv : kvs.as_array()) {
      rows.push_back({printable(text(at(kv, "key"))),
                      printable(shortened(text(at(kv, "value")), kShownValueBytes)),
                      text(at(kv, "mod_revision"))});
    }
  }
  print_table(std::cout, {"KEY", "VALUE", "REVISION"}, rows);
}

// Follows /api/kv/watch, printing each event, and reconnects (from the revision after the
// last event seen) when the stream breaks, for as long as --timeout-ms allows.
class Watch {
 public:
  explicit Watch(const KvArgs& args)
      : args_(args),
        gateway_(gateway_endpoint(args.client)),
        tls_(client_options(args.client).tls),
        from_(args.from) {}

  [[noreturn]] void run() {
    auto delay = milliseconds(50);
    std::optional<Clock::time_point> outage_since;
    bool connected_once = false;
    for (;;) {
      net::HttpRequest request;
      request.target = "/api/kv/watch?prefix=" + percent_encode(args_.key);
      if (from_ > 0) request.target += "&from=" + std::to_string(from_);
      authorize(args_.client, request);
      net::StreamOptions options;
      options.head_timeout = milliseconds(args_.client.timeout_ms);
      options.tls = tls_;
      net::SseParser parser;
      bool got_data = false;
      const auto started = Clock::now();
      auto result = net::fetch_stream(gateway_, request, options, [&](std::string_view bytes) {
        got_data = true;
        return parser.feed(bytes, [this](const net::SseEvent& event) { return on_event(event); });
      });
      if (exit_code_) exit_with(*exit_code_);
      if (parser.overflowed()) fail("an event from the gateway is absurdly large");
      std::string why = result.message;
      if (result.head && result.head->status != 200) {
        if (result.head->status != 503) {
          fail(rpc::error_message_of(*result.head) + " (HTTP " +
               std::to_string(result.head->status) + " from " + gateway_.str() + ")");
        }
        why = "HTTP 503: " + rpc::error_message_of(*result.head);
      } else if (result.head) {
        connected_once = true;
        if (why.empty()) {
          why = ended_because_.empty() ? "the gateway ended the stream" : ended_because_;
        }
        ended_because_.clear();
      } else if (!connected_once) {
        if (result.error == net::ClientErrorKind::connect) exit_unreachable(gateway_, why);
        std::cerr << "isla: no answer from gateway " << gateway_.str() << " (" << why << ")\n";
        exit_with(kExitUnreachable);
      }
      const auto now = Clock::now();
      // A stream that carried data, or stayed open a while, ended an outage; a new one starts.
      const bool lasted = result.head && result.head->status == 200 && now - started >= kRecovered;
      if (got_data || lasted || !outage_since) {
        outage_since = now;
        delay = milliseconds(50);
        std::cerr << "isla: the watch was interrupted (" << why << "); reconnecting\n";
      }
      if (now - *outage_since > milliseconds(args_.client.timeout_ms)) {
        std::cerr << "isla: lost the watch on gateway " << gateway_.str() << " (" << why << ")\n";
        exit_with(kExitUnreachable);
      }
      std::this_thread::sleep_for(delay);
      delay = std::min(delay * 2, milliseconds(1000));
    }
  }

 private:
  [[noreturn]] void fail(const std::string& message) {
    std::cerr << "isla: " << message << "\n";
    exit_with(kExitFailed);
  }

  bool on_event(const net::SseEvent& event) {
    boost::system::error_code error;
    auto data = json::parse(event.data, error);
    if (event.type == "compacted") {
      std::cerr << "isla: " << text(at(data, "error")) << " (compacted up to revision "
                << text(at(data, "compact_revision")) << ")\n";
      exit_code_ = kExitFailed;
      return false;
    }
    // The gateway's reason for ending the stream (a watcher too slow, a failing store); the
    // stream then ends, and resuming after the last event printed misses nothing.
    if (event.type == "error") ended_because_ = text(at(data, "error"));
    if (event.type != "put" && event.type != "delete") return true;
    if (error || !data.is_object()) {
      std::cerr << "isla: the gateway sent an event that is not JSON: " << event.data << "\n";
      exit_code_ = kExitFailed;
      return false;
    }
    const auto& revision = at(data, "mod_revision");
    if (revision.is_int64()) from_ = revision.as_int64() + 1;
    if (args_.client.json) {
      std::cout << json::serialize(json::object{{"type", event.type}, {"kv", data}}) << std::endl;
    } else if (event.type == "put") {
      std::cout << "put " << printable(text(at(data, "key"))) << " "
                << printable(text(at(data, "value"))) << " (rev " << text(revision) << ")"
                << std::endl;
    } else {
      std::cout << "delete " << printable(text(at(data, "key"))) << " (rev " << text(revision)
                << ")" << std::endl;
    }
    if (args_.count > 0 && ++seen_ >= args_.count) {
      exit_code_ = 0;
      return false;
    }
    return true;
  }

  const KvArgs& args_;
  core::Endpoint gateway_;
  std::shared_ptr<net::TlsContext> tls_;  // null: plain HTTP
  std::int64_t from_;
  std::string ended_because_;
  long seen_ = 0;
  std::optional<int> exit_code_;
};

// Each operation of the transaction as it was asked for, beside its result.
void print_txn(const json::value& asked, const json::value& answer) {
  const auto& outcome = at(answer, "succeeded");
  const bool succeeded = outcome.is_bool() && outcome.as_bool();
  const auto revision = text(at(answer, "revision"));
  std::cout << (succeeded ? "succeeded" : "failed") << " (rev " << revision << ")\n";
  const auto& ops = at(asked, succeeded ? "success" : "failure");
  const auto& results = at(answer, "results");
  if (!ops.is_array() || !results.is_array() || ops.as_array().empty()) return;
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < ops.as_array().size() && i < results.as_array().size(); ++i) {
    const auto& op = ops.as_array()[i];
    const auto& result = results.as_array()[i];
    const auto name = text(at(op, "op"));
    const auto key =
        printable(text(at(op, name == "range" || name == "delete_range" ? "prefix" : "key")));
    if (name == "put") {
      rows.push_back(
          {name, key, printable(shortened(text(at(op, "value")), kShownValueBytes)), revision});
    } else if (name == "delete" || name == "delete_range") {
      rows.push_back({name, key, "(" + text(at(result, "deleted")) + " deleted)", revision});
    } else {
      const auto& kvs = at(result, "kvs");
      if (!kvs.is_array() || kvs.as_array().empty()) rows.push_back({name, key, "(none)", ""});
      if (!kvs.is_array()) continue;
      for (const auto& kv : kvs.as_array()) {
        rows.push_back({name, printable(text(at(kv, "key"))),
                        printable(shortened(text(at(kv, "value")), kShownValueBytes)),
                        text(at(kv, "mod_revision"))});
      }
    }
  }
  std::cout << "\n";
  print_table(std::cout, {"OP", "KEY", "VALUE", "REVISION"}, rows);
}

void kv_txn(const KvArgs& args) {
  const auto input = read_stdin();
  boost::system::error_code error;
  auto asked = json::parse(input, error);
  if (error) usage("the transaction on stdin is not JSON: " + error.message());
  net::HttpRequest request;
  request.method = "POST";
  request.target = "/api/kv/txn";
  request.body = json::serialize(asked);
  auto answer = ask(args.client, request, {{200}, true});
  if (args.client.json) {
    print_json(answer.body);
  } else {
    print_txn(asked, answer.json);
  }
}

void lease_grant(const KvArgs& args) {
  net::HttpRequest request;
  request.method = "POST";
  request.target = "/api/kv/lease";
  request.body = json::serialize(json::object{{"ttl_ms", args.ttl_ms}});
  auto answer = ask(args.client, request, {{200}, true});
  if (args.client.json) {
    print_json(answer.body);
  } else {
    std::cout << text(at(answer.json, "id")) << "\n";
  }
}

// Once, or (with --every) until interrupted or the lease is gone, like etcdctl's
// `lease keep-alive`: the process that holds a session keeps its lease this way.
void lease_keepalive(const KvArgs& args) {
  net::HttpRequest request;
  request.method = "POST";
  request.target = "/api/kv/lease/" + std::to_string(args.lease) + "/keepalive";
  for (;;) {
    auto answer = ask(args.client, request, {{200}, true});
    if (args.client.json) {
      print_json(answer.body);
    } else {
      std::cout << "kept lease " << args.lease << " alive" << std::endl;
    }
    if (args.every_ms == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(args.every_ms));
  }
}

void lease_revoke(const KvArgs& args) {
  net::HttpRequest request;
  request.method = "DELETE";
  request.target = "/api/kv/lease/" + std::to_string(args.lease);
  auto answer = ask(args.client, request, {{200}, true});
  if (args.client.json) {
    print_json(answer.body);
  } else {
    std::cout << "revoked lease " << args.lease << " and its keys (rev "
              << text(at(answer.json, "revision")) << ")\n";
  }
}

constexpr auto add_action = &add_client_action<KvArgs>;

constexpr const char* kSerializableHelp =
    "Answer from the gateway's replica without asking the leader (may be stale)";

}  // namespace

void add_kv_command(CLI::App& app) {
  auto* kv = app.add_subcommand("kv", "Read, write and watch the island store");
  kv->require_subcommand(1);

  auto [get, get_args] = add_action(*kv, "get", "Print a key's value", kv_get);
  get->add_option("key", get_args->key, "The key")->required();
  get->add_flag("--serializable", get_args->serializable, kSerializableHelp);

  auto [put, put_args] = add_action(*kv, "put", "Set a key's value", kv_put);
  put->add_option("key", put_args->key, "The key")->required();
  put->add_option("value", put_args->value, "The value; - reads it from stdin")->required();
  put->add_option("--lease", put_args->lease, "Attach the key to this lease (it goes with it)")
      ->check(CLI::PositiveNumber);

  auto [del, del_args] = add_action(*kv, "del", "Delete a key", kv_del);
  del->add_option("key", del_args->key, "The key")->required();

  auto [ls, ls_args] = add_action(*kv, "ls", "List the keys that start with a prefix", kv_ls);
  ls->add_option("prefix", ls_args->key, "The prefix (default: every key)");
  ls->add_flag("--serializable", ls_args->serializable, kSerializableHelp);

  auto [watch, watch_args] =
      add_action(*kv, "watch", "Print changes to the keys under a prefix as they happen",
                 [](const KvArgs& args) { Watch(args).run(); });
  watch->add_option("prefix", watch_args->key, "The prefix (default: every key)");
  watch->add_option("--from", watch_args->from, "Start at this revision (replays the history kept)")
      ->check(CLI::PositiveNumber);
  watch->add_option("--count", watch_args->count, "Exit after this many events")
      ->check(CLI::PositiveNumber);

  add_action(*kv, "txn", "Run a transaction read from stdin as JSON (see docs/api.md)", kv_txn);

  auto* lease = kv->add_subcommand("lease", "Grant, keep alive and revoke leases (TTLs for keys)");
  lease->require_subcommand(1);
  auto [grant, grant_args] =
      add_action(*lease, "grant", "Grant a lease and print its ID (for put --lease)", lease_grant);
  grant->add_option("ttl_ms", grant_args->ttl_ms, "Its keys go this long after the last keep-alive")
      ->required()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{86'400'000}));
  auto [keepalive, keepalive_args] = add_action(
      *lease, "keepalive", "Restart a lease's TTL (once, or --every MS)", lease_keepalive);
  keepalive->add_option("id", keepalive_args->lease, "The lease ID")
      ->required()
      ->check(CLI::PositiveNumber);
  keepalive
      ->add_option("--every", keepalive_args->every_ms,
                   "Keep renewing every this many ms until interrupted (use about a third of "
                   "the TTL)")
      ->check(CLI::Range(1L, 86'400'000L));
  auto [revoke, revoke_args] =
      add_action(*lease, "revoke", "End a lease now, deleting its keys", lease_revoke);
  revoke->add_option("id", revoke_args->lease, "The lease ID")
      ->required()
      ->check(CLI::PositiveNumber);
}

}  // namespace isla::app
