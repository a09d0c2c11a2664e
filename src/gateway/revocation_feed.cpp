#include "gateway/revocation_feed.hpp"

#include <spdlog/spdlog.h>

#include "core/parse.hpp"
#include "net/lazy_deadline.hpp"
#include "security/guard.hpp"
#include "store/system_keys.hpp"

namespace isla::gateway {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPoll = std::chrono::seconds(1);

void add(security::RevocationList& list, const store::KeyValue& kv) {
  const auto id = kv.key.substr(store::kRevokedTokensPrefix.size());
  list.add(id, core::parse_integer<std::int64_t>(kv.value).value_or(INT64_MAX));
}

}  // namespace

asio::awaitable<void> follow_revocations(store::Store& store, security::RevocationList& list,
                                         std::function<bool()> stopping) {
  const std::string prefix(store::kRevokedTokensPrefix);
  while (!stopping()) {
    auto snapshot =
        co_await store.range(prefix, true, store::Consistency::serializable, Clock::now() + kPoll);
    if (!snapshot.ok()) {
      co_await net::sleep_for(kPoll);
      continue;
    }
    for (const auto& kv : snapshot.value->kvs) add(list, kv);
    auto from = snapshot.value->revision + 1;
    while (!stopping()) {
      auto page = co_await store.watch(prefix, from, Clock::now() + kPoll);
      if (!page.ok()) {
        co_await net::sleep_for(kPoll);
        continue;
      }
      if (page.value->compacted) break;  // read the whole list again
      for (const auto& event : page.value->events) {
        if (event.type == store::Event::Type::put) add(list, event.kv);
      }
      from = page.value->next;
      list.prune(security::wall_clock_ms());
    }
  }
}

}  // namespace isla::gateway
