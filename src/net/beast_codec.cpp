#include "net/beast_codec.hpp"

#include <boost/beast/core/buffers_range.hpp>

#include "net/http_parse.hpp"
#include "net/request_reader.hpp"

namespace isla::net {

HttpRequest from_beast(BeastRequest&& request) {
  HttpRequest out;
  out.method = std::string(request.method_string());
  out.target = std::string(request.target());
  out.headers.reserve(8);
  for (const auto& field : request) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(request.body());
  return out;
}

BeastRequest to_beast(const HttpRequest& request, const std::string& host) {
  BeastRequest out;
  out.method_string(request.method);
  out.target(request.target);
  out.version(11);
  out.set(http::field::host, host);
  for (const auto& [name, value] : request.headers) out.set(name, value);
  out.keep_alive(true);
  out.body() = request.body;
  out.prepare_payload();
  return out;
}

HttpResponse from_beast(BeastResponse&& response) {
  HttpResponse out;
  out.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    if (field.name() == http::field::content_type) {
      out.content_type = std::string(field.value());
    } else {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
  }
  out.body = std::move(response.body());
  return out;
}

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

namespace {

template <bool IsRequest>
void serialize_into(http::message<IsRequest, http::string_body>& message, std::string& out,
                    bool head_only = false) {
  http::serializer<IsRequest, http::string_body> serializer(message);
  serializer.split(head_only);
  boost::system::error_code error;
  while (!error && !(head_only ? serializer.is_header_done() : serializer.is_done())) {
    serializer.next(error, [&](boost::system::error_code&, const auto& buffers) {
      std::size_t copied = 0;
      for (const auto piece : boost::beast::buffers_range_ref(buffers)) {
        out.append(static_cast<const char*>(piece.data()), piece.size());
        copied += piece.size();
      }
      serializer.consume(copied);
    });
  }
}

}  // namespace

void append_serialized(BeastRequest& message, std::string& out) {
  serialize_into(message, out);
}

void append_serialized(BeastResponse& message, std::string& out) {
  serialize_into(message, out);
}

void append_serialized_head(BeastResponse& message, std::string& out) {
  serialize_into(message, out, true);
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
