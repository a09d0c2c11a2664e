// The client's receive path: answers split from one stream of bytes, however it arrives.
#include "net/response_reader.hpp"

#include <gtest/gtest.h>

namespace isla::net {
namespace {

constexpr std::string_view kTwoAnswers =
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\n\"one\""
    "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}";

TEST(ResponseReader, SplitsPipelinedAnswersWhateverTheReads) {
  for (std::size_t piece = 1; piece <= kTwoAnswers.size(); ++piece) {
    ResponseReader reader(1024);
    std::vector<HttpResponse> answers;
    for (std::size_t at = 0; at < kTwoAnswers.size(); at += piece) {
      reader.input().feed(kTwoAnswers.substr(at, piece));
      for (;;) {
        auto answer = reader.next(false);
        ASSERT_TRUE(answer.error.empty()) << answer.error;
        if (!answer.response) break;
        answers.push_back(std::move(*answer.response));
      }
    }
    ASSERT_EQ(answers.size(), 2u) << "reads of " << piece << " bytes";
    EXPECT_EQ(answers[0].status, 200);
    EXPECT_EQ(answers[0].body, "\"one\"");
    EXPECT_EQ(answers[1].status, 404);
    EXPECT_EQ(answers[1].body, "{}");
    EXPECT_FALSE(reader.input().has_bytes());
  }
}

TEST(ResponseReader, AnAnswerToHeadHasNoBodyWhateverItsLength) {
  ResponseReader reader(1024);
  reader.input().feed(
      "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  auto head = reader.next(true);
  ASSERT_TRUE(head.response);
  EXPECT_EQ(head.response->body, "");
  auto get = reader.next(false);
  ASSERT_TRUE(get.response);
  EXPECT_EQ(get.response->body, "ok");
}

TEST(ResponseReader, ReportsConnectionCloseAndPartialAnswers) {
  ResponseReader reader(1024);
  reader.input().feed(
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nHTTP/1.1 2");
  auto last = reader.next(false);
  ASSERT_TRUE(last.response);
  EXPECT_FALSE(last.keep_alive);
  EXPECT_FALSE(reader.started());
  auto partial = reader.next(false);
  EXPECT_FALSE(partial.response);
  EXPECT_TRUE(partial.error.empty());
  EXPECT_TRUE(reader.started());  // part of an answer came: it must not be sent again
}

TEST(ResponseReader, RejectsGarbageAndOversizedBodies) {
  ResponseReader garbage(1024);
  garbage.input().feed("SMTP ready\r\n\r\n");
  EXPECT_FALSE(garbage.next(false).error.empty());

  ResponseReader small(4);
  small.input().feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_FALSE(small.next(false).error.empty());
}

// Content-Type has a member of its own (the last one sent wins); every other field is kept
// in order; a chunked body arrives whole; an answer that ends only with its connection is
// not kept alive.
TEST(ResponseReader, ReadsFieldsChunkedBodiesAndAnswersEndedByClose) {
  ResponseReader reader(1024);
  reader.input().feed(
      "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nX-A: 1\r\n"
      "Content-Type: text/html\r\nTransfer-Encoding: chunked\r\nX-A: 2\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  auto answer = reader.next(false);
  ASSERT_TRUE(answer.response) << answer.error;
  EXPECT_EQ(answer.response->status, 201);
  EXPECT_EQ(answer.response->content_type, "text/html");
  EXPECT_EQ(answer.response->body, "abcde");
  const Headers expected{{"X-A", "1"}, {"Transfer-Encoding", "chunked"}, {"X-A", "2"}};
  EXPECT_EQ(answer.response->headers, expected);
  EXPECT_TRUE(answer.keep_alive);

  ResponseReader http10(1024);
  http10.input().feed("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
  auto old = http10.next(false);
  ASSERT_TRUE(old.response) << old.error;
  EXPECT_FALSE(old.keep_alive);
  EXPECT_EQ(old.response->content_type, "application/json");  // none sent: isla's default
}

}  // namespace
}  // namespace isla::net
