#pragma once
// Splits what a server sends on one connection into its HTTP/1.1 answers, in order: the
// client's receive path, and a fuzz target's, with no socket involved.
#include <memory>
#include <optional>
#include <string>

#include "net/asio.hpp"
#include "net/http_types.hpp"
#include "net/receive_buffer.hpp"

namespace isla::net {

class ResponseReader {
 public:
  explicit ResponseReader(std::size_t max_body_bytes);
  ~ResponseReader();
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;

  // What was received and not parsed yet; the reader parses from it.
  ReceiveBuffer& input() { return input_; }

  // Whether any byte of the answer being read has arrived.
  bool started() const { return started_; }

  struct Answer {
    std::optional<HttpResponse> response;  // nullopt: more bytes are needed, or an error
    bool keep_alive = true;                // false: the server sends nothing more after it
    std::string error;                     // set when the bytes are not a valid answer
  };
  // The next complete answer from the bytes received. `head` says the request it answers
  // was a HEAD, whose answer has no body whatever its Content-Length says.
  Answer next(bool head);

 private:
  struct Parser;
  ReceiveBuffer input_;
  std::unique_ptr<Parser> parser_;
  std::size_t max_body_bytes_;
  bool started_ = false;
};

}  // namespace isla::net
