// The coordinator's notifier (issue 22, docs/notifications.md): a thread
// that every `interval` (a setting, 30 s by default) computes the conditions
// that need a person (conditions.h), decides in one transaction what starts
// and what clears (alerts.h), writes the messages to the outbox, and then
// delivers the outbox to the channels (senders.h), retrying (common/retry.h)
// and keeping what could not be delivered for the next round. It also pings
// each device's Healthchecks-style URL when the device completes a backup,
// and URL/fail when one of its alerts starts.
//
// Thread-safe: Wake, EvaluateOnce, DeliverOutbox and Test may be called from
// any thread (the RPCs and tests do); rounds are serialised.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/crypto/keys.h"
#include "coordinator/notify/settings.h"
#include "coordinator/store/model.h"
#include "coordinator/store/notify_store.h"

namespace shoebox::coordinator {
class Store;
}

namespace shoebox::coordinator::notify {

struct NotifierOptions {
  // The chunk store's location: a directory's disk is watched (statvfs); a
  // URL (s3://...) is not.
  std::string chunk_store;
  uint32_t worker_stale_ms = 120000;
  // Seals the channels' secrets (SMTP password, webhook key); derived from
  // the master key ("shoebox notify key").
  Key256 secret_key{};
};

class Notifier {
 public:
  // Borrows `store`, which must outlive this object. Does not start the
  // thread (Start does).
  Notifier(Store* store, NotifierOptions options);
  ~Notifier();  // stops the thread
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void Start();
  // Ends the current wait: the next round starts now (after a setting or a
  // channel changed).
  void Wake();

  // One round: conditions, decision, outbox rows. Not delivered yet.
  absl::Status EvaluateOnce();
  // Delivers waiting messages; a channel whose server fails keeps its
  // messages (in order) for the next round.
  absl::Status DeliverOutbox();
  // Sends a test message to `channel` now; the server's answer, or an error
  // naming the channel and the server.
  absl::StatusOr<std::string> Test(const std::string& channel);

  // The channel's secret sealed for the database / opened from it.
  std::string SealSecret(const std::string& channel, const std::string& secret) const;
  absl::StatusOr<std::string> OpenSecret(const std::string& channel,
                                         const std::string& sealed) const;

  NotifyStore& store() { return notify_store_; }

 private:
  void Loop();
  absl::StatusOr<Settings> LoadSettings();
  absl::Status TrackDevices(const StatusSummary& status, const Settings& s, int64_t now_ms,
                            std::map<std::string, int64_t>* last_backup);
  void PingDevice(const std::string& device, const std::string& url, const Settings& s,
                  int64_t now_ms);

  Store* const store_;
  const NotifierOptions options_;
  NotifyStore notify_store_;
  absl::Mutex round_mu_;  // one round at a time

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;   // guarded by stop_mu_
  bool woken_ = false;  // guarded by stop_mu_
  std::thread thread_;
};

}  // namespace shoebox::coordinator::notify
