#pragma once
// The Asio vocabulary every coroutine in isla uses (Asio, not Beast: this header is cheap).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace isla {
namespace asio = boost::asio;
}

namespace isla::net {

// Completion token that reports errors as values instead of throwing: errors on the I/O
// path are expected events (a peer died), not exceptional ones.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// Suspends the calling coroutine for `delay` (or until its executor stops).
asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration delay);

}  // namespace isla::net
