#pragma once
// A request to etcd's JSON gateway, as EtcdStore and its watch followers send it.
#include <string>

#include "net/http_types.hpp"

namespace isla::store::etcd {

inline net::HttpRequest etcd_request(const std::string& path, const std::string& body,
                                     bool idempotent) {
  net::HttpRequest request;
  request.method = "POST";  // every call of the JSON gateway is a POST
  request.target = path;
  request.body = body;
  request.idempotent = idempotent;
  request.headers.emplace_back("Content-Type", "application/json");
  // grpc metadata "hasleader": a member cut off from its leader answers "no leader" at once
  // (nothing done: the next member is asked) instead of holding the request until its own
  // timeout and answering "request timed out" (unknown outcome).
  request.headers.emplace_back("Grpc-Metadata-hasleader", "true");
  return request;
}

}  // namespace isla::store::etcd
