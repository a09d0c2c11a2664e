#pragma once
// Figure requests as a client of an island sends them, from inside one host of a test bed:
// coroutines on one thread that has entered the host's network namespace, each asking the
// gateways it knows for figures one request after another on keep-alive connections,
// bounded in count and in time. Every request ends up counted: answered, or failed with
// what the client saw, so that a chaos test can say exactly which failures it tolerates.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/endpoint.hpp"
#include "net/asio.hpp"
#include "net/http_client.hpp"
#include "support/testbed.hpp"

namespace isla::testing {

struct FigureLoadOptions {
  // Client k starts at gateway k % size and moves along the list when one refuses it.
  std::vector<core::Endpoint> gateways;
  std::vector<std::string> figures;      // asked in turn
  int clients = 8;                       // concurrent requests, each on a connection of its own
  std::uint64_t max_requests = 100'000;  // in all, across the clients
  std::chrono::milliseconds max_duration{60'000};
  std::chrono::milliseconds attempt_timeout{10'000};  // one attempt at one gateway
  std::chrono::milliseconds request_budget{20'000};   // one request across its attempts
  // What a client does instead of failing. A connection refused (or not made in time) means
  // the gateway is not there: try the next one. A 503 with Retry-After is the documented
  // "come back later": wait (at most a second) and try the next one.
  bool move_on_when_refused = true;
  bool retry_unavailable = false;
};

struct FigureLoadTally {
  std::uint64_t succeeded = 0;
  std::uint64_t forwarded = 0;                        // answers that came with Isla-Forwarded-To
  std::uint64_t refused = 0;                          // attempts that found no gateway listening
  std::uint64_t retried_unavailable = 0;              // 503 + Retry-After, tried again
  std::map<std::string, std::uint64_t> forwarded_to;  // by Isla-Forwarded-To
  std::map<std::string, std::uint64_t> servers;       // by the answer's "server"
  std::map<std::string, std::uint64_t> islands;       // by the answer's "island"
  std::vector<std::string> failures;                  // what the client saw, and from which gateway
  std::chrono::milliseconds longest_gap{0};           // the longest stretch without an answer
};

class FigureLoad {
 public:
  FigureLoad(const TestbedHost& from, FigureLoadOptions options);
  ~FigureLoad();
  FigureLoad(const FigureLoad&) = delete;
  FigureLoad& operator=(const FigureLoad&) = delete;

  std::uint64_t succeeded() const { return succeeded_; }
  // Whether `more` further requests succeed within `timeout`.
  bool wait_for_more(std::uint64_t more, std::chrono::milliseconds timeout) const;
  // Whether every client has sent its last request (the count or the time ran out) within
  // `timeout`.
  bool wait_until_done(std::chrono::milliseconds timeout) const;
  // Lets every client finish its request in hand, then tells what they all saw.
  FigureLoadTally stop();

 private:
  asio::awaitable<void> client(int index);
  asio::awaitable<void> one_request(int index, std::uint64_t number);
  void succeed(const std::string& body, const std::string& forwarded_to);
  void fail(std::string what);

  FigureLoadOptions options_;
  net::HttpClient http_;
  std::chrono::steady_clock::time_point give_up_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> issued_{0};
  std::atomic<std::uint64_t> succeeded_{0};
  std::atomic<int> finished_{0};  // clients that have returned
  std::chrono::steady_clock::time_point last_success_;
  std::mutex mutex_;  // the tally: written by the load's thread, read by stop()
  FigureLoadTally tally_;
  std::thread thread_;
};

}  // namespace isla::testing
