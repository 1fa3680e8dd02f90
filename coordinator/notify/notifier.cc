#include "coordinator/notify/notifier.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <map>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto/blob.h"
#include "common/crypto/hash.h"
#include "common/log.h"
#include "common/retry.h"
#include "common/status.h"
#include "coordinator/notify/alerts.h"
#include "coordinator/notify/conditions.h"
#include "coordinator/notify/format.h"
#include "coordinator/notify/senders.h"
#include "coordinator/store/store.h"

namespace shoebox::coordinator::notify {

namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string Hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == 0) return "localhost";
  return buf;
}

ChunkId SecretId(const std::string& channel) {
  return Sha256::Of(std::string_view(absl::StrCat("shoebox notify channel ", channel)));
}

SendOptions MakeSendOptions(const Settings& s) {
  SendOptions o;
  o.hostname = Hostname();
  o.email_from = s.email_from.empty() ? absl::StrCat("shoebox@", o.hostname) : s.email_from;
  o.ca_file = s.tls_ca_file;
  return o;
}

std::optional<DiskUsage> Disk(const std::string& location) {
  if (location.empty() || absl::StrContains(location, "://")) {
    if (!absl::StartsWith(location, "file://")) return std::nullopt;
  }
  std::string path = absl::StartsWith(location, "file://") ? location.substr(7) : location;
  struct statvfs v {};
  if (statvfs(path.c_str(), &v) != 0) return std::nullopt;
  DiskUsage d;
  d.path = path;
  d.total_bytes = static_cast<uint64_t>(v.f_blocks) * v.f_frsize;
  d.free_bytes = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
  return d;
}

}  // namespace

Notifier::Notifier(Store* store, NotifierOptions options)
    : store_(store), options_(std::move(options)), notify_store_(store) {}

Notifier::~Notifier() {
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Notifier::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Notifier::Wake() {
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    woken_ = true;
  }
  stop_cv_.notify_all();
}

absl::StatusOr<Settings> Notifier::LoadSettings() {
  ASSIGN_OR_RETURN(auto stored, notify_store_.Settings());
  return ResolveSettings(stored);
}

void Notifier::Loop() {
  for (;;) {
    int64_t interval_ms = Settings().interval_ms;
    if (absl::StatusOr<Settings> s = LoadSettings(); s.ok()) interval_ms = s->interval_ms;
    if (absl::Status st = EvaluateOnce(); !st.ok()) {
      SPDLOG_WARN("event=notify_evaluate_failed error=\"{}\"", std::string(st.message()));
    }
    if (absl::Status st = DeliverOutbox(); !st.ok()) {
      SPDLOG_WARN("event=notify_deliver_failed error=\"{}\"", std::string(st.message()));
    }
    std::unique_lock<std::mutex> l(stop_mu_);
    stop_cv_.wait_for(l, std::chrono::milliseconds(interval_ms),
                      [this] { return stop_ || woken_; });
    if (stop_) return;
    woken_ = false;
  }
}

std::string Notifier::SealSecret(const std::string& channel, const std::string& secret) const {
  if (secret.empty()) return "";
  BlobSealer sealer(options_.secret_key);
  return sealer.Seal(SecretId(channel), AsBytes(std::string_view(secret)), Compression::kNever);
}

absl::StatusOr<std::string> Notifier::OpenSecret(const std::string& channel,
                                                 const std::string& sealed) const {
  if (sealed.empty()) return std::string();
  BlobSealer sealer(options_.secret_key);
  absl::StatusOr<std::string> plain = sealer.Open(SecretId(channel), sealed);
  if (!plain.ok()) {
    return absl::DataLossError(absl::StrCat(
        "notification channel \"", channel,
        "\": its stored secret does not open with this coordinator's key (was the key file "
        "replaced?); remove the channel and add it again"));
  }
  return plain;
}

absl::Status Notifier::TrackDevices(const StatusSummary& status, const Settings& s, int64_t now_ms,
                                    std::map<std::string, int64_t>* last_backup) {
  ASSIGN_OR_RETURN(std::vector<NotifyDeviceRow> rows, notify_store_.Devices());
  std::map<std::string, NotifyDeviceRow> by_name;
  for (NotifyDeviceRow& r : rows) by_name[r.device] = std::move(r);
  for (const DeviceStatus& d : status.devices) {
    NotifyDeviceRow row;
    row.device = d.name;
    if (auto it = by_name.find(d.name); it != by_name.end()) row = it->second;
    // A backup is complete when no version of the device waits for chunks;
    // it is new when the files or bytes differ from the last complete one.
    const bool complete = d.files_awaiting_chunks == 0;
    const bool changed =
        row.files != static_cast<int64_t>(d.files) || row.bytes != static_cast<int64_t>(d.bytes);
    if (complete && changed) {
      const bool first = row.files < 0 && row.changed_ms == 0;
      row.files = static_cast<int64_t>(d.files);
      row.bytes = static_cast<int64_t>(d.bytes);
      row.changed_ms = now_ms;
      RETURN_IF_ERROR(notify_store_.RecordDeviceCounts(row));
      if (!row.ping_url.empty() && (!first || d.files > 0)) {
        PingDevice(d.name, row.ping_url, s, now_ms);
      }
    }
    (*last_backup)[d.name] = row.changed_ms;
  }
  return absl::OkStatus();
}

void Notifier::PingDevice(const std::string& device, const std::string& url, const Settings& s,
                          int64_t now_ms) {
  BackoffPolicy policy;
  policy.max_attempts = 3;
  policy.initial_delay = absl::Milliseconds(200);
  policy.max_delay = absl::Seconds(2);
  absl::StatusOr<std::string> answer;
  absl::Status st = Retry(policy, [&] {
    answer = Ping(url, MakeSendOptions(s));
    return answer.status();
  });
  if (!st.ok()) {
    SPDLOG_WARN("event=notify_ping_failed device=\"{}\" error=\"{}\"", device,
                std::string(st.message()));
  }
  absl::Status rec =
      notify_store_.RecordPing(device, now_ms, st.ok() ? "" : std::string(st.message()));
  if (!rec.ok()) {
    SPDLOG_WARN("event=notify_ping_record_failed device=\"{}\" error=\"{}\"", device,
                std::string(rec.message()));
  }
}

absl::Status Notifier::EvaluateOnce() {
  absl::MutexLock round(&round_mu_);
  ASSIGN_OR_RETURN(Settings s, LoadSettings());
  ASSIGN_OR_RETURN(StatusSummary status, store_->GetStatus(options_.worker_stale_ms));
  // The database's clock, as for every age in the status (docs/reliability.md):
  // several coordinators, or one whose clock steps, agree on it.
  const int64_t now = status.now_unix_ms != 0 ? status.now_unix_ms : NowMs();
  ConditionInputs in;
  in.status = &status;
  ASSIGN_OR_RETURN(in.open_damage, notify_store_.CountOpenDamage());
  RETURN_IF_ERROR(TrackDevices(status, s, now, &in.last_backup_ms));
  in.disk = Disk(options_.chunk_store);
  const std::vector<Condition> active = Conditions(in, s, now);
  bool ran = false;
  ASSIGN_OR_RETURN(
      Plan plan,
      notify_store_.Evaluate(
          [&](const std::vector<AlertRecord>& stored, const std::vector<ChannelWindow>& windows) {
            return Decide(active, stored, windows, s.rate_limit_per_hour, now);
          },
          &ran));
  if (!ran) return absl::OkStatus();  // another coordinator evaluates
  for (const Plan::Out& o : plan.outbox) {
    SPDLOG_INFO("event=notify_queued channel=\"{}\" notify_event={} subject=\"{}\"", o.channel,
                o.message.event, o.message.subject);
  }
  if (!plan.failed_devices.empty()) {
    ASSIGN_OR_RETURN(std::vector<NotifyDeviceRow> rows, notify_store_.Devices());
    for (const std::string& device : plan.failed_devices) {
      for (const NotifyDeviceRow& r : rows) {
        if (r.device == device && !r.ping_url.empty()) {
          PingDevice(device, absl::StrCat(r.ping_url, "/fail"), s, now);
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Notifier::DeliverOutbox() {
  absl::MutexLock round(&round_mu_);
  ASSIGN_OR_RETURN(Settings s, LoadSettings());
  ASSIGN_OR_RETURN(std::vector<NotifyOutboxRow> rows,
                   notify_store_.ClaimOutbox(NowMs(), 2 * 60 * 1000));
  if (rows.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<NotifyChannelRow> channels, notify_store_.ListChannels());
  std::map<std::string, ChannelConfig> configs;
  std::map<std::string, std::string> open_errors;
  for (const NotifyChannelRow& c : channels) {
    ChannelConfig cfg{c.name, c.kind, c.url, c.email_to, c.smtp_user, "", c.insecure_smtp};
    absl::StatusOr<std::string> secret = OpenSecret(c.name, c.sealed_secret);
    if (!secret.ok()) {
      open_errors[c.name] = std::string(secret.status().message());
      continue;
    }
    cfg.secret = *secret;
    configs[c.name] = std::move(cfg);
  }
  const SendOptions so = MakeSendOptions(s);
  std::map<std::string, bool> blocked;  // a channel that failed keeps its order
  for (const NotifyOutboxRow& row : rows) {
    if (blocked[row.channel]) {
      RETURN_IF_ERROR(notify_store_.ReleaseOutbox(row));
      continue;
    }
    auto cfg = configs.find(row.channel);
    if (cfg == configs.end()) {
      blocked[row.channel] = true;
      auto e = open_errors.find(row.channel);
      if (e != open_errors.end()) {
        SPDLOG_WARN("event=notify_send_failed channel=\"{}\" notify_event={} error=\"{}\"",
                    row.channel, row.event, e->second);
      }
      RETURN_IF_ERROR(e != open_errors.end() ? notify_store_.OutboxFailed(row, e->second)
                                             : notify_store_.ReleaseOutbox(row));
      continue;
    }
    absl::StatusOr<Message> m = MessageFromJson(row.message_json);
    if (!m.ok()) {
      RETURN_IF_ERROR(notify_store_.OutboxSent(row, 0));  // unreadable: nothing to send
      continue;
    }
    BackoffPolicy policy;
    policy.max_attempts = 3;
    policy.initial_delay = absl::Milliseconds(200);
    policy.max_delay = absl::Seconds(2);
    absl::StatusOr<std::string> answer;
    absl::Status st = Retry(policy, [&] {
      answer = Send(cfg->second, *m, so);
      return answer.status();
    });
    if (st.ok()) {
      SPDLOG_INFO("event=notify_sent channel=\"{}\" notify_event={} answer=\"{}\"", row.channel,
                  row.event, *answer);
      RETURN_IF_ERROR(notify_store_.OutboxSent(row, NowMs()));
    } else {
      SPDLOG_WARN("event=notify_send_failed channel=\"{}\" notify_event={} error=\"{}\"",
                  row.channel, row.event, std::string(st.message()));
      RETURN_IF_ERROR(notify_store_.OutboxFailed(row, std::string(st.message())));
      blocked[row.channel] = true;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Notifier::Test(const std::string& channel) {
  ASSIGN_OR_RETURN(Settings s, LoadSettings());
  ASSIGN_OR_RETURN(NotifyChannelRow c, notify_store_.GetChannel(channel));
  ASSIGN_OR_RETURN(std::string secret, OpenSecret(c.name, c.sealed_secret));
  ChannelConfig cfg{c.name, c.kind, c.url, c.email_to, c.smtp_user, secret, c.insecure_smtp};
  SendOptions so = MakeSendOptions(s);
  so.timeout_ms = 10000;
  return Send(cfg, TestMessage(channel, NowMs()), so);
}

}  // namespace shoebox::coordinator::notify
