#include "net/message_parsers.hpp"

namespace isla::net {

void RequestParser::on_request_impl(http::verb method, boost::beast::string_view method_string,
                                    boost::beast::string_view target, int version,
                                    boost::system::error_code&) {
  message_.method.assign(method_string.data(), method_string.size());
  message_.target.assign(target.data(), target.size());
  message_.headers.reserve(8);
  version_ = static_cast<unsigned>(version);
  head_method_ = method == http::verb::head;
}

void RequestParser::on_field_impl(http::field, boost::beast::string_view name_string,
                                  boost::beast::string_view value, boost::system::error_code&) {
  message_.headers.emplace_back(std::string(name_string), std::string(value));
}

void ResponseParser::on_response_impl(int status, boost::beast::string_view, int,
                                      boost::system::error_code&) {
  message_.status = status;
}

// Content-Type has a member of its own in isla's responses; the last one sent wins, as
// when the message was read back from Beast's fields.
void ResponseParser::on_field_impl(http::field name, boost::beast::string_view name_string,
                                   boost::beast::string_view value, boost::system::error_code&) {
  if (name == http::field::content_type) {
    message_.content_type.assign(value.data(), value.size());
  } else {
    message_.headers.emplace_back(std::string(name_string), std::string(value));
  }
}

}  // namespace isla::net
