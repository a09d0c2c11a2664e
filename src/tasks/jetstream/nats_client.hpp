#pragma once
// libnats (Debian libnats-dev) in RAII types, and the JetStream objects the queue needs: a
// connection that reconnects for ever, the work-queue stream and its durable pull consumer.
// libnats calls block and run on their own threads; the queue calls them off its executor.
#include <nats/nats.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace isla::tasks::jetstream {

struct NatsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws NatsError naming `what`, the status and libnats's last error when not NATS_OK.
void check(natsStatus status, const std::string& what, jsErrCode code = static_cast<jsErrCode>(0));

struct ConnectionCloser {
  void operator()(natsConnection* nc) const { natsConnection_Destroy(nc); }
};
struct JetStreamCloser {
  void operator()(jsCtx* js) const { jsCtx_Destroy(js); }
};
struct SubscriptionCloser {
  void operator()(natsSubscription* sub) const { natsSubscription_Destroy(sub); }
};
struct MessageCloser {
  void operator()(natsMsg* msg) const { natsMsg_Destroy(msg); }
};
using Connection = std::unique_ptr<natsConnection, ConnectionCloser>;
using JetStream = std::unique_ptr<jsCtx, JetStreamCloser>;
using Subscription = std::unique_ptr<natsSubscription, SubscriptionCloser>;
using Message = std::unique_ptr<natsMsg, MessageCloser>;

struct StreamSpec {
  std::string stream = "ISLA_TASKS";
  std::string subject_prefix = "isla.tasks";  // subjects <prefix>.p0 ... <prefix>.p9
  std::string consumer = "isla-dispatch";
  int replicas = 3;
  std::chrono::milliseconds ack_wait{30'000};
  std::int64_t max_deliver = 250;
  std::int64_t max_ack_pending = 65'536;
  std::chrono::seconds duplicate_window{120};
};

// Connects to any of `urls`; reconnects for ever afterwards (libnats buffers what is
// published meanwhile). Waits up to `timeout` for a first server.
Connection connect(const std::vector<std::string>& urls, const std::string& name,
                   std::chrono::milliseconds timeout);
JetStream jetstream(natsConnection* nc, std::chrono::milliseconds wait);

// Creates the stream and the consumer, or checks that they exist as specified (an earlier
// gateway created them). Retried until `timeout`: a cluster that has just started may not
// have elected its JetStream meta leader yet.
void ensure_stream(jsCtx* js, const StreamSpec& spec, std::chrono::milliseconds timeout);

// A pull subscription bound to the spec's durable consumer.
Subscription pull_subscribe(jsCtx* js, const StreamSpec& spec);

// `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>`
std::string max_deliveries_subject(const StreamSpec& spec);

}  // namespace isla::tasks::jetstream
