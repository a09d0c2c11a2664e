#pragma once
// An HttpServer on 127.0.0.1 (a free port) whose pool runs on a thread of its own, for tests
// that talk to it as a client would. Stops and joins when destroyed.
#include <memory>
#include <thread>

#include "net/http_server.hpp"
#include "net/io_pool.hpp"

namespace isla::testing {

class LoopbackServer {
 public:
  LoopbackServer(std::size_t threads, net::RequestHandler handler,
                 net::HttpServerOptions options = {})
      : pool_(threads),
        server_(pool_, core::Endpoint{"127.0.0.1", 0}, options, std::move(handler)) {
    server_.start();
    thread_ = std::thread([this] { pool_.run(); });
  }
  ~LoopbackServer() {
    pool_.stop();
    if (thread_.joinable()) thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  core::Endpoint endpoint() const { return {"127.0.0.1", server_.port()}; }
  net::HttpServer& server() { return server_; }
  net::IoPool& pool() { return pool_; }

 private:
  net::IoPool pool_;
  net::HttpServer server_;
  std::thread thread_;
};

}  // namespace isla::testing
