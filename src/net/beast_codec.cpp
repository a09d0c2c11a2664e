#include "net/beast_codec.hpp"

#include "net/http_parse.hpp"
#include "net/request_reader.hpp"

namespace isla::net {

BeastResponse to_beast(HttpResponse&& response, unsigned version, bool keep_alive) {
  BeastResponse out{static_cast<http::status>(response.status), version};
  out.set(http::field::server, "isla");
  out.set(http::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) out.set(name, value);
  out.keep_alive(keep_alive);
  out.body() = std::move(response.body);
  out.prepare_payload();
  return out;
}

HttpResponse parse_failure_response(const boost::system::error_code& error) {
  if (error == http::error::header_limit) {
    return json_error(431, "request header fields too large");
  }
  if (error == http::error::body_limit) {
    return json_error(413, "request body too large");
  }
  return json_error(400, "malformed HTTP request: " + error.message());
}

std::variant<HttpRequest, HttpResponse> parse_request(std::string_view bytes,
                                                      const HttpServerOptions& limits) {
  RequestReader reader(limits);
  reader.input().feed(bytes);
  auto progress = reader.next();
  if (progress == RequestReader::Progress::head) progress = reader.next();
  if (progress == RequestReader::Progress::done) return reader.take().request;
  reader.finish();
  return reader.rejection();
}

}  // namespace isla::net
