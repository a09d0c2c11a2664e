#pragma once
// Reads HTTP/1.1 requests out of what a client sends on one connection, with the server's
// limits. It is the server's receive path and parse_request()'s (the fuzz target's), so
// the fuzzer exercises exactly what a connection runs.
#include <memory>
#include <string_view>

#include "net/http_server.hpp"
#include "net/http_types.hpp"
#include "net/receive_buffer.hpp"

namespace isla::net {

class RequestReader {
 public:
  explicit RequestReader(const HttpServerOptions& limits);
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // What was received and not parsed yet; the reader parses from it.
  ReceiveBuffer& input() { return input_; }

  enum class Progress {
    need_more,  // receive more bytes, then call next() again
    head,       // the current request's head is complete (reported once per request); its
                // body limit is now the one for its target
    done,       // the whole request is in: take() it
    failed,     // not a valid request: send rejection(), then close
  };
  Progress next();
  // The client closed its side. Always `failed`: quietly if it left between requests.
  Progress finish();

  struct Request {
    HttpRequest request;
    unsigned version = 11;
    bool keep_alive = true;
    bool head_method = false;  // HEAD: answer with the head alone
  };
  // After `head`: the request as far as its head goes (method, target, headers; no body).
  HttpRequest head() const;
  // After `done`: the request; the reader goes on to the next one.
  Request take();

  // After `failed`: the 4xx to send, unless quiet() (the client left between requests).
  HttpResponse rejection() const;
  bool quiet() const;

 private:
  struct Parser;
  ReceiveBuffer input_;
  std::unique_ptr<Parser> parser_;
  const HttpServerOptions& limits_;
};

}  // namespace isla::net
