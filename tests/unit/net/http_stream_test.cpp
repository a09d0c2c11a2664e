// Streamed response bodies (fetch_stream) against the real server, clients that stop
// reading them, and the server-sent events parser fed in pieces of every size.
#include "net/http_stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>

#include "net/http_server.hpp"
#include "support/loopback_server.hpp"
#include "support/raw_http.hpp"
#include "support/scope_exit.hpp"

namespace isla::net {
namespace {

using namespace std::chrono_literals;

std::vector<SseEvent> parse_all(std::string_view text, std::size_t piece) {
  SseParser parser;
  std::vector<SseEvent> events;
  for (std::size_t at = 0; at < text.size(); at += piece) {
    EXPECT_TRUE(parser.feed(text.substr(at, piece), [&](const SseEvent& event) {
      events.push_back(event);
      return true;
    }));
  }
  return events;
}

TEST(SseParser, SplitsEventsWhateverThePiecesAre) {
  const std::string stream =
      ": keep-alive\n\n"
      "id: 7\nevent: put\ndata: {\"key\":\"a\"}\n\n"
      "event: delete\r\ndata:first\r\ndata:  second\r\n\r\n"
      "data\rid: 9\r\r"
      "event: ignored-without-data\n\n"
      "retry: 100\nunknown: x\ndata: last\n\n"
      "data: not yet ended\n";
  for (std::size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
    const auto events = parse_all(stream, piece);
    ASSERT_EQ(events.size(), 4u) << "pieces of " << piece;
    EXPECT_EQ(events[0].id, "7");
    EXPECT_EQ(events[0].type, "put");
    EXPECT_EQ(events[0].data, "{\"key\":\"a\"}");
    EXPECT_EQ(events[1].type, "delete");
    EXPECT_EQ(events[1].id, "7");                 // the last id stays until another is given
    EXPECT_EQ(events[1].data, "first\n second");  // one leading space is dropped, not two
    EXPECT_EQ(events[2].type, "message");         // the default
    EXPECT_EQ(events[2].data, "");                // "data" alone is an empty line of data
    EXPECT_EQ(events[2].id, "9");
    EXPECT_EQ(events[3].data, "last");
  }
}

TEST(SseParser, StopsWhenAskedAndOnOversizedEvents) {
  SseParser parser;
  int seen = 0;
  EXPECT_FALSE(parser.feed("data: 1\n\ndata: 2\n\n", [&](const SseEvent&) {
    ++seen;
    return false;
  }));
  EXPECT_EQ(seen, 1);

  SseParser small(16);
  EXPECT_TRUE(small.feed("data: 0123456789\n", [](const SseEvent&) { return true; }));
  EXPECT_FALSE(small.feed("data: 0123456789\n", [](const SseEvent&) { return true; }));
  EXPECT_TRUE(small.overflowed());
}

class StreamFixture : public ::testing::Test {
 protected:
  void start(RequestHandler handler) {
    server_ = std::make_unique<testing::LoopbackServer>(1, std::move(handler));
  }
  void TearDown() override { server_.reset(); }
  core::Endpoint endpoint() const { return server_->endpoint(); }

  // A handler streaming `chunks`, each only once the client has received the ones before
  // it: a client that waited for more bytes (or the end) before handing them on would
  // never get past the first.
  RequestHandler paced(std::vector<std::string> chunks) {
    return [this, chunks](HttpRequest&) -> asio::awaitable<HttpResponse> {
      HttpResponse response;
      response.content_type = "text/event-stream";
      auto next = std::make_shared<std::size_t>(0);
      response.stream = [this, chunks,
                         next](StreamBacklog&) -> asio::awaitable<std::optional<std::string>> {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (received_ < *next && std::chrono::steady_clock::now() < deadline) {
          co_await sleep_for(2ms);
        }
        if (*next == chunks.size()) co_return std::nullopt;
        co_return chunks[(*next)++];
      };
      co_return response;
    };
  }

  std::atomic<std::size_t> received_{0};
  std::unique_ptr<testing::LoopbackServer> server_;
};

HttpRequest get(std::string target) {
  HttpRequest request;
  request.target = std::move(target);
  return request;
}

TEST_F(StreamFixture, HandsOnEachPieceAsItArrives) {
  start(paced({"id: 1\ndata: a\n\n", "id: 2\ndata: b\n\n", "id: 3\ndata: c\n\n"}));
  std::string body;
  const auto started = std::chrono::steady_clock::now();
  auto result = fetch_stream(endpoint(), get("/watch"), {}, [&](std::string_view data) {
    body += data;
    received_ = std::count(body.begin(), body.end(), '\n') / 3;
    return true;
  });
  EXPECT_EQ(result.error, ClientErrorKind::none) << result.message;
  ASSERT_TRUE(result.head);
  EXPECT_EQ(result.head->status, 200);
  EXPECT_EQ(result.head->content_type, "text/event-stream");
  EXPECT_EQ(body, "id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);  // never waited out the pacing
}

TEST_F(StreamFixture, StopsWhenTheCallbackSaysSo) {
  start(paced({"one", "two", "three"}));
  std::string body;
  auto result = fetch_stream(endpoint(), get("/watch"), {}, [&](std::string_view data) {
    body += data;
    return false;
  });
  EXPECT_EQ(result.error, ClientErrorKind::none) << result.message;
  EXPECT_EQ(body, "one");
}

TEST_F(StreamFixture, ErrorAnswersComeWholeInTheHead) {
  start([](HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return json_error(404, "no such stream");
  });
  bool called = false;
  auto result = fetch_stream(endpoint(), get("/nope"), {}, [&](std::string_view) {
    called = true;
    return true;
  });
  EXPECT_EQ(result.error, ClientErrorKind::none) << result.message;
  ASSERT_TRUE(result.head);
  EXPECT_EQ(result.head->status, 404);
  EXPECT_EQ(result.head->body, R"({"error":"no such stream"})");
  EXPECT_FALSE(called);
}

TEST_F(StreamFixture, SilenceLongerThanTheIdleTimeoutFails) {
  start([](HttpRequest&) -> asio::awaitable<HttpResponse> {
    HttpResponse response;
    auto sent = std::make_shared<bool>(false);
    response.stream = [sent](StreamBacklog&) -> asio::awaitable<std::optional<std::string>> {
      if (!*sent) {
        *sent = true;
        co_return "hello";
      }
      co_await sleep_for(10s);
      co_return std::nullopt;
    };
    co_return response;
  });
  StreamOptions options;
  options.idle_timeout = 100ms;
  std::string body;
  auto result = fetch_stream(endpoint(), get("/quiet"), options, [&](std::string_view data) {
    body += data;
    return true;
  });
  EXPECT_EQ(result.error, ClientErrorKind::timeout) << result.message;
  EXPECT_TRUE(result.head);
  EXPECT_EQ(body, "hello");
}

// Events published to every stream, as a store's writes reach its watches. Touched only on
// the server's thread; a stream waits for news on a timer of its own that publish() cancels.
class Feed {
 public:
  void publish(std::string event) {
    events_.push_back(std::move(event));
    for (auto* waiter : waiters_) waiter->cancel();
    waiters_.clear();
  }
  // The events from the `seen`th on, once there are any.
  asio::awaitable<std::string> after(std::size_t seen) {
    while (events_.size() <= seen) {
      asio::steady_timer news(co_await asio::this_coro::executor,
                              std::chrono::steady_clock::time_point::max());
      waiters_.push_back(&news);
      co_await news.async_wait(use_nothrow);
    }
    std::string text;
    for (auto event = events_.begin() + static_cast<std::ptrdiff_t>(seen); event != events_.end();
         ++event) {
      text += *event;
    }
    co_return text;
  }
  std::size_t size() const { return events_.size(); }

 private:
  std::vector<std::string> events_;
  std::vector<asio::steady_timer*> waiters_;
};

// Streams of the feed that end, with an error event, once their client leaves more than
// `limit` bytes unread, as the store's watches do.
class LiveFixture : public ::testing::Test {
 protected:
  void start(std::size_t limit, HttpServerOptions options = {}) {
    server_ = std::make_unique<testing::LoopbackServer>(
        1,
        [this, limit](HttpRequest&) -> asio::awaitable<HttpResponse> {
          HttpResponse response;
          response.content_type = "text/event-stream";
          auto seen = std::make_shared<std::size_t>(0);
          auto done = std::make_shared<bool>(false);
          response.stream =
              [this, limit, seen,
               done](StreamBacklog& backlog) -> asio::awaitable<std::optional<std::string>> {
            if (*done) co_return std::nullopt;
            auto news = co_await feed_.after(*seen);
            if (backlog.would_exceed(news.size(), limit)) {
              *done = true;
              ++cut_;
              co_return "event: error\ndata: " + std::to_string(backlog.unsent_bytes()) +
                  " bytes unread\n\n";
            }
            *seen = feed_.size();
            co_return news;
          };
          co_return response;
        },
        options);
  }
  void TearDown() override { server_.reset(); }
  core::Endpoint endpoint() const { return server_->endpoint(); }

  // Event `n` (from 1), `bytes` of data.
  void publish(std::size_t n, std::size_t bytes) {
    std::string event = "id: " + std::to_string(n) + "\ndata: " + std::string(bytes, 'x') + "\n\n";
    asio::post(server_->pool().main(),
               [this, event = std::move(event)]() mutable { feed_.publish(std::move(event)); });
  }
  std::size_t unsent() const { return server_->server().stream_unsent_bytes(); }

  static constexpr auto kRequest = "GET /live HTTP/1.1\r\nHost: test\r\n\r\n";
  static constexpr int kSmallReceiveBuffer = 4096;

  Feed feed_;  // declared first: the server's coroutines refer to it until it is gone
  std::atomic<int> cut_{0};
  std::unique_ptr<testing::LoopbackServer> server_;
};

// The ids of the events in a raw answer, in order.
std::vector<std::size_t> ids_in(const std::string& reply) {
  std::vector<std::size_t> ids;
  for (auto at = reply.find("id: "); at != std::string::npos; at = reply.find("id: ", at + 1)) {
    ids.push_back(std::stoul(reply.substr(at + 4)));
  }
  return ids;
}

TEST_F(LiveFixture, AClientThatStopsReadingIsCutOffWhileAnotherKeepsUp) {
  constexpr std::size_t kLimit = 256 * 1024;
  constexpr std::size_t kEventBytes = 64 * 1024;
  start(kLimit);
  testing::RawConnection stalled(endpoint(), kRequest, kSmallReceiveBuffer);
  ASSERT_TRUE(stalled.connected());

  std::atomic<std::size_t> received{0};
  std::atomic<bool> enough{false};
  std::atomic<bool> reader_cut{false};
  std::jthread reader([&] {
    SseParser parser(1 << 20);
    fetch_stream(endpoint(), get("/live"), {}, [&](std::string_view data) {
      parser.feed(data, [&](const SseEvent& event) {
        if (event.type == "error") reader_cut = true;
        ++received;
        return true;
      });
      return !enough;
    });
  });
  std::size_t published = 0;
  const testing::ScopeExit release([&] {
    enough = true;
    publish(++published, 1);  // wakes the reader, which then leaves
  });

  // Each event once the reader has the one before: it keeps up, the stalled client does not.
  while (cut_ == 0 && published < 2000) {
    publish(++published, kEventBytes);
    ASSERT_TRUE(testing::eventually([&] { return received == published; }, 5s))
        << "the reader that keeps up got " << received << " of " << published;
  }
  ASSERT_EQ(cut_, 1) << "after " << published << " events";
  EXPECT_GT(unsent(), 0u);  // what the stalled client left, until it reads or is dropped

  // The other stream goes on.
  publish(++published, kEventBytes);
  EXPECT_TRUE(testing::eventually([&] { return received == published; }, 5s));
  EXPECT_FALSE(reader_cut);

  // The stalled client, reading at last, finds every event up to the cut, in order, then
  // the error event and the end of the body.
  const auto reply = stalled.read_to_end(5s);
  const auto ids = ids_in(reply);
  ASSERT_FALSE(ids.empty()) << reply.substr(0, 300);
  EXPECT_LT(ids.size(), published);
  for (std::size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], i + 1);
  const auto error = reply.rfind("event: error\ndata: ");
  ASSERT_NE(error, std::string::npos);
  EXPECT_GT(error, reply.rfind("id: "));
  EXPECT_NE(reply.find(" bytes unread\n\n", error), std::string::npos);
  EXPECT_TRUE(reply.ends_with("\r\n0\r\n\r\n")) << "the body did not end";
  EXPECT_TRUE(testing::eventually([&] { return unsent() == 0; }, 5s)) << unsent();
}

TEST_F(LiveFixture, WhatAClientNeverReadsIsDroppedAtTheWriteTimeout) {
  HttpServerOptions options;
  options.write_timeout = 1s;
  start(std::numeric_limits<std::size_t>::max(), options);  // never cut: only the timeout acts
  testing::RawConnection stalled(endpoint(), kRequest, kSmallReceiveBuffer);
  ASSERT_TRUE(stalled.connected());
  std::size_t published = 0;
  // Until the kernel's buffers are full and the server holds the rest.
  while (unsent() == 0 && published < 100) {
    publish(++published, 256 * 1024);
    testing::eventually([&] { return unsent() > 0; }, 50ms);
  }
  ASSERT_GT(unsent(), 0u);
  EXPECT_TRUE(testing::eventually([&] { return unsent() == 0; }, 5s)) << unsent();
  // The stream learns at its next chunk that nobody will take it, and the connection goes.
  // A chunk published before the write timed out may have been taken already, so keep
  // offering one (a loaded machine can be late on either side). The offers are large: the
  // loop above may have seen a chunk in the moment it was being handed to buffers that still
  // had room, so that it went to the kernel rather than timing out; tiny offers would then fit
  // for far longer than this waits, no write would stall, and the timeout would never act.
  EXPECT_TRUE(testing::eventually(
      [&] {
        if (server_->server().connections() == 0) return true;
        publish(++published, 64 * 1024);
        return false;
      },
      10s));
}

TEST(FetchStream, RefusedConnectionIsAConnectError) {
  auto result = fetch_stream({"127.0.0.1", 1}, get("/"), {}, [](std::string_view) { return true; });
  EXPECT_EQ(result.error, ClientErrorKind::connect);
  EXPECT_FALSE(result.head);
}

}  // namespace
}  // namespace isla::net
