#include "net/response_reader.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <cstring>

#include "net/beast_codec.hpp"

namespace isla::net {

struct ResponseReader::Parser {
  boost::beast::flat_buffer input;
  std::optional<http::response_parser<http::string_body>> current;
};

ResponseReader::ResponseReader(std::size_t max_body_bytes)
    : parser_(std::make_unique<Parser>()), max_body_bytes_(max_body_bytes) {}

ResponseReader::~ResponseReader() = default;

asio::mutable_buffer ResponseReader::prepare(std::size_t bytes) {
  return parser_->input.prepare(bytes);
}

void ResponseReader::commit(std::size_t bytes) {
  parser_->input.commit(bytes);
}

void ResponseReader::feed(std::string_view bytes) {
  auto room = prepare(bytes.size());
  std::memcpy(room.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

bool ResponseReader::has_bytes() const {
  return parser_->input.size() > 0;
}

ResponseReader::Answer ResponseReader::next(bool head) {
  auto& input = parser_->input;
  auto& parser = parser_->current;
  while (input.size() > 0) {
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
    auto response = parser->release();
    parser.reset();
    started_ = false;
    const bool keep_alive = response.keep_alive();
    return Answer{from_beast(std::move(response)), keep_alive, {}};
  }
  return Answer{};
}

}  // namespace isla::net
