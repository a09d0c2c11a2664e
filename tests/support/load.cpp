#include "support/load.hpp"

#include "net/http_client.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {

namespace {
constexpr auto kMaxDuration = std::chrono::seconds(60);
constexpr std::uint64_t kMaxRequestsPerClient = 200'000;
}  // namespace

SteadyLoad::SteadyLoad(core::Endpoint gateway, std::vector<std::string> figures, int clients)
    : gateway_(std::move(gateway)), figures_(std::move(figures)) {
  for (int i = 0; i < clients; ++i) threads_.emplace_back([this, i] { run(i); });
}

SteadyLoad::~SteadyLoad() {
  stop();
}

void SteadyLoad::stop() {
  stop_ = true;
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::vector<std::string> SteadyLoad::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

bool SteadyLoad::wait_for_more(std::uint64_t more, std::chrono::milliseconds timeout) const {
  const auto target = succeeded_.load() + more;
  return eventually([&] { return succeeded_.load() >= target; }, timeout);
}

void SteadyLoad::run(int client) {
  const auto give_up = std::chrono::steady_clock::now() + kMaxDuration;
  for (std::uint64_t i = 0; i < kMaxRequestsPerClient && !stop_; ++i) {
    if (std::chrono::steady_clock::now() > give_up) break;
    const auto& figure = figures_[(i + static_cast<std::uint64_t>(client)) % figures_.size()];
    net::HttpRequest request;
    request.target = "/api/figures/" + figure;
    auto result = net::fetch(gateway_, request, std::chrono::milliseconds(5000));
    if (result.ok() && result.response->status == 200) {
      ++succeeded_;
      continue;
    }
    std::lock_guard lock(mutex_);
    failures_.push_back(figure + ": " +
                        (result.ok()
                             ? std::to_string(result.response->status) + " " + result.response->body
                             : result.message));
  }
}

}  // namespace isla::testing
