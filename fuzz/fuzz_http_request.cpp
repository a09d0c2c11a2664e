// Fuzzes the server's request path: bytes -> parse_request -> a Router configured like the
// gateway's. Parse failures must be 4xx JSON errors; parsed requests must be answered with
// 200/400/404/405, and any figure name that reaches a handler must be a valid name.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json.hpp>

#include "core/names.hpp"
#include "invariant.hpp"
#include "net/asio.hpp"
#include "net/http_parse.hpp"
#include "net/router.hpp"
#include "pieces/api.hpp"

namespace asio = boost::asio;
using isla::net::HttpRequest;
using isla::net::HttpResponse;

namespace {

bool json_error_body(const std::string& body) {
  boost::system::error_code error;
  const auto value = boost::json::parse(body, error);
  if (error || !value.is_object()) return false;
  const auto* message = value.as_object().if_contains("error");
  return message != nullptr && message->is_string();
}

// ^[a-z0-9-]{1,64}$, not starting with '-': spelled out independently of core::names.
bool matches_name_pattern(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '-') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// The figure name the prefix handler accepted in the current run, if any.
std::optional<std::string> g_accepted_name;

const isla::net::Router& router() {
  static const isla::net::Router instance = [] {
    isla::net::Router r;
    r.get("/api/figures", "figures",
          [](HttpRequest&, std::string_view) -> asio::awaitable<HttpResponse> {
            co_return isla::net::json_response(200, "[]");
          });
    r.get_prefix("/api/figures/", "figure",
                 [](HttpRequest&, std::string_view tail) -> asio::awaitable<HttpResponse> {
                   auto name = isla::pieces::figure_name_from_path(tail);
                   if (!name) {
                     co_return isla::net::json_error(
                         400, "invalid figure name: use 1-64 characters of a-z, 0-9 and '-'");
                   }
                   g_accepted_name = *name;
                   co_return isla::net::json_response(200, "{}");
                 });
    r.get("/api/status", "status",
          [](HttpRequest&, std::string_view) -> asio::awaitable<HttpResponse> {
            co_return isla::net::json_response(200, "{}");
          });
    return r;
  }();
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const isla::net::HttpServerOptions limits;  // the server's defaults

  auto parsed = isla::net::parse_request(bytes, limits);
  if (auto* response = std::get_if<HttpResponse>(&parsed)) {
    if (response->status < 400 || response->status > 499) fail("parse error is not a 4xx");
    if (!json_error_body(response->body)) fail("parse error body is not {\"error\": string}");
    return 0;
  }
  auto& request = std::get<HttpRequest>(parsed);

  g_accepted_name.reset();
  std::optional<HttpResponse> response;
  asio::io_context context;
  asio::co_spawn(
      context, [&]() -> asio::awaitable<void> { response = co_await router().dispatch(request); },
      [](std::exception_ptr error) {
        if (error) std::rethrow_exception(error);  // an undocumented exception: crash
      });
  context.run();

  if (!response) fail("dispatch did not complete");
  const int status = response->status;
  if (status != 200 && status != 400 && status != 404 && status != 405) {
    fail("unexpected response status");
  }
  if (status != 200 && !json_error_body(response->body)) {
    fail("router error body is not a JSON object with an \"error\" string");
  }
  if (status == 405 && !response->header("Allow")) fail("405 without Allow");
  if (g_accepted_name) {
    if (status != 200) fail("accepted a name but did not answer 200");
    if (!matches_name_pattern(*g_accepted_name)) fail("accepted an invalid figure name");
    if (!isla::core::valid_figure_name(*g_accepted_name)) fail("names.hpp disagrees with pattern");
  }
  return 0;
}
