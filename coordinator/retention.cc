#include "coordinator/retention.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/status.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

namespace {

constexpr uint32_t kFileBatch = 200;
constexpr uint32_t kReleaseBatch = 500;
constexpr uint32_t kChunkBatch = 256;

void ToProto(const FolderPolicy& f, shoebox::v1::RetentionPolicy* p) {
  p->set_device(f.device);
  p->set_folder(f.folder);
  p->set_keep_all_days(f.policy.keep_all_days);
  p->set_keep_daily(f.policy.keep_daily);
  p->set_keep_weekly(f.policy.keep_weekly);
  p->set_keep_monthly(f.policy.keep_monthly);
  p->set_keep_yearly(f.policy.keep_yearly);
  p->set_deleted_keep_days(f.policy.deleted_keep_days);
  p->set_pass_through(f.policy.pass_through);
  p->set_is_default(f.is_default);
}

}  // namespace

Retention::Retention(RetentionStore* store, IdentityStore* audit, ChunkStore* chunks,
                     uint32_t grace_s)
    : rstore_(store), audit_(audit), chunks_(chunks), grace_s_(grace_s) {}

Retention::~Retention() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (schedule_.joinable()) schedule_.join();
}

bool Retention::Stopping() {
  std::lock_guard<std::mutex> l(mu_);
  return stop_;
}

absl::StatusOr<shoebox::v1::RetentionPolicies> Retention::Get(
    const shoebox::v1::GetRetentionRequest& req) {
  RETURN_IF_ERROR(ValidateGetRetention(req));  // coordinator/validate.h
  ASSIGN_OR_RETURN(std::vector<FolderPolicy> list,
                   rstore_->ListPolicies(req.device(), req.folder()));
  shoebox::v1::RetentionPolicies out;
  for (const FolderPolicy& f : list) ToProto(f, out.add_policies());
  return out;
}

absl::StatusOr<shoebox::v1::RetentionPolicies> Retention::Set(
    const std::string& admin, const shoebox::v1::SetRetentionRequest& req) {
  RETURN_IF_ERROR(ValidateSetRetention(req));  // coordinator/validate.h
  auto update = [&req](RetentionPolicy* p) { return ApplyRetentionUpdate(req, p); };
  ASSIGN_OR_RETURN(std::vector<FolderPolicy> list,
                   rstore_->UpdatePolicies(req.device(), req.folder(), req.reset(), update));
  shoebox::v1::RetentionPolicies out;
  for (const FolderPolicy& f : list) {
    ToProto(f, out.add_policies());
    AuditEntry e{"admin",        admin,
                 "SetRetention", absl::StrCat(f.device, ":", PrintablePath(f.folder)),
                 true,           DescribeRetentionPolicy(f.policy)};
    absl::Status st = audit_->Audit(e);
    if (!st.ok())
      SPDLOG_ERROR("event=audit_failed action=SetRetention error=\"{}\"",
                   std::string(st.message()));
  }
  return out;
}

absl::StatusOr<shoebox::v1::PruneResponse> Retention::Prune(const std::string& actor,
                                                            const shoebox::v1::PruneRequest& req) {
  std::lock_guard<std::mutex> run(run_mu_);
  const auto start = std::chrono::steady_clock::now();
  const bool dry = req.dry_run();
  shoebox::v1::PruneResponse out;
  out.set_dry_run(dry);
  out.set_grace_seconds(grace_s_);
  std::map<std::string, int64_t> refs;  // dry run: references this prune drops
  auto add_refs = [&refs](const PruneBatch& b) {
    for (const auto& [id, n] : b.unreferenced) refs[id] += n;
  };
  uint64_t newly_unreferenced = 0;

  // 1. Pass-through releases.
  std::vector<int64_t> released;
  for (int64_t after = 0;;) {
    if (Stopping()) return absl::CancelledError("prune: the coordinator is stopping");
    ASSIGN_OR_RETURN(PruneBatch b, rstore_->ReleasePassThrough(after, kReleaseBatch, dry));
    out.set_versions_released(out.versions_released() + b.versions_released);
    newly_unreferenced += b.chunks_now_unreferenced;
    if (dry) {
      add_refs(b);
      released.insert(released.end(), b.released_ids.begin(), b.released_ids.end());
    }
    if (b.next_after == 0) break;
    after = b.next_after;
  }

  auto ms_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t)
        .count();
  };
  const int64_t release_ms = ms_since(start);
  const auto versions_start = std::chrono::steady_clock::now();

  // 2. Policies.
  ASSIGN_OR_RETURN(auto policies, rstore_->AllPolicies());
  // A folder without a policy of its own follows the defaults.
  const RetentionDecider decide = [&policies](int64_t folder_id, const FileFacts& file,
                                              int64_t now_unix_ms) {
    auto it = policies.find(folder_id);
    const RetentionPolicy& p = it == policies.end() ? DefaultRetentionPolicy() : it->second;
    return DecideRetention(p, file, now_unix_ms);
  };
  for (int64_t after = 0;;) {
    if (Stopping()) return absl::CancelledError("prune: the coordinator is stopping");
    ASSIGN_OR_RETURN(PruneBatch b,
                     rstore_->PruneVersions(after, kFileBatch, decide, dry, released));
    out.set_versions_removed(out.versions_removed() + b.versions_removed);
    out.set_version_bytes_removed(out.version_bytes_removed() + b.version_bytes);
    out.set_files_forgotten(out.files_forgotten() + b.files_forgotten);
    out.set_jobs_removed(out.jobs_removed() + b.jobs_removed);
    out.set_versions_in_use(out.versions_in_use() + b.versions_in_use);
    newly_unreferenced += b.chunks_now_unreferenced;
    if (dry) add_refs(b);
    if (b.next_after == 0) break;
    after = b.next_after;
  }

  const int64_t versions_ms = ms_since(versions_start);
  const auto chunks_start = std::chrono::steady_clock::now();

  // 3. Chunks.
  if (dry) {
    ASSIGN_OR_RETURN(ChunkForecast now, rstore_->CollectableNow(grace_s_));
    ASSIGN_OR_RETURN(ChunkForecast later, rstore_->WouldUnreference(refs));
    ASSIGN_OR_RETURN(uint64_t in_grace, rstore_->CountInGrace(grace_s_));
    uint64_t n = now.chunks, bytes = now.bytes, stored = now.stored_bytes;
    if (grace_s_ == 0) {
      n += later.chunks;
      bytes += later.bytes;
      stored += later.stored_bytes;
      later = ChunkForecast{};
    }
    out.set_chunks_removed(n);
    out.set_chunk_bytes_removed(bytes);
    out.set_stored_bytes_removed(stored);
    out.set_chunks_in_grace(in_grace + later.chunks);
  } else {
    RETURN_IF_ERROR(CollectChunks(&out));
    ASSIGN_OR_RETURN(uint64_t in_grace, rstore_->CountInGrace(grace_s_));
    out.set_chunks_in_grace(in_grace);
  }
  const int64_t chunks_ms = ms_since(chunks_start);
  out.set_duration_ms(ms_since(start));
  const std::string summary = absl::StrCat(
      "versions_removed=", out.versions_removed(), " version_bytes=", out.version_bytes_removed(),
      " files_forgotten=", out.files_forgotten(), " versions_released=", out.versions_released(),
      " jobs_removed=", out.jobs_removed(), " versions_in_use=", out.versions_in_use(),
      " chunks_removed=", out.chunks_removed(), " stored_bytes=", out.stored_bytes_removed(),
      " chunks_in_grace=", out.chunks_in_grace(), " chunk_errors=", out.chunk_errors());
  SPDLOG_INFO(
      "event=prune actor=\"{}\" dry_run={} {} newly_unreferenced={} duration_ms={} release_ms={} "
      "versions_ms={} chunks_ms={}",
      actor, dry, summary, newly_unreferenced, out.duration_ms(), release_ms, versions_ms,
      chunks_ms);
  if (!dry) {
    AuditEntry e{actor == "schedule" ? "coordinator" : "admin", actor, "Prune", "", true, summary};
    absl::Status st = audit_->Audit(e);
    if (!st.ok())
      SPDLOG_ERROR("event=audit_failed action=Prune error=\"{}\"", std::string(st.message()));
  }
  return out;
}

absl::Status Retention::CollectChunks(shoebox::v1::PruneResponse* out) {
  auto delete_blobs = [this, out](const std::vector<std::string>& ids) {
    std::vector<std::string> gone;
    for (const std::string& s : ids) {
      ChunkId id;
      if (!DigestFromString(s, &id)) continue;
      absl::Status st = chunks_->Delete(id);
      if (st.ok()) {
        gone.push_back(s);
        continue;
      }
      out->set_chunk_errors(out->chunk_errors() + 1);
      if (out->first_error().empty()) {
        out->set_first_error(absl::StrCat("deleting chunk ", ToHex(s), " from ",
                                          chunks_->Describe(), ": ", st.message()));
      }
      SPDLOG_WARN("event=prune_chunk_delete_failed chunk={} error=\"{}\"", ToHex(s),
                  std::string(st.message()));
    }
    return gone;
  };
  for (std::string after;;) {
    if (Stopping()) return absl::CancelledError("prune: the coordinator is stopping");
    ASSIGN_OR_RETURN(std::vector<std::string> ids,
                     rstore_->MarkCollectable(after, kChunkBatch, grace_s_));
    if (ids.empty()) break;
    ASSIGN_OR_RETURN(std::vector<DeletedChunk> deleted,
                     rstore_->DeleteCollectable(ids, delete_blobs));
    for (const DeletedChunk& d : deleted) {
      out->set_chunks_removed(out->chunks_removed() + 1);
      out->set_chunk_bytes_removed(out->chunk_bytes_removed() + d.size);
      out->set_stored_bytes_removed(out->stored_bytes_removed() + d.stored_size);
    }
    if (ids.size() < kChunkBatch) break;
    after = ids.back();
  }
  return absl::OkStatus();
}

void Retention::StartSchedule(uint32_t interval_s) {
  if (interval_s == 0 || schedule_.joinable()) return;
  schedule_ = std::thread([this, interval_s] { ScheduleLoop(interval_s); });
}

void Retention::ScheduleLoop(uint32_t interval_s) {
  const auto check = std::chrono::seconds(std::min<uint32_t>(interval_s, 60));
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, check, [this] { return stop_; });
      if (stop_) return;
    }
    absl::StatusOr<bool> claimed = rstore_->ClaimScheduledRun("prune", interval_s);
    if (!claimed.ok()) {
      SPDLOG_WARN("event=prune_schedule_failed error=\"{}\"",
                  std::string(claimed.status().message()));
      continue;
    }
    if (!*claimed) continue;
    absl::StatusOr<shoebox::v1::PruneResponse> r = Prune("schedule", shoebox::v1::PruneRequest());
    if (!r.ok()) {
      SPDLOG_WARN(
          "event=prune_failed trigger=schedule error=\"{}\" action=\"retried at the next "
          "interval; run `shoebox prune` to see the error\"",
          std::string(r.status().message()));
    }
  }
}

}  // namespace shoebox::coordinator
