#include "browser/webdriver.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "net/http_client.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {

namespace json = boost::json;

namespace {

constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";

std::string base64_decode(std::string_view text) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    const auto index = alphabet.find(c);
    if (index == std::string::npos) continue;
    buffer = (buffer << 6) | static_cast<unsigned>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

WebDriver::WebDriver() {
  start();
}

void WebDriver::start() {
  dir_ = std::filesystem::temp_directory_path() / ("isla-browser-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir_);
  // Below the ephemeral range (32768+), where a test's own client sockets could hold the
  // port; a few tries in case another process has it anyway.
  bool up = false;
  for (int attempt = 0; attempt < 3 && !up; ++attempt) {
    endpoint_ = {"127.0.0.1",
                 static_cast<std::uint16_t>(10000 + (::getpid() * 7 + attempt * 4099) % 20000)};
    driver_ = core::ChildProcess::spawn(
        {"/usr/bin/chromedriver", "--port=" + std::to_string(endpoint_.port)},
        (dir_ / "chromedriver.log").string());
    up = eventually(
        [&] {
          if (!driver_->running()) return false;
          net::HttpRequest request;
          request.target = "/status";
          auto result = net::fetch(endpoint_, request, std::chrono::milliseconds(500));
          return result.ok() && result.response->status == 200;
        },
        std::chrono::seconds(15));
  }
  ASSERT_TRUE(up) << "chromedriver did not start:\n" << read_file(dir_ / "chromedriver.log");
  json::array args = {"--headless",
                      "--no-sandbox",
                      "--disable-gpu",
                      "--disable-dev-shm-usage",
                      "--disable-quic",
                      "--no-first-run",
                      "--disable-background-networking",
                      "--disable-component-update",
                      "--disable-sync",
                      "--window-size=1280,900",
                      "--user-data-dir=" + (dir_ / "profile").string()};
  json::object options{{"binary", "/usr/bin/chromium"}, {"args", args}};
  json::object capabilities{{"browserName", "chrome"}, {"goog:chromeOptions", options}};
  auto created =
      call("POST", "/session", json::object{{"capabilities", {{"alwaysMatch", capabilities}}}});
  ASSERT_TRUE(created.is_object() && created.as_object().contains("sessionId"))
      << json::serialize(created);
  session_ = std::string(created.at("sessionId").as_string());
}

WebDriver::~WebDriver() {
  if (!session_.empty()) call("DELETE", "/session/" + session_, nullptr);
  driver_.reset();
  std::filesystem::remove_all(dir_);
}

json::value WebDriver::call(const std::string& method, const std::string& path,
                            const json::value& body) {
  net::HttpRequest request;
  request.method = method;
  request.target = path;
  if (!body.is_null()) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = json::serialize(body);
  }
  auto result = net::fetch(endpoint_, request, std::chrono::seconds(60));
  if (!result.ok()) return json::value();
  boost::system::error_code error;
  auto reply = json::parse(result.response->body, error);
  if (error || !reply.is_object() || !reply.as_object().contains("value")) return json::value();
  return reply.at("value");
}

void WebDriver::navigate(const std::string& url) {
  call("POST", "/session/" + session_ + "/url", json::object{{"url", url}});
}

json::value WebDriver::execute(const std::string& script) {
  return call("POST", "/session/" + session_ + "/execute/sync",
              json::object{{"script", script}, {"args", json::array()}});
}

void WebDriver::click(const std::string& css_selector) {
  auto found = call("POST", "/session/" + session_ + "/element",
                    json::object{{"using", "css selector"}, {"value", css_selector}});
  ASSERT_TRUE(found.is_object() && found.as_object().contains(kElementKey))
      << "no element " << css_selector << ": " << json::serialize(found);
  const std::string element(found.at(kElementKey).as_string());
  call("POST", "/session/" + session_ + "/element/" + element + "/click", json::object());
}

void WebDriver::screenshot(const std::filesystem::path& file) {
  auto png = call("GET", "/session/" + session_ + "/screenshot", nullptr);
  if (!png.is_string()) return;
  std::ofstream(file, std::ios::binary) << base64_decode(png.as_string());
}

}  // namespace isla::testing
