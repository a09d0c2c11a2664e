#pragma once
// Beast's HTTP/1.1 parser writing straight into isla's messages; included only by the
// request and response readers. Beast's own request_parser/response_parser first build a
// beast::http::message (one allocated node per header, kept in an intrusive set) that the
// readers then copied field by field into isla's Headers: on a proxy, both legs of every
// request paid for each header three times. Here basic_parser (all of the parsing and its
// checks: framing, limits, token rules) hands each field over once, as it is parsed.
#include <boost/beast/http/basic_parser.hpp>

#include "net/body_collector.hpp"
#include "net/http_types.hpp"

namespace isla::net {

namespace http = boost::beast::http;

// What requests and answers share: the message being filled in, and its body (whole or
// chunked) gathered by BodyCollector. The start line and the fields are each side's own.
template <bool kIsRequest, class Message>
class MessageParser : public http::basic_parser<kIsRequest> {
 public:
  // The message as far as it has been parsed: its head once is_header_done(), all of it
  // once is_done().
  Message& message() { return message_; }
  const Message& message() const { return message_; }

 protected:
  Message message_;

 private:
  void on_header_impl(boost::system::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         boost::system::error_code&) override {
    if (content_length) BodyCollector::start(message_.body, *content_length);
  }
  std::size_t on_body_impl(boost::beast::string_view bytes, boost::system::error_code&) override {
    return BodyCollector::append(message_.body, bytes);
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                            boost::system::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view bytes,
                                 boost::system::error_code&) override {
    return BodyCollector::append(message_.body, bytes);
  }
  void on_finish_impl(boost::system::error_code&) override {}
};

class RequestParser final : public MessageParser<true, HttpRequest> {
 public:
  unsigned version() const { return version_; }
  bool head_method() const { return head_method_; }

 private:
  void on_request_impl(http::verb method, boost::beast::string_view method_string,
                       boost::beast::string_view target, int version,
                       boost::system::error_code& error) override;
  void on_response_impl(int, boost::beast::string_view, int, boost::system::error_code&) override {}
  void on_field_impl(http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::system::error_code& error) override;

  unsigned version_ = 11;
  bool head_method_ = false;
};

class ResponseParser final : public MessageParser<false, HttpResponse> {
 private:
  void on_request_impl(http::verb, boost::beast::string_view, boost::beast::string_view, int,
                       boost::system::error_code&) override {}
  void on_response_impl(int status, boost::beast::string_view reason, int version,
                        boost::system::error_code& error) override;
  void on_field_impl(http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::system::error_code& error) override;
};

}  // namespace isla::net
