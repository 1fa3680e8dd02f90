// What the notifier keeps in PostgreSQL (migration 17, docs/notifications.md):
// channels with their sealed secrets and rate windows, settings, alert
// state, the outbox, and per-device ping URLs and backup counters. Each call
// is one transaction through Store::RunInTransaction. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/notify/model.h"

namespace shoebox::coordinator {

class Store;

struct NotifyChannelRow {
  std::string name, kind, url, email_to, smtp_user;
  std::string sealed_secret;  // "" none
  bool insecure_smtp = false;
  std::string last_error;
  int64_t last_sent_ms = 0;
  uint32_t queued = 0;  // outbox messages waiting
};

struct NotifyDeviceRow {
  std::string device, ping_url;
  int64_t files = -1, bytes = -1;  // -1: not seen by the notifier yet
  int64_t changed_ms = 0;          // when files/bytes last changed
  int64_t last_ping_ms = 0;
  std::string last_ping_error;
};

struct NotifyOutboxRow {
  int64_t id = 0;
  std::string channel, event, subject, message_json;
  int attempts = 0;
};

class NotifyStore {
 public:
  // Borrows `store`, which must outlive this object.
  explicit NotifyStore(Store* store) : store_(store) {}

  // ALREADY_EXISTS when the name is taken.
  absl::Status AddChannel(const NotifyChannelRow& row);
  absl::StatusOr<std::vector<NotifyChannelRow>> ListChannels();
  // NOT_FOUND naming the channel and how to list them.
  absl::StatusOr<NotifyChannelRow> GetChannel(const std::string& name);
  // Removes it with its outbox; NOT_FOUND when there is none.
  absl::Status RemoveChannel(const std::string& name);

  absl::StatusOr<std::map<std::string, std::string>> Settings();
  absl::Status SetSetting(const std::string& key, const std::string& value);

  // Open alerts and those cleared within the last day.
  absl::StatusOr<std::vector<notify::AlertRecord>> ListAlerts();

  // One evaluation under a transaction-scoped advisory lock (so one of
  // several coordinators evaluates at a time): loads the alerts and the
  // channels' windows, calls `decide` (which may run more than once when the
  // transaction is retried), writes its plan (alerts, windows, outbox) and
  // returns it. nullopt-like: *ran = false when another coordinator holds
  // the lock.
  absl::StatusOr<notify::Plan> Evaluate(
      const std::function<notify::Plan(const std::vector<notify::AlertRecord>&,
                                       const std::vector<notify::ChannelWindow>&)>& decide,
      bool* ran);

  // Claims the waiting messages no other coordinator holds, oldest first,
  // for `claim_ms` (so two coordinators never send one message twice).
  absl::StatusOr<std::vector<NotifyOutboxRow>> ClaimOutbox(int64_t now_ms, int64_t claim_ms);
  absl::Status OutboxSent(const NotifyOutboxRow& row, int64_t now_ms);
  absl::Status OutboxFailed(const NotifyOutboxRow& row, const std::string& error);
  // Gives a claimed message back untouched (its channel failed earlier).
  absl::Status ReleaseOutbox(const NotifyOutboxRow& row);

  // Chunks found damaged and not repaired (chunk_damage, docs/verify.md).
  absl::StatusOr<uint64_t> CountOpenDamage();

  absl::StatusOr<std::vector<NotifyDeviceRow>> Devices();
  // NOT_FOUND when the device was never enrolled. "" removes the URL.
  absl::Status SetPingUrl(const std::string& device, const std::string& url);
  // Upserts the counters of `row.device` (files, bytes, changed_ms).
  absl::Status RecordDeviceCounts(const NotifyDeviceRow& row);
  absl::Status RecordPing(const std::string& device, int64_t now_ms, const std::string& error);

 private:
  Store* const store_;
};

}  // namespace shoebox::coordinator
