#include "store/etcd/etcd_errors.hpp"

#include <array>
#include <string>

#include "store/etcd/etcd_codec.hpp"

namespace isla::store::etcd {

namespace {

// grpc status codes (google.golang.org/grpc/codes) that etcd's JSON gateway passes on.
enum GrpcCode : int {
  kCancelled = 1,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kUnavailable = 14,
  kUnauthenticated = 16,
};

// etcd's messages (etcdserver/api/v3rpc/rpctypes) for refusals made before anything was
// proposed: the request was not applied, whatever it was.
constexpr std::array<std::string_view, 5> kRefusedBeforeProposing{
    "etcdserver: no leader",  // a member cut off from the others
    "etcdserver: not capable",
    "etcdserver: unhealthy cluster",  // --strict-reconfig-check refusals
    "etcdserver: too many requests",  // the apply backlog is too long
    "etcdserver: not leader",
};

bool refused_before_proposing(std::string_view message) {
  for (auto known : kRefusedBeforeProposing) {
    if (message.starts_with(known)) return true;
  }
  return false;
}

StoreError make(StoreErrorCode code, std::string message) {
  return {code, "etcd: " + std::move(message), {}};
}

// A failure after the request reached etcd, with no word on whether it was applied.
StoreError unclear(CallKind kind, std::string message) {
  return make(
      kind == CallKind::write ? StoreErrorCode::unknown_outcome : StoreErrorCode::unavailable,
      std::move(message));
}

}  // namespace

StoreError error_of_answer(int status, std::string_view body, CallKind kind) {
  auto failure = failure_from_json(body);
  if (!failure || failure->code < 0) {
    // Not etcd's error shape: a proxy, or not etcd at all.
    std::string message = "HTTP " + std::to_string(status);
    if (status >= 500) return unclear(kind, std::move(message));
    return make(StoreErrorCode::rejected, std::move(message));
  }
  auto& message = failure->message;
  if (refused_before_proposing(message)) return make(StoreErrorCode::unavailable, message);
  switch (failure->code) {
    case kInvalidArgument:
    case kOutOfRange:
    case kPermissionDenied:
    case kUnauthenticated:
    case kUnimplemented:
      return make(StoreErrorCode::rejected, message);
    case kNotFound:
      return make(StoreErrorCode::not_found, message);
    case kResourceExhausted:
      // Too many requests, or the database's space quota (an alarm until compacted and
      // defragmented): refused before proposing, so nothing was done.
      return make(StoreErrorCode::unavailable, message);
    case kFailedPrecondition:
      return make(StoreErrorCode::conflict, message);
    case kUnavailable:
    case kDeadlineExceeded:
    case kCancelled:
    default:
      // "request timed out", "leader changed", "server stopped": the proposal may commit.
      return unclear(kind, message);
  }
}

StoreError error_of_transport(net::ClientErrorKind error, std::string_view message, CallKind kind) {
  if (error == net::ClientErrorKind::connect) {
    return make(StoreErrorCode::unavailable, std::string(message));
  }
  return unclear(kind, std::string(message));
}

}  // namespace isla::store::etcd
