// HttpServerOptions::relocate: a connection that carries a given request moves to another
// context (the Raft loop's, in a gateway) and is served there from then on, without losing
// what it has sent or what it is owed.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "support/loopback_server.hpp"
#include "support/raw_http.hpp"

namespace isla::net {
namespace {

using namespace std::chrono_literals;

// A context on a thread of its own, standing in for the Raft loop.
class HomeThread {
 public:
  HomeThread() : guard_(asio::make_work_guard(context_)) {
    thread_ = std::thread([this] {
      id_ = std::this_thread::get_id();
      context_.run();
    });
  }
  ~HomeThread() {
    context_.stop();
    thread_.join();
  }
  asio::io_context& context() { return context_; }
  bool is_current() const { return std::this_thread::get_id() == id_.load(); }

 private:
  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::atomic<std::thread::id> id_{};
  std::thread thread_;
};

class RelocateFixture : public ::testing::Test {
 public:
  void SetUp() override {
    HttpServerOptions options;
    options.relocate = [this](const HttpRequest& request) -> asio::io_context* {
      return request.path().starts_with("/home") ? &home_.context() : nullptr;
    };
    server_ = std::make_unique<testing::LoopbackServer>(
        2,
        [this](HttpRequest& request) -> asio::awaitable<HttpResponse> {
          const bool at_home = home_.is_current();
          {
            std::lock_guard lock(mutex_);
            (at_home ? served_at_home_ : served_in_pool_).insert(std::string(request.path()));
          }
          co_return json_response(200, std::string("{\"path\":\"") + std::string(request.path()) +
                                           "\",\"home\":" + (at_home ? "true" : "false") + "}");
        },
        options);
  }

  bool served_at_home(const std::string& path) {
    std::lock_guard lock(mutex_);
    return served_at_home_.contains(path);
  }
  bool served_in_pool(const std::string& path) {
    std::lock_guard lock(mutex_);
    return served_in_pool_.contains(path);
  }

 protected:
  HomeThread home_;  // outlives the server, as the Raft loop outlives a gateway's drain
  std::unique_ptr<testing::LoopbackServer> server_;
  std::mutex mutex_;
  std::set<std::string> served_at_home_;
  std::set<std::string> served_in_pool_;
};

const std::string kHead = " HTTP/1.1\r\nHost: x\r\n";

TEST_F(RelocateFixture, TheRequestThatMovesAConnectionAndAllAfterItAreServedAtItsHome) {
  // In one write: one request before the move, the one that moves it, and two after it that
  // were already read with it (and one of them would stay in the pool on its own).
  const auto reply = testing::raw_exchange(
      server_->endpoint(), "GET /before" + kHead + "\r\nGET /home/1" + kHead + "\r\nGET /after" +
                               kHead + "\r\nGET /home/2" + kHead + "Connection: close\r\n\r\n");
  const auto before = reply.find(R"({"path":"/before","home":false})");
  const auto moved = reply.find(R"({"path":"/home/1","home":true})");
  const auto after = reply.find(R"({"path":"/after","home":true})");
  const auto last = reply.find(R"({"path":"/home/2","home":true})");
  ASSERT_NE(before, std::string::npos) << reply;
  ASSERT_NE(moved, std::string::npos) << reply;
  ASSERT_NE(after, std::string::npos) << reply;
  ASSERT_NE(last, std::string::npos) << reply;
  EXPECT_LT(before, moved);
  EXPECT_LT(moved, after);
  EXPECT_LT(after, last);
  EXPECT_TRUE(testing::eventually([&] { return server_->server().connections() == 0; }, 2000ms));
}

TEST_F(RelocateFixture, AMovedKeepAliveConnectionStaysAtItsHomeAcrossRequests) {
  HttpClient http;
  asio::io_context context;
  std::vector<std::string> bodies;
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        for (const char* path : {"/home/a", "/b", "/home/c"}) {
          HttpRequest request;
          request.target = path;
          auto result = co_await http.request(server_->endpoint(), request,
                                              std::chrono::steady_clock::now() + 3s);
          bodies.push_back(result.ok() ? result.response->body : result.message);
        }
        EXPECT_EQ(server_->server().connections(), 1u);  // one connection for all three
      },
      asio::detached);
  context.run();
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(bodies[0], R"({"path":"/home/a","home":true})");
  EXPECT_EQ(bodies[1], R"({"path":"/b","home":true})");
  EXPECT_EQ(bodies[2], R"({"path":"/home/c","home":true})");
  EXPECT_FALSE(served_in_pool("/b"));
}

TEST_F(RelocateFixture, OtherConnectionsStayInThePool) {
  const auto reply = testing::raw_exchange(server_->endpoint(),
                                           "GET /elsewhere" + kHead + "Connection: close\r\n\r\n");
  EXPECT_NE(reply.find(R"({"path":"/elsewhere","home":false})"), std::string::npos) << reply;
  EXPECT_TRUE(served_in_pool("/elsewhere"));
  EXPECT_FALSE(served_at_home("/elsewhere"));
}

TEST_F(RelocateFixture, ABadRequestAfterTheMoveGetsItsRejectionFromTheHome) {
  const auto reply =
      testing::raw_exchange(server_->endpoint(), "GET /home/x" + kHead + "\r\nGARBAGE\r\n\r\n");
  EXPECT_NE(reply.find(R"({"path":"/home/x","home":true})"), std::string::npos) << reply;
  EXPECT_NE(reply.find("HTTP/1.1 400"), std::string::npos) << reply;
  EXPECT_TRUE(testing::eventually([&] { return server_->server().connections() == 0; }, 2000ms));
}

TEST_F(RelocateFixture, DrainClosesAnIdleMovedConnectionAtOnce) {
  // Moved, answered, then idle: its next head would be waited for 10 s unless drain() reaches
  // it on its new context.
  testing::RawConnection idle(server_->endpoint(), "GET /home/idle" + kHead + "\r\n");
  ASSERT_TRUE(idle.connected());
  const auto answer = idle.read_until(R"("home":true})", 3000ms);
  ASSERT_NE(answer.find(R"({"path":"/home/idle","home":true})"), std::string::npos) << answer;
  ASSERT_EQ(server_->server().connections(), 1u);
  std::atomic<bool> clean{false};
  std::atomic<bool> finished{false};
  const auto started = std::chrono::steady_clock::now();
  asio::co_spawn(
      server_->pool().main(),
      [&]() -> asio::awaitable<void> {
        clean = co_await server_->server().drain();
        finished = true;
      },
      asio::detached);
  ASSERT_TRUE(testing::eventually([&] { return finished.load(); }, 5000ms));
  EXPECT_TRUE(clean);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5000ms);  // not the 10 s head timeout
  EXPECT_EQ(server_->server().connections(), 0u);
  EXPECT_EQ(idle.read_to_end(2000ms), "");  // closed by the server
}

}  // namespace
}  // namespace isla::net
