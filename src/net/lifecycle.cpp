#include "net/lifecycle.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <memory>

namespace isla::net {

void stop_on_signals(asio::io_context& context, GracefulStop graceful) {
  auto signals = std::make_shared<asio::signal_set>(context, SIGINT, SIGTERM);
  asio::co_spawn(
      context,
      [signals, graceful = std::move(graceful)]() -> asio::awaitable<void> {
        auto [error, number] = co_await signals->async_wait(use_nothrow);
        if (error) co_return;
        spdlog::info("signal={} stopping gracefully (send it again to exit at once)", number);
        signals->async_wait([](boost::system::error_code ec, int again) {
          if (ec) return;
          spdlog::warn("signal={} again: exiting without draining", again);
          spdlog::default_logger()->flush();
          ::_exit(128 + again);
        });
        co_await graceful();
      },
      asio::detached);
}

}  // namespace isla::net
