#include "net/response_reader.hpp"

#include "net/message_parsers.hpp"

namespace isla::net {

struct ResponseReader::Parser {
  std::optional<ResponseParser> current;
};

ResponseReader::ResponseReader(std::size_t max_body_bytes)
    : parser_(std::make_unique<Parser>()), max_body_bytes_(max_body_bytes) {}

ResponseReader::~ResponseReader() = default;

ResponseReader::Answer ResponseReader::next(bool head) {
  auto& input = input_;
  auto& parser = parser_->current;
  while (input.has_bytes()) {
    started_ = true;
    if (!parser) {
      parser.emplace();
      parser->body_limit(max_body_bytes_);
      parser->eager(true);
      if (head) parser->skip(true);
    }
    boost::system::error_code error;
    const auto used = parser->put(input.data(), error);
    input.consume(used);
    if (error == http::error::need_more) break;
    if (error) return Answer{std::nullopt, false, error.message()};
    if (!parser->is_done()) {
      if (used == 0) break;
      continue;
    }
    const bool keep_alive = parser->keep_alive();
    Answer answer{std::move(parser->message()), keep_alive, {}};
    parser.reset();
    started_ = false;
    return answer;
  }
  return Answer{};
}

}  // namespace isla::net
