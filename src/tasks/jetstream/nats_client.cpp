#include "tasks/jetstream/nats_client.hpp"

#include <spdlog/spdlog.h>

#include <thread>

namespace isla::tasks::jetstream {

using Clock = std::chrono::steady_clock;

void check(natsStatus status, const std::string& what, jsErrCode code) {
  if (status == NATS_OK) return;
  std::string text = what + ": " + natsStatus_GetText(status);
  if (code != 0) text += " (JetStream error " + std::to_string(static_cast<int>(code)) + ")";
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0') text += ": " + std::string(last);
  throw NatsError(text);
}

namespace {

void on_disconnected(natsConnection* nc, void* name) {
  if (natsConnection_IsClosed(nc)) return;  // closed on purpose (the gateway stops)
  spdlog::warn("nats {}: disconnected; reconnecting", static_cast<const char*>(name));
}
void on_reconnected(natsConnection* nc, void* name) {
  char url[256] = {};
  natsConnection_GetConnectedUrl(nc, url, sizeof url);
  spdlog::info("nats {}: reconnected to {}", static_cast<const char*>(name), url);
}

}  // namespace

Connection connect(const std::vector<std::string>& urls, const std::string& name,
                   std::chrono::milliseconds timeout) {
  natsOptions* raw = nullptr;
  check(natsOptions_Create(&raw), "natsOptions_Create");
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> options(raw, natsOptions_Destroy);
  std::vector<const char*> servers;
  for (const auto& url : urls) servers.push_back(url.c_str());
  // The callbacks' closure must outlive the connection: names are static strings.
  static const std::string kName = "task-queue";
  check(natsOptions_SetServers(raw, servers.data(), static_cast<int>(servers.size())),
        "natsOptions_SetServers");
  check(natsOptions_SetName(raw, name.c_str()), "natsOptions_SetName");
  check(natsOptions_SetMaxReconnect(raw, -1), "natsOptions_SetMaxReconnect");
  check(natsOptions_SetReconnectWait(raw, 200), "natsOptions_SetReconnectWait");
  check(natsOptions_SetTimeout(raw, 2000), "natsOptions_SetTimeout");
  // What is published while no server is reachable waits in libnats (up to 8 MiB).
  check(natsOptions_SetReconnectBufSize(raw, 8 * 1024 * 1024), "natsOptions_SetReconnectBufSize");
  check(natsOptions_SetDisconnectedCB(raw, on_disconnected, const_cast<char*>(kName.c_str())),
        "natsOptions_SetDisconnectedCB");
  check(natsOptions_SetReconnectedCB(raw, on_reconnected, const_cast<char*>(kName.c_str())),
        "natsOptions_SetReconnectedCB");
  const auto give_up = Clock::now() + timeout;
  for (;;) {
    natsConnection* nc = nullptr;
    const auto status = natsConnection_Connect(&nc, raw);
    if (status == NATS_OK) return Connection(nc);
    if (Clock::now() >= give_up) check(status, "connecting to " + urls.front());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

JetStream jetstream(natsConnection* nc, std::chrono::milliseconds wait) {
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = wait.count();
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, &options), "natsConnection_JetStream");
  return JetStream(js);
}

std::string max_deliveries_subject(const StreamSpec& spec) {
  return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + spec.stream + "." + spec.consumer;
}

void ensure_stream(jsCtx* js, const StreamSpec& spec, std::chrono::milliseconds timeout) {
  const std::string subjects_text = spec.subject_prefix + ".>";
  const char* subjects[] = {subjects_text.c_str()};
  const auto give_up = Clock::now() + timeout;
  for (;;) {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = spec.stream.c_str();
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Retention = js_WorkQueuePolicy;  // a message goes once acked (or terminated)
    config.Storage = js_FileStorage;
    config.Replicas = spec.replicas;
    config.Duplicates =
        std::chrono::duration_cast<std::chrono::nanoseconds>(spec.duplicate_window).count();
    jsErrCode code = static_cast<jsErrCode>(0);
    jsStreamInfo* info = nullptr;
    auto status = js_AddStream(&info, js, &config, nullptr, &code);
    jsStreamInfo_Destroy(info);
    if (status != NATS_OK && code == JSStreamNameExistErr) status = NATS_OK;  // made before
    if (status == NATS_OK) {
      jsConsumerConfig consumer;
      jsConsumerConfig_Init(&consumer);
      consumer.Durable = spec.consumer.c_str();
      consumer.AckPolicy = js_AckExplicit;
      consumer.AckWait =
          std::chrono::duration_cast<std::chrono::nanoseconds>(spec.ack_wait).count();
      consumer.MaxDeliver = spec.max_deliver;
      consumer.MaxAckPending = spec.max_ack_pending;
      consumer.FilterSubject = subjects_text.c_str();
      jsConsumerInfo* consumer_info = nullptr;
      code = static_cast<jsErrCode>(0);
      status = js_AddConsumer(&consumer_info, js, spec.stream.c_str(), &consumer, nullptr, &code);
      jsConsumerInfo_Destroy(consumer_info);
      if (status != NATS_OK && code == JSConsumerNameExistErr) status = NATS_OK;
      if (status == NATS_OK) return;
    }
    if (Clock::now() >= give_up) check(status, "creating stream " + spec.stream, code);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

Subscription pull_subscribe(jsCtx* js, const StreamSpec& spec) {
  jsSubOptions bind;
  jsSubOptions_Init(&bind);
  bind.Stream = spec.stream.c_str();
  bind.Consumer = spec.consumer.c_str();
  const std::string subject = spec.subject_prefix + ".>";
  natsSubscription* raw = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  check(js_PullSubscribe(&raw, js, subject.c_str(), spec.consumer.c_str(), nullptr, &bind, &code),
        "subscribing to consumer " + spec.consumer, code);
  return Subscription(raw);
}

}  // namespace isla::tasks::jetstream
