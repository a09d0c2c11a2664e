#include "browser/webdriver.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

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

// Whether chromedriver gave up on a session because chromium came up too slowly, as it
// does when the machine is loaded: then, and only then, a new browser is worth a try. Any
// other error (a bad capability, a missing binary) would fail again.
bool browser_was_slow_to_start(const json::value& reply) {
  const auto* object = reply.if_object();
  if (object == nullptr) return false;
  const auto* error = object->if_contains("error");
  const auto* message = object->if_contains("message");
  if (error == nullptr || message == nullptr || !error->is_string() || !message->is_string()) {
    return false;
  }
  const std::string_view text = message->get_string();
  return error->get_string() == "session not created" &&
         (text.find("unable to connect to renderer") != std::string_view::npos ||
          text.find("DevToolsActivePort file doesn't exist") != std::string_view::npos);
}

// Chromium starting on a loaded machine (other tests, a cold disk cache) takes its time.
constexpr std::chrono::seconds kSessionTimeout{120};
// New sessions tried when chromium was too slow to start for chromedriver, and only then.
constexpr int kSessionRetries = 2;

json::object session_request(const std::filesystem::path& profile) {
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
                      "--user-data-dir=" + profile.string()};
  json::object options{{"binary", "/usr/bin/chromium"},
                       {"args", std::move(args)},
                       {"browserStartupTimeout", kSessionTimeout.count() * 1000}};
  // The island CA is not in chromium's store: the HTTPS dashboard test accepts its
  // certificate (verification itself is tested without a browser); http:// is unaffected.
  json::object capabilities{{"browserName", "chrome"},
                            {"acceptInsecureCerts", true},
                            {"goog:chromeOptions", std::move(options)}};
  return json::object{{"capabilities", {{"alwaysMatch", std::move(capabilities)}}}};
}

}  // namespace

WebDriver::WebDriver() {
  start();
}

void WebDriver::start() {
  dir_ = std::filesystem::temp_directory_path() / ("isla-browser-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir_);  // a crashed run with our pid may have left a profile
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
  create_session();
}

void WebDriver::create_session() {
  for (int attempt = 0;; ++attempt) {
    // Each attempt has a profile of its own: a browser that failed to start may have left
    // a lock in its profile, or still hold it.
    const auto profile = dir_ / ("profile-" + std::to_string(attempt));
    std::filesystem::remove_all(profile);
    auto created = call("POST", "/session", session_request(profile), kSessionTimeout);
    if (created.is_object() && created.as_object().contains("sessionId")) {
      session_ = std::string(created.at("sessionId").as_string());
      return;
    }
    ASSERT_TRUE(attempt < kSessionRetries && browser_was_slow_to_start(created))
        << "chromedriver could not create a session (attempt " << attempt + 1
        << "): " << json::serialize(created) << "\n"
        << read_file(dir_ / "chromedriver.log");
    std::cerr << "webdriver: chromium did not come up for chromedriver (attempt " << attempt + 1
              << " of " << kSessionRetries + 1 << ": " << created.at("message").as_string()
              << "); trying again with a fresh profile\n";
  }
}

WebDriver::~WebDriver() {
  if (!session_.empty()) call("DELETE", "/session/" + session_, nullptr);
  driver_.reset();
  std::filesystem::remove_all(dir_);
}

json::value WebDriver::call(const std::string& method, const std::string& path,
                            const json::value& body, std::chrono::seconds timeout) {
  net::HttpRequest request;
  request.method = method;
  request.target = path;
  if (!body.is_null()) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = json::serialize(body);
  }
  auto result = net::fetch(endpoint_, request, timeout);
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

long long as_integer(const json::value& value) {
  return value.is_int64()    ? value.as_int64()
         : value.is_uint64() ? static_cast<long long>(value.as_uint64())
                             : -1;
}

std::string as_text(const json::value& value) {
  return value.is_string() ? std::string(value.as_string()) : std::string();
}

}  // namespace isla::testing
