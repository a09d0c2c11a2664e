// A sample external task: counts the words, lines and bytes of a text. It reads its
// parameters as JSON on stdin ({"text": "..."}) and writes its result as JSON on stdout; a
// failure is a non-zero exit with {"error": "..."}.
#include <boost/json.hpp>
#include <iostream>
#include <iterator>
#include <string>

namespace json = boost::json;

int main() {
  const std::string input((std::istreambuf_iterator<char>(std::cin)), {});
  boost::system::error_code error;
  const json::value params = json::parse(input, error);
  if (error || !params.is_object() || !params.as_object().contains("text") ||
      !params.at("text").is_string()) {
    std::cout << json::serialize(json::object{{"error", "expected {\"text\": string}"}}) << "\n";
    return 1;
  }
  const auto& text = params.at("text").get_string();
  std::int64_t words = 0;
  std::int64_t lines = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
    if (c == '\n') ++lines;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  if (!text.empty() && text.back() != '\n') ++lines;
  std::cout << json::serialize(json::object{{"words", words},
                                            {"lines", lines},
                                            {"bytes", static_cast<std::int64_t>(text.size())}})
            << "\n";
  return 0;
}
