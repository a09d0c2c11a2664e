#include "chaos/figure_load.hpp"

#include <boost/json.hpp>

#include "core/parse.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// A gateway's Retry-After is honoured up to this: the client comes back sooner rather than
// sit out a long hint, and the suite stays short.
constexpr auto kLongestRetryWait = std::chrono::seconds(1);
// A client that found every gateway refusing waits this long before the next round, so
// that an island with none listening is not spun against.
constexpr auto kRoundPause = std::chrono::milliseconds(50);

std::string describe(const net::ClientResult& result) {
  switch (result.error) {
    case net::ClientErrorKind::connect:
      return "no connection: " + result.message;
    case net::ClientErrorKind::timeout:
      return "no answer in time: " + result.message;
    case net::ClientErrorKind::io:
      return "connection broke before the answer: " + result.message;
    case net::ClientErrorKind::protocol:
      return "not HTTP: " + result.message;
    case net::ClientErrorKind::none:
      break;
  }
  return std::to_string(result.response->status) + " " + result.response->body;
}

std::chrono::milliseconds retry_wait(const net::HttpResponse& response) {
  const auto hint = response.header("Retry-After");
  const auto seconds = hint ? core::parse_integer<int>(*hint) : std::nullopt;
  if (!seconds || *seconds < 0) return kLongestRetryWait;
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(*seconds), kLongestRetryWait);
}

net::HttpClientOptions client_options() {
  net::HttpClientOptions options;
  options.pipeline_depth = 1;  // a client per connection, as a browser's tabs would be
  options.max_idle_per_endpoint = 1024;
  return options;
}

}  // namespace

FigureLoad::FigureLoad(const TestbedHost& from, FigureLoadOptions options)
    : options_(std::move(options)),
      http_(client_options()),
      give_up_(Clock::now() + options_.max_duration),
      last_success_(Clock::now()) {
  thread_ = std::thread([this, netns = from.netns] {
    try {
      enter_network_namespace(netns);  // every socket of this thread is the host's
    } catch (const std::exception& error) {
      fail(error.what());  // no request can be sent: the test sees it among the failures
      finished_ = options_.clients;
      return;
    }
    asio::io_context context(1);
    for (int k = 0; k < options_.clients; ++k) {
      asio::co_spawn(context, client(k), asio::detached);
    }
    context.run();
  });
}

FigureLoad::~FigureLoad() {
  stop();
}

bool FigureLoad::wait_for_more(std::uint64_t more, std::chrono::milliseconds timeout) const {
  const auto target = succeeded_.load() + more;
  return eventually([&] { return succeeded_.load() >= target; }, timeout);
}

bool FigureLoad::wait_until_done(std::chrono::milliseconds timeout) const {
  return eventually([&] { return finished_.load() == options_.clients; }, timeout);
}

FigureLoadTally FigureLoad::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  return tally_;
}

asio::awaitable<void> FigureLoad::client(int index) {
  while (!stop_ && Clock::now() < give_up_) {
    const auto number = issued_++;
    if (number >= options_.max_requests) break;
    co_await one_request(index, number);
  }
  ++finished_;
}

asio::awaitable<void> FigureLoad::one_request(int index, std::uint64_t number) {
  net::HttpRequest request;
  request.target = "/api/figures/" + options_.figures[number % options_.figures.size()];
  const auto budget_end = Clock::now() + options_.request_budget;
  const auto count = options_.gateways.size();
  std::size_t refused_in_a_row = 0;
  for (std::size_t attempt = 0;; ++attempt) {
    const auto& gateway = options_.gateways[(static_cast<std::size_t>(index) + attempt) % count];
    const auto result =
        co_await http_.request(gateway, request, Clock::now() + options_.attempt_timeout);
    const bool budget_left = Clock::now() < budget_end;
    if (!result.ok()) {
      if (result.error == net::ClientErrorKind::connect && options_.move_on_when_refused &&
          budget_left) {
        std::lock_guard lock(mutex_);
        ++tally_.refused;
        if (++refused_in_a_row % count == 0) co_await net::sleep_for(kRoundPause);
        continue;
      }
      co_return fail(request.target + " at " + gateway.str() + ": " + describe(result));
    }
    refused_in_a_row = 0;
    const auto& response = *result.response;
    if (response.status == 200) {
      const auto forwarded = response.header("Isla-Forwarded-To");
      co_return succeed(response.body, forwarded ? std::string(*forwarded) : std::string());
    }
    if (response.status == 503 && response.header("Retry-After") && options_.retry_unavailable &&
        budget_left) {
      {
        std::lock_guard lock(mutex_);
        ++tally_.retried_unavailable;
      }
      co_await net::sleep_for(retry_wait(response));
      continue;
    }
    co_return fail(request.target + " at " + gateway.str() + ": " + describe(result));
  }
}

void FigureLoad::succeed(const std::string& body, const std::string& forwarded_to) {
  boost::system::error_code error;
  const auto value = json::parse(body, error);
  const auto* object = !error && value.is_object() ? &value.as_object() : nullptr;
  const auto field = [&](const char* name) {
    const auto* found = object ? object->if_contains(name) : nullptr;
    return found && found->is_string() ? std::string(found->as_string()) : std::string("?");
  };
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  ++tally_.succeeded;
  if (!forwarded_to.empty()) {
    ++tally_.forwarded;
    ++tally_.forwarded_to[forwarded_to];
  }
  ++tally_.servers[field("server")];
  ++tally_.islands[field("island")];
  tally_.longest_gap =
      std::max(tally_.longest_gap,
               std::chrono::duration_cast<std::chrono::milliseconds>(now - last_success_));
  last_success_ = now;
  ++succeeded_;
}

void FigureLoad::fail(std::string what) {
  std::lock_guard lock(mutex_);
  tally_.failures.push_back(std::move(what));
}

}  // namespace isla::testing
