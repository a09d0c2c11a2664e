#pragma once
// A minimal W3C WebDriver client over isla's own HTTP client, driving the real Debian
// chromium through chromedriver on loopback.
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "core/child_process.hpp"
#include "core/endpoint.hpp"

namespace isla::testing {

class WebDriver {
 public:
  WebDriver();  // starts chromedriver and a headless chromium session; fails the test if not
  ~WebDriver();

  bool ready() const { return !session_.empty(); }
  void navigate(const std::string& url);
  // Runs `script` (a function body) in the page and returns its result.
  boost::json::value execute(const std::string& script);
  void click(const std::string& css_selector);
  // Saves a PNG of the page (for people looking at failures).
  void screenshot(const std::filesystem::path& file);

 private:
  void start();
  void create_session();
  boost::json::value call(const std::string& method, const std::string& path,
                          const boost::json::value& body,
                          std::chrono::seconds timeout = std::chrono::seconds(60));

  std::filesystem::path dir_;
  core::Endpoint endpoint_;
  std::optional<core::ChildProcess> driver_;
  std::string session_;
};

// Readers of what execute() returns: an integer (-1 when it is not one), a string ("" when it
// is not one).
long long as_integer(const boost::json::value& value);
std::string as_text(const boost::json::value& value);

}  // namespace isla::testing
