#include "coordinator/store/notify_store.h"

#include <pqxx/pqxx>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "coordinator/store/pg_codec.h"
#include "coordinator/store/store.h"

namespace shoebox::coordinator {

namespace {

// pg_try_advisory_xact_lock key of the notifier's evaluation ("shoebox 17").
constexpr int64_t kEvaluateLock = 0x5b0e0017;

absl::Status NoSuchChannel(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("notification channel \"", name,
                                          "\" does not exist (list them with `shoebox notify "
                                          "list`, add one with `shoebox notify add`)"));
}

}  // namespace

absl::Status NotifyStore::AddChannel(const NotifyChannelRow& row) {
  return store_->RunInTransaction("add notification channel", [&](pqxx::transaction_base& tx) {
    if (!tx.exec_params("SELECT 1 FROM notify_channels WHERE name = $1", row.name).empty()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "notification channel \"", row.name,
          "\" already exists (remove it first with `shoebox notify remove ", row.name, "`)"));
    }
    tx.exec_params(
        "INSERT INTO notify_channels (name, kind, url, email_to, smtp_user, sealed_secret, "
        "insecure_smtp) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        row.name, row.kind, row.url, row.email_to, row.smtp_user, pg::BinParam(row.sealed_secret),
        row.insecure_smtp);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<NotifyChannelRow>> NotifyStore::ListChannels() {
  std::vector<NotifyChannelRow> out;
  absl::Status st =
      store_->RunInTransaction("list notification channels", [&](pqxx::transaction_base& tx) {
        out.clear();
        for (const pqxx::row& r :
             tx.exec("SELECT c.name, c.kind, c.url, c.email_to, c.smtp_user, c.sealed_secret, "
                     "c.insecure_smtp, c.last_error, c.last_sent_ms, (SELECT count(*) FROM "
                     "notify_outbox o WHERE o.channel = c.name) FROM notify_channels c ORDER BY "
                     "c.name")) {
          NotifyChannelRow c;
          c.name = r[0].as<std::string>();
          c.kind = r[1].as<std::string>();
          c.url = r[2].as<std::string>();
          c.email_to = r[3].as<std::string>();
          c.smtp_user = r[4].as<std::string>();
          c.sealed_secret = pg::Bin(r[5]);
          c.insecure_smtp = r[6].as<bool>();
          c.last_error = r[7].as<std::string>();
          c.last_sent_ms = r[8].as<int64_t>();
          c.queued = static_cast<uint32_t>(r[9].as<int64_t>());
          out.push_back(std::move(c));
        }
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<NotifyChannelRow> NotifyStore::GetChannel(const std::string& name) {
  ASSIGN_OR_RETURN(std::vector<NotifyChannelRow> all, ListChannels());
  for (NotifyChannelRow& c : all) {
    if (c.name == name) return std::move(c);
  }
  return NoSuchChannel(name);
}

absl::Status NotifyStore::RemoveChannel(const std::string& name) {
  return store_->RunInTransaction("remove notification channel", [&](pqxx::transaction_base& tx) {
    if (tx.exec_params("DELETE FROM notify_channels WHERE name = $1", name).affected_rows() == 0) {
      return NoSuchChannel(name);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::map<std::string, std::string>> NotifyStore::Settings() {
  std::map<std::string, std::string> out;
  absl::Status st =
      store_->RunInTransaction("read notification settings", [&](pqxx::transaction_base& tx) {
        out.clear();
        for (const pqxx::row& r : tx.exec("SELECT key, value FROM notify_settings")) {
          out[r[0].as<std::string>()] = r[1].as<std::string>();
        }
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return out;
}

absl::Status NotifyStore::SetSetting(const std::string& key, const std::string& value) {
  return store_->RunInTransaction("set notification setting", [&](pqxx::transaction_base& tx) {
    tx.exec_params(
        "INSERT INTO notify_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE "
        "SET value = EXCLUDED.value",
        key, value);
    return absl::OkStatus();
  });
}

namespace {

std::vector<notify::AlertRecord> LoadAlerts(pqxx::transaction_base& tx) {
  std::vector<notify::AlertRecord> out;
  for (const pqxx::row& r :
       tx.exec("SELECT key, kind, object, device, message, first_seen_ms, started_ms, cleared_ms, "
               "last_sent_ms FROM notify_alerts ORDER BY first_seen_ms, key")) {
    notify::AlertRecord a;
    a.key = r[0].as<std::string>();
    a.kind = r[1].as<std::string>();
    a.object = r[2].as<std::string>();
    a.device = r[3].as<std::string>();
    // message and action in one column: "message\naction".
    const std::string both = r[4].as<std::string>();
    const size_t nl = both.find('\n');
    a.message = both.substr(0, nl);
    if (nl != std::string::npos) a.action = both.substr(nl + 1);
    a.first_seen_ms = r[5].as<int64_t>();
    a.started_ms = r[6].as<int64_t>();
    a.cleared_ms = r[7].as<int64_t>();
    a.last_sent_ms = r[8].as<int64_t>();
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<notify::AlertRecord>> NotifyStore::ListAlerts() {
  std::vector<notify::AlertRecord> out;
  absl::Status st = store_->RunInTransaction("list alerts", [&](pqxx::transaction_base& tx) {
    out = LoadAlerts(tx);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<notify::Plan> NotifyStore::Evaluate(
    const std::function<notify::Plan(const std::vector<notify::AlertRecord>&,
                                     const std::vector<notify::ChannelWindow>&)>& decide,
    bool* ran) {
  notify::Plan plan;
  absl::Status st = store_->RunInTransaction("evaluate notifications", [&](pqxx::transaction_base&
                                                                               tx) {
    *ran = tx.exec_params1("SELECT pg_try_advisory_xact_lock($1)", kEvaluateLock)[0].as<bool>();
    if (!*ran) return absl::OkStatus();
    std::vector<notify::AlertRecord> alerts = LoadAlerts(tx);
    std::vector<notify::ChannelWindow> windows;
    for (const pqxx::row& r : tx.exec("SELECT name, window_start_ms, window_sent, folded FROM "
                                      "notify_channels ORDER BY name FOR UPDATE")) {
      windows.push_back(notify::ChannelWindow{r[0].as<std::string>(), r[1].as<int64_t>(),
                                              r[2].as<int>(), r[3].as<int>()});
    }
    plan = decide(alerts, windows);
    for (const notify::AlertRecord& a : plan.upsert) {
      tx.exec_params(
          "INSERT INTO notify_alerts (key, kind, object, device, message, first_seen_ms, "
          "started_ms, cleared_ms, last_sent_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
          "ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, object = EXCLUDED.object, "
          "device = EXCLUDED.device, message = EXCLUDED.message, first_seen_ms = "
          "EXCLUDED.first_seen_ms, started_ms = EXCLUDED.started_ms, cleared_ms = "
          "EXCLUDED.cleared_ms, last_sent_ms = EXCLUDED.last_sent_ms",
          a.key, a.kind, a.object, a.device, absl::StrCat(a.message, "\n", a.action),
          a.first_seen_ms, a.started_ms, a.cleared_ms, a.last_sent_ms);
    }
    for (const std::string& k : plan.erase) {
      tx.exec_params("DELETE FROM notify_alerts WHERE key = $1", k);
    }
    for (const notify::ChannelWindow& w : plan.windows) {
      tx.exec_params(
          "UPDATE notify_channels SET window_start_ms = $2, window_sent = $3, folded = $4 "
          "WHERE name = $1",
          w.channel, w.window_start_ms, w.window_sent, w.folded);
    }
    for (const notify::Plan::Out& o : plan.outbox) {
      tx.exec_params(
          "INSERT INTO notify_outbox (channel, event, subject, message_json, created_ms) VALUES "
          "($1, $2, $3, $4, $5)",
          o.channel, o.message.event, o.message.subject, notify::MessageToJson(o.message),
          o.message.at_ms);
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return plan;
}

absl::StatusOr<std::vector<NotifyOutboxRow>> NotifyStore::ClaimOutbox(int64_t now_ms,
                                                                      int64_t claim_ms) {
  std::vector<NotifyOutboxRow> out;
  absl::Status st =
      store_->RunInTransaction("claim notify outbox", [&](pqxx::transaction_base& tx) {
        out.clear();
        for (const pqxx::row& r : tx.exec_params(
                 "UPDATE notify_outbox SET claimed_until_ms = $2 WHERE id IN (SELECT id FROM "
                 "notify_outbox WHERE claimed_until_ms < $1 ORDER BY id FOR UPDATE SKIP LOCKED) "
                 "RETURNING id, channel, event, subject, message_json, attempts",
                 now_ms, now_ms + claim_ms)) {
          out.push_back(NotifyOutboxRow{r[0].as<int64_t>(), r[1].as<std::string>(),
                                        r[2].as<std::string>(), r[3].as<std::string>(),
                                        r[4].as<std::string>(), r[5].as<int>()});
        }
        std::sort(out.begin(), out.end(),
                  [](const NotifyOutboxRow& a, const NotifyOutboxRow& b) { return a.id < b.id; });
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return out;
}

absl::Status NotifyStore::OutboxSent(const NotifyOutboxRow& row, int64_t now_ms) {
  return store_->RunInTransaction("notify message sent", [&](pqxx::transaction_base& tx) {
    tx.exec_params("DELETE FROM notify_outbox WHERE id = $1", row.id);
    tx.exec_params("UPDATE notify_channels SET last_error = '', last_sent_ms = $2 WHERE name = $1",
                   row.channel, now_ms);
    return absl::OkStatus();
  });
}

absl::Status NotifyStore::OutboxFailed(const NotifyOutboxRow& row, const std::string& error) {
  return store_->RunInTransaction("notify message failed", [&](pqxx::transaction_base& tx) {
    tx.exec_params(
        "UPDATE notify_outbox SET attempts = attempts + 1, last_error = $2, claimed_until_ms = 0 "
        "WHERE id = $1",
        row.id, error);
    tx.exec_params("UPDATE notify_channels SET last_error = $2 WHERE name = $1", row.channel,
                   error);
    return absl::OkStatus();
  });
}

absl::Status NotifyStore::ReleaseOutbox(const NotifyOutboxRow& row) {
  return store_->RunInTransaction("release notify message", [&](pqxx::transaction_base& tx) {
    tx.exec_params("UPDATE notify_outbox SET claimed_until_ms = 0 WHERE id = $1", row.id);
    return absl::OkStatus();
  });
}

absl::StatusOr<uint64_t> NotifyStore::CountOpenDamage() {
  uint64_t n = 0;
  absl::Status st = store_->RunInTransaction("count open damage", [&](pqxx::transaction_base& tx) {
    n = static_cast<uint64_t>(
        tx.exec1("SELECT count(*) FROM chunk_damage WHERE repaired_at IS NULL")[0].as<int64_t>());
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return n;
}

absl::StatusOr<std::vector<NotifyDeviceRow>> NotifyStore::Devices() {
  std::vector<NotifyDeviceRow> out;
  absl::Status st =
      store_->RunInTransaction("read notify devices", [&](pqxx::transaction_base& tx) {
        out.clear();
        for (const pqxx::row& r :
             tx.exec("SELECT device, ping_url, files, bytes, changed_ms, last_ping_ms, "
                     "last_ping_error FROM notify_devices ORDER BY device")) {
          out.push_back(NotifyDeviceRow{r[0].as<std::string>(), r[1].as<std::string>(),
                                        r[2].as<int64_t>(), r[3].as<int64_t>(), r[4].as<int64_t>(),
                                        r[5].as<int64_t>(), r[6].as<std::string>()});
        }
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return out;
}

absl::Status NotifyStore::SetPingUrl(const std::string& device, const std::string& url) {
  return store_->RunInTransaction("set device ping URL", [&](pqxx::transaction_base& tx) {
    if (tx.exec_params("SELECT 1 FROM devices WHERE name = $1", device).empty()) {
      return absl::NotFoundError(absl::StrCat(
          "device \"", device, "\" is not enrolled (see `shoebox devices` for the names)"));
    }
    tx.exec_params(
        "INSERT INTO notify_devices (device, ping_url) VALUES ($1, $2) ON CONFLICT (device) DO "
        "UPDATE SET ping_url = EXCLUDED.ping_url, last_ping_error = ''",
        device, url);
    return absl::OkStatus();
  });
}

absl::Status NotifyStore::RecordDeviceCounts(const NotifyDeviceRow& row) {
  return store_->RunInTransaction("record device counts", [&](pqxx::transaction_base& tx) {
    tx.exec_params(
        "INSERT INTO notify_devices (device, files, bytes, changed_ms) SELECT $1, $2, $3, $4 "
        "WHERE EXISTS (SELECT 1 FROM devices WHERE name = $1) ON CONFLICT (device) DO UPDATE "
        "SET files = EXCLUDED.files, bytes = EXCLUDED.bytes, changed_ms = EXCLUDED.changed_ms",
        row.device, row.files, row.bytes, row.changed_ms);
    return absl::OkStatus();
  });
}

absl::Status NotifyStore::RecordPing(const std::string& device, int64_t now_ms,
                                     const std::string& error) {
  return store_->RunInTransaction("record device ping", [&](pqxx::transaction_base& tx) {
    tx.exec_params(
        "UPDATE notify_devices SET last_ping_ms = $2, last_ping_error = $3 WHERE device = $1",
        device, now_ms, error);
    return absl::OkStatus();
  });
}

}  // namespace shoebox::coordinator
