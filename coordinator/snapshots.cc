#include "coordinator/snapshots.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status.h"

namespace shoebox::coordinator {

CatalogSnapshots::CatalogSnapshots(DatabaseDumper dump, ChunkStore* store, SnapshotStore* copies,
                                   const Key256& catalog_key, uint32_t interval_s, uint32_t keep)
    : dump_(std::move(dump)),
      store_(store),
      copies_(copies),
      catalog_key_(catalog_key),
      interval_s_(interval_s),
      keep_(std::max<uint32_t>(keep, 1)) {}

CatalogSnapshots::~CatalogSnapshots() {
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CatalogSnapshots::StartSchedule() {
  if (interval_s_ == 0 || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

absl::StatusOr<std::vector<snapshot::Info>> CatalogSnapshots::List() {
  return snapshot::List(store_);
}

absl::StatusOr<snapshot::Info> CatalogSnapshots::TakeNow() {
  absl::MutexLock l(&take_mu_);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> dump = dump_();
  if (!dump.ok()) {
    return Annotate(dump.status(), "catalog snapshot: dump the database");
  }
  // Names have millisecond resolution: never reuse the newest one's.
  int64_t created = absl::ToUnixMillis(start);
  if (absl::StatusOr<std::vector<snapshot::Info>> have = List(); have.ok() && !have->empty()) {
    created = std::max(created, (*have)[0].created_unix_ms + 1);
  }
  const std::string sealed = snapshot::Seal(catalog_key_, created, AsBytes(*dump));
  absl::StatusOr<snapshot::Info> info = snapshot::Put(store_, sealed, created);
  if (!info.ok()) {
    return Annotate(info.status(),
                    absl::StrCat("catalog snapshot: store it in ", store_->Describe()));
  }
  absl::StatusOr<int> pruned = snapshot::Prune(store_, keep_);
  if (!pruned.ok()) {
    SPDLOG_WARN(
        "event=snapshot_prune_failed error=\"{}\" action=\"older snapshots stay until the next "
        "one\"",
        std::string(pruned.status().message()));
  }
  uint64_t copies = 0;
  if (copies_ != nullptr) {
    absl::StatusOr<uint64_t> q = copies_->QueueSnapshotCopies(info->name, keep_);
    if (q.ok()) {
      copies = *q;
    } else {
      SPDLOG_WARN(
          "event=snapshot_copies_not_queued name={} error=\"{}\" action=\"the next snapshot queues "
          "them\"",
          info->name, std::string(q.status().message()));
    }
  }
  SPDLOG_INFO(
      "event=catalog_snapshot name={} dump_bytes={} stored_bytes={} pruned={} "
      "destination_copies={} ms={}",
      info->name, dump->size(), info->size, pruned.ok() ? *pruned : 0, copies,
      absl::ToInt64Milliseconds(absl::Now() - start));
  return info;
}

void CatalogSnapshots::Loop() {
  const int64_t interval_ms = int64_t{interval_s_} * 1000;
  // Retry a failed snapshot after this long.
  const int64_t retry_ms = std::min<int64_t>(interval_ms, 15 * 60 * 1000);
  int64_t due = 0;  // 0: look at the chunk store first
  for (;;) {
    const int64_t now = absl::ToUnixMillis(absl::Now());
    if (due == 0 || now >= due) {
      absl::StatusOr<std::vector<snapshot::Info>> have = List();
      if (!have.ok()) {
        SPDLOG_WARN("event=snapshot_list_failed error=\"{}\"",
                    std::string(have.status().message()));
        due = now + retry_ms;
      } else if (!have->empty() && (*have)[0].created_unix_ms + interval_ms > now) {
        due = (*have)[0].created_unix_ms +
              interval_ms;  // another coordinator took one, or not yet due
      } else if (have->empty() && due == 0) {
        due = now + std::min<int64_t>(interval_ms, 60 * 1000);  // first one soon after start
      } else {
        absl::StatusOr<snapshot::Info> s = TakeNow();
        if (s.ok()) {
          due = absl::ToUnixMillis(absl::Now()) + interval_ms;
        } else {
          SPDLOG_ERROR("event=catalog_snapshot_failed error=\"{}\" action=\"retrying in {} s\"",
                       std::string(s.status().message()), retry_ms / 1000);
          due = absl::ToUnixMillis(absl::Now()) + retry_ms;
        }
      }
    }
    std::unique_lock<std::mutex> l(stop_mu_);
    const int64_t wait_ms = std::max<int64_t>(due - absl::ToUnixMillis(absl::Now()), 10);
    if (stop_cv_.wait_for(l, std::chrono::milliseconds(wait_ms), [this] { return stop_; })) return;
  }
}

std::string RedactLocation(const std::string& location) {
  const size_t scheme = location.find("://");
  if (scheme == std::string::npos) return location;
  const size_t host = scheme + 3;
  const size_t slash = location.find('/', host);
  const size_t at = location.rfind('@', slash == std::string::npos ? std::string::npos : slash);
  if (at == std::string::npos || at < host) return location;
  return location.substr(0, host) + location.substr(at + 1);
}

}  // namespace shoebox::coordinator
