#include "net/router.hpp"

#include <gtest/gtest.h>

namespace isla::net {
namespace {

HttpResponse run(Router& router, std::string method, std::string target) {
  asio::io_context context;
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  HttpResponse response;
  asio::co_spawn(
      context, [&]() -> asio::awaitable<void> { response = co_await router.dispatch(request); },
      asio::detached);
  context.run();
  return response;
}

Router::Handler answer(std::string text) {
  return [text](HttpRequest&, std::string_view tail) -> asio::awaitable<HttpResponse> {
    co_return json_response(200, text + ":" + std::string(tail));
  };
}

TEST(Router, MatchesExactAndPrefixRoutes) {
  Router router;
  router.get("/api/figures", "figures", Access::anyone, answer("list"));
  router.get_prefix("/api/figures/", "figure", Access::anyone, answer("one"));
  EXPECT_EQ(run(router, "GET", "/api/figures").body, "list:");
  EXPECT_EQ(run(router, "GET", "/api/figures/giraffe?x=1").body, "one:giraffe");
}

TEST(Router, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  Router router;
  router.get("/api/status", "status", Access::anyone, answer("s"));
  EXPECT_EQ(run(router, "GET", "/nope").status, 404);
  auto response = run(router, "DELETE", "/api/status");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Allow").value_or(""), "GET");
}

TEST(Router, ReportsEachRequestToTheObserver) {
  Router router;
  router.get("/a", "a", Access::anyone, answer("x"));
  std::vector<std::pair<std::string, int>> seen;
  router.observe_with([&](const std::string& route, int status, double seconds) {
    EXPECT_GE(seconds, 0.0);
    seen.emplace_back(route, status);
  });
  run(router, "GET", "/a");
  run(router, "GET", "/b");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (std::pair<std::string, int>{"a", 200}));
  EXPECT_EQ(seen[1], (std::pair<std::string, int>{"unmatched", 404}));
}

}  // namespace
}  // namespace isla::net
