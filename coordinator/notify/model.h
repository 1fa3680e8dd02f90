// Plain types of the notifier (issue 22, docs/notifications.md): the
// conditions the coordinator sees, the alert state it keeps, the messages it
// sends. No store, no network: the pure rules (alerts.h), the formatting
// (format.h) and the senders (senders.h) speak these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox::coordinator::notify {

// Something that needs a person, as one evaluation sees it.
struct Condition {
  std::string key;      // stable identity, e.g. "destination_failing:nas"
  std::string kind;     // "destination_failing", "dead_jobs", ...
  std::string object;   // what it is about, e.g. "destination \"nas\""
  std::string device;   // the device it is about ("" none): its ping URL gets /fail
  std::string message;  // what is wrong, one line
  std::string action;   // what to do, one line
  int64_t hold_ms = 0;  // announced only once active this long
};

// What notify_alerts keeps per condition.
struct AlertRecord {
  std::string key, kind, object, device, message, action;
  int64_t first_seen_ms = 0;
  int64_t started_ms = 0;  // announced ("started" queued); 0: not yet
  int64_t cleared_ms = 0;  // announced cleared; 0: open
  int64_t last_sent_ms = 0;
};

// A channel's rate window: messages sent in the hour from window_start_ms,
// and messages held back since, announced as one "and K more".
struct ChannelWindow {
  std::string channel;
  int64_t window_start_ms = 0;
  int window_sent = 0;
  int folded = 0;
};

struct Message {
  std::string event;  // "started", "cleared", "folded", "test"
  std::string key, kind, object, device;
  std::string subject;  // one line
  std::string text;     // what happened, one line
  std::string action;   // what to do ("" none)
  std::string body;     // the full text (email body, ntfy message)
  int priority = 3;     // ntfy's 1..5
  std::string tags;     // ntfy's Tags header
  int64_t at_ms = 0;
};

// The JSON body of a webhook (docs/notifications.md) and the outbox's form.
std::string MessageToJson(const Message& m);
absl::StatusOr<Message> MessageFromJson(const std::string& json);

// What one evaluation decided (alerts.h, Decide): written in one
// transaction, then the outbox is delivered.
struct Plan {
  std::vector<AlertRecord> upsert;  // rows to insert or replace
  std::vector<std::string> erase;   // keys to delete
  std::vector<ChannelWindow> windows;
  struct Out {
    std::string channel;
    Message message;
  };
  std::vector<Out> outbox;
  std::vector<std::string> failed_devices;  // ping URL + "/fail", once per start
};

}  // namespace shoebox::coordinator::notify
