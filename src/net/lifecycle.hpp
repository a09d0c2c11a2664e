#pragma once
// What every server does on SIGINT/SIGTERM: the first signal starts a graceful stop, a
// second one exits at once.
#include <functional>

#include "net/asio.hpp"

namespace isla::net {

using GracefulStop = std::function<asio::awaitable<void>()>;

// Installs the handlers on `context`; `graceful` runs once, on the first signal.
void stop_on_signals(asio::io_context& context, GracefulStop graceful);

}  // namespace isla::net
