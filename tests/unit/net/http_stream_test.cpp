// Streamed response bodies (fetch_stream) against the real server, and the server-sent
// events parser fed in pieces of every size.
#include "net/http_stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "net/http_server.hpp"
#include "support/loopback_server.hpp"

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
      response.stream = [this, chunks, next]() -> asio::awaitable<std::optional<std::string>> {
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
    response.stream = [sent]() -> asio::awaitable<std::optional<std::string>> {
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

TEST(FetchStream, RefusedConnectionIsAConnectError) {
  auto result = fetch_stream({"127.0.0.1", 1}, get("/"), {}, [](std::string_view) { return true; });
  EXPECT_EQ(result.error, ClientErrorKind::connect);
  EXPECT_FALSE(result.head);
}

}  // namespace
}  // namespace isla::net
