// Messages written by http_serialize read back by Beast's parser as they were meant, in the
// framing Beast's own serializer gave them; and headers that would split a message never
// leave.
#include "net/http_serialize.hpp"

#include <gtest/gtest.h>

#include <random>

#include "net/http_parse.hpp"
#include "net/response_reader.hpp"

namespace isla::net {
namespace {

HttpRequest parsed_request(const std::string& bytes) {
  auto parsed = parse_request(bytes, HttpServerOptions{});
  if (auto* response = std::get_if<HttpResponse>(&parsed)) {
    ADD_FAILURE() << "not a valid request: " << response->body << "\n" << bytes;
    return {};
  }
  return std::get<HttpRequest>(std::move(parsed));
}

HttpResponse parsed_response(const std::string& bytes, bool head = false,
                             bool* keep_alive = nullptr) {
  ResponseReader reader(1 << 20);
  reader.input().feed(bytes);
  auto answer = reader.next(head);
  EXPECT_TRUE(answer.error.empty()) << answer.error << "\n" << bytes;
  EXPECT_FALSE(reader.input().has_bytes()) << "bytes left after the answer:\n" << bytes;
  if (keep_alive) *keep_alive = answer.keep_alive;
  return answer.response.value_or(HttpResponse{});
}

std::size_t count_of(std::string_view text, std::string_view what) {
  std::size_t count = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

TEST(HttpSerialize, ARequestReadsBackWithItsHostHeadersAndBody) {
  HttpRequest request;
  request.method = "POST";
  request.target = "/api/kv/a%20b?x=1";
  request.headers = {{"Authorization", "Bearer t"}, {"X-Forwarded-For", "10.0.0.1"}};
  request.body = R"({"value":"v"})";
  std::string out;
  append_request(request, "127.0.0.1:5235", out, {{"Isla-Auth", "sig"}});
  const auto back = parsed_request(out);
  EXPECT_EQ(back.method, "POST");
  EXPECT_EQ(back.target, "/api/kv/a%20b?x=1");
  EXPECT_EQ(back.header("Host"), "127.0.0.1:5235");
  EXPECT_EQ(back.header("Authorization"), "Bearer t");
  EXPECT_EQ(back.header("X-Forwarded-For"), "10.0.0.1");
  EXPECT_EQ(back.header("Isla-Auth"), "sig");
  EXPECT_EQ(back.header("Content-Length"), "13");
  EXPECT_EQ(back.body, request.body);
}

TEST(HttpSerialize, FramingIsTheSerializersNotTheCallers) {
  HttpRequest request;
  request.method = "PUT";
  request.headers = {{"content-length", "999"},
                     {"Transfer-Encoding", "chunked"},
                     {"Connection", "close"},
                     {"Host", "named.example:80"}};
  std::string out;
  append_request(request, "127.0.0.1:5235", out);
  EXPECT_EQ(count_of(out, "Content-Length: 0\r\n"), 1u) << out;  // PUT announces even nothing
  EXPECT_EQ(out.find("999"), std::string::npos) << out;
  EXPECT_EQ(out.find("chunked"), std::string::npos) << out;
  EXPECT_EQ(out.find("close"), std::string::npos) << out;
  EXPECT_EQ(parsed_request(out).header("Host"), "named.example:80") << "the request's own Host";
  EXPECT_EQ(count_of(out, "Host:"), 1u) << out;

  HttpRequest get;
  std::string plain;
  append_request(get, "h:1", plain);
  EXPECT_EQ(plain, "GET / HTTP/1.1\r\nHost: h:1\r\n\r\n") << "an empty GET announces no length";
}

TEST(HttpSerialize, AHeaderNamedTwiceLeavesOnceWithItsLastValueAndExtraWins) {
  HttpRequest request;
  request.headers = {{"X-A", "1"}, {"x-a", "2"}, {"Isla-Auth", "stale"}};
  std::string out;
  append_request(request, "h:1", out, {{"ISLA-AUTH", "fresh"}});
  EXPECT_EQ(count_of(out, "X-A") + count_of(out, "x-a"), 1u) << out;
  EXPECT_NE(out.find("x-a: 2\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("stale"), std::string::npos) << out;
  EXPECT_EQ(parsed_request(out).header("Isla-Auth"), "fresh");
}

TEST(HttpSerialize, HeadersThatWouldSplitTheMessageNeverLeave) {
  HttpRequest request;
  request.headers = {{"X-Evil", "a\r\nContent-Length: 5\r\n\r\nGET /smuggled HTTP/1.1"},
                     {"X-Lf", "a\nb"},
                     {std::string("X-Nul"), std::string("a\0b", 3)},
                     {"Bad Name", "v"},
                     {"Bad:Name", "v"},
                     {"", "v"},
                     {"X-Fine", "tab\tand spaces are fine"}};
  std::string out;
  append_request(request, "h:1", out);
  EXPECT_EQ(out.find("smuggled"), std::string::npos) << out;
  EXPECT_EQ(out.find("X-Lf"), std::string::npos) << out;
  EXPECT_EQ(out.find("X-Nul"), std::string::npos) << out;
  EXPECT_EQ(out.find("Bad"), std::string::npos) << out;
  const auto back = parsed_request(out);
  EXPECT_EQ(back.header("X-Fine"), "tab\tand spaces are fine");
  EXPECT_EQ(back.headers.size(), 2u) << out;  // Host and X-Fine

  HttpResponse response;
  response.content_type = "text/plain\r\nSet-Cookie: x=1";
  response.headers = {{"Location", "/a\r\n\r\n<html>"}};
  std::string answer;
  append_response(response, 11, true, answer);
  EXPECT_EQ(answer.find("Set-Cookie"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("<html>"), std::string::npos) << answer;
  parsed_response(answer);
}

TEST(HttpSerialize, AResponseReadsBackWithStatusTypeHeadersAndBody) {
  HttpResponse response;
  response.status = 404;
  response.headers = {{"Retry-After", "1"}};
  response.body = R"({"error":"no such figure"})";
  std::string out;
  append_response(response, 11, true, out);
  EXPECT_EQ(out.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << out;
  bool keep_alive = false;
  const auto back = parsed_response(out, false, &keep_alive);
  EXPECT_TRUE(keep_alive);
  EXPECT_EQ(back.status, 404);
  EXPECT_EQ(back.content_type, "application/json");
  EXPECT_EQ(back.header("Server"), "isla");
  EXPECT_EQ(back.header("Retry-After"), "1");
  EXPECT_EQ(back.body, response.body);
}

TEST(HttpSerialize, ABackendsServerAndTypeReplaceIslas) {
  HttpResponse response;
  response.headers = {{"Server", "nginx"}, {"content-type", "text/html"}};
  response.body = "<p>";
  std::string out;
  append_response(response, 11, true, out);
  EXPECT_EQ(count_of(out, "isla"), 0u) << out;
  EXPECT_EQ(count_of(out, "application/json"), 0u) << out;
  EXPECT_EQ(parsed_response(out).content_type, "text/html");
}

TEST(HttpSerialize, ConnectionFollowsKeepAliveAndTheClientsVersion) {
  HttpResponse response;
  response.headers = {{"Connection", "upgrade"}};
  std::string closing, old_kept, old_closing, kept;
  append_response(response, 11, false, closing);
  append_response(response, 10, true, old_kept);
  append_response(response, 10, false, old_closing);
  append_response(response, 11, true, kept);
  bool keep_alive = true;
  parsed_response(closing, false, &keep_alive);
  EXPECT_FALSE(keep_alive) << closing;
  EXPECT_NE(closing.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(old_kept.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << old_kept;
  EXPECT_NE(old_kept.find("Connection: keep-alive\r\n"), std::string::npos) << old_kept;
  EXPECT_EQ(old_closing.find("Connection"), std::string::npos) << old_closing;
  EXPECT_EQ(kept.find("Connection"), std::string::npos) << kept;
}

TEST(HttpSerialize, HeadAnswersAnnounceALengthButCarryNoBody) {
  HttpResponse response;
  response.body = "12345";
  std::string own, announced;
  append_response(response, 11, true, own, true);
  HttpResponse empty;
  append_response(empty, 11, true, announced, true, 4096);
  EXPECT_NE(own.find("Content-Length: 5\r\n"), std::string::npos) << own;
  EXPECT_EQ(own.find("12345"), std::string::npos) << own;
  EXPECT_NE(announced.find("Content-Length: 4096\r\n"), std::string::npos) << announced;
  EXPECT_EQ(parsed_response(own, true).body, "");
  EXPECT_EQ(parsed_response(announced, true).body, "");
}

TEST(HttpSerialize, NoContentAndNotModifiedCarryNeitherBodyNorLength) {
  for (const int status : {204, 304, 101}) {
    HttpResponse response;
    response.status = status;
    response.body = "ignored";
    std::string out;
    append_response(response, 11, true, out);
    EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
    EXPECT_EQ(out.find("ignored"), std::string::npos) << out;
    if (status != 101) {
      EXPECT_EQ(parsed_response(out).status, status);
    }
  }
}

// Whatever headers a caller hands over, what leaves is one message that parses, with every
// sendable header's last value and nothing else.
TEST(HttpSerialize, RandomHeadersAlwaysMakeOneWellFormedRequest) {
  std::mt19937 random(20261202);
  const std::string alphabet(
      "aZ-_:\r\n\t \0\x7f\xff"
      "xyz",
      15);
  auto text = [&](std::size_t max) {
    std::string out(random() % (max + 1), ' ');
    for (auto& c : out) c = alphabet[random() % alphabet.size()];
    return out;
  };
  for (int round = 0; round < 2000; ++round) {
    HttpRequest request;
    request.method = "POST";
    request.target = "/t";
    for (int h = random() % 6; h > 0; --h) request.headers.emplace_back(text(6), text(12));
    request.body = text(20);
    std::string out;
    append_request(request, "h:1", out);
    const auto back = parsed_request(out);
    ASSERT_EQ(back.body, request.body) << out;
    for (const auto& [name, value] : back.headers) {
      if (same_header_name(name, "Host") || same_header_name(name, "Content-Length")) continue;
      const auto sent = request.header(name);
      ASSERT_TRUE(sent.has_value()) << "a header nobody asked for: " << name << "\n" << out;
    }
  }
}

}  // namespace
}  // namespace isla::net
