#include "agent/send_stage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/sender.h"
#include "common/bytes.h"
#include "common/retry.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace shoebox::agent {
namespace {

constexpr char kAgentVersion[] = "0.1.0";

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

}  // namespace

SendStage::SendStage(const AgentConfig* cfg, bool once,
                     const std::vector<std::unique_ptr<Folder>>* folders, StateDb* db,
                     CoordinatorClient* client, TokenBucket* bucket, AgentStats* stats,
                     ReadStage* reader, SettleTracker* settle, Housekeeping* house)
    : cfg_(cfg),
      once_(once),
      folders_(folders),
      db_(db),
      client_(client),
      bucket_(bucket),
      stats_(stats),
      reader_(reader),
      settle_(settle),
      house_(house) {}

void SendStage::Stop() {
  absl::MutexLock l(&mu_);
  stopping_ = true;
  cv_.SignalAll();
}

void SendStage::OutboxGrew() {
  absl::MutexLock l(&mu_);
  cv_.SignalAll();
}

void SendStage::SleepInterruptibly(std::chrono::milliseconds d) {
  absl::MutexLock l(&mu_);
  const SteadyTime deadline = SteadyNow() + d;
  while (!stopping_) {
    if (cv_.WaitUntil(&mu_, deadline)) break;  // timed out
  }
}

void SendStage::WaitForWork() {
  absl::MutexLock l(&mu_);
  const SteadyTime deadline = SteadyNow() + std::chrono::milliseconds(once_ ? 100 : 2000);
  while (!stopping_ && db_->outbox_files() == 0) {
    if (cv_.WaitUntil(&mu_, deadline)) break;  // timed out
  }
  if (db_->outbox_files() > 0) {
    // Entries exist but were all backing off: do not spin.
    const SteadyTime pause = SteadyNow() + std::chrono::milliseconds(200);
    while (!stopping_) {
      if (cv_.WaitUntil(&mu_, pause)) break;
    }
  }
}

Folder* SendStage::FolderById(uint32_t id) const {
  for (const auto& f : *folders_) {
    if (f->id == id) return f.get();
  }
  return nullptr;
}

bool SendStage::MaySend() {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return false;
  }
  if (once_) return true;
  return !stats_->paused.load() && !stats_->outside_window.load();
}

absl::Status SendStage::OnHello(const v1::HelloResponse& r) {
  SessionKeys k;
  if (r.chunk_id_key().size() != 32 || r.chunker_key().size() != 32) {
    return absl::FailedPreconditionError(
        "coordinator sent keys of the wrong size in Hello; is it a Shoebox coordinator?");
  }
  std::memcpy(k.chunk_id_key.data(), r.chunk_id_key().data(), 32);
  std::memcpy(k.chunker_key.data(), r.chunker_key().data(), 32);
  if (r.chunk_min_size() != 0) {
    k.params.min_size = r.chunk_min_size();
    k.params.avg_size = r.chunk_avg_size();
    k.params.max_size = r.chunk_max_size();
  }
  RETURN_IF_ERROR(
      Annotate(ValidateChunkerParams(k.params), "chunker parameters from the coordinator"));
  std::shared_ptr<const ChunkHasher> old = reader_->hasher();
  if (old && old->keys() == k) return absl::OkStatus();
  if (old) {
    // Another key: every chunk ID in the index and outbox is meaningless now.
    spdlog::warn(
        "the coordinator's chunk keys differ from the cached ones (another coordinator?); every "
        "file is read again");
    ASSIGN_OR_RETURN(uint64_t n, db_->Reset());
    spdlog::info("forgot {} index entries", n);
    house_->RequestRescan();
  }
  RETURN_IF_ERROR(db_->PutMeta("session_keys", k.Serialize()));
  reader_->SetHasher(std::make_shared<ChunkHasher>(k));
  return absl::OkStatus();
}

void SendStage::RereadDamaged(const v1::HeartbeatResponse& r) {
  const auto now = std::chrono::steady_clock::now();
  for (const v1::FileReport& f : r.reread()) {
    Folder* folder = nullptr;
    for (const auto& fo : *folders_)
      if (fo->cfg.path == f.folder()) folder = fo.get();
    if (folder == nullptr) continue;
    const std::string key = absl::StrCat(folder->id, "/", f.path());
    auto last = reread_at_.find(key);
    if (last != reread_at_.end() && now - last->second < std::chrono::minutes(10)) continue;
    std::string dir, name;
    SplitRelPath(f.path(), &dir, &name);
    auto e = db_->GetIndex(folder->id, dir, name);
    if (!e.ok() || !e->has_value()) continue;
    const IndexEntry& ie = **e;
    // Only the very content the coordinator lost: a file changed since is
    // (or will be) reported with its new content anyway.
    if (ie.state != ReportState::kAcked || ie.stat.size != f.size() ||
        ie.stat.mtime_ns != f.mtime_ns() || DigestToString(ie.sha256) != f.sha256())
      continue;
    auto disk = StatRelative(folder->cfg.path, f.path());
    if (!disk.ok() || !disk->SameContentAs(ie.stat)) continue;
    reread_at_[key] = now;
    spdlog::info(
        "re-reading {}: the coordinator lost a chunk of it and this device still has it unchanged",
        PrintablePath(folder->cfg.path + "/" + f.path()));
    if (absl::Status st = db_->ForgetFile(folder->id, dir, name, 0); !st.ok()) {
      spdlog::warn("cannot forget {} in the agent index: {}", PrintablePath(f.path()),
                   std::string(st.message()));
      continue;
    }
    settle_->Check(folder, f.path());
  }
}

namespace {

// Watched folders this agent cannot read right now. A stat and an access
// check per folder root; the scanner keeps its own view (it suppresses
// deletions while a root is gone), this one is only for the coordinator.
std::vector<std::pair<std::string, std::string>> FolderProblems(
    const std::vector<std::unique_ptr<Folder>>& folders) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : folders) {
    struct stat st;
    if (::stat(f->cfg.path.c_str(), &st) != 0) {
      out.emplace_back(f->cfg.path, absl::StrCat("is missing (", std::strerror(errno), ")"));
    } else if (!S_ISDIR(st.st_mode)) {
      out.emplace_back(f->cfg.path, "is not a directory");
    } else if (::access(f->cfg.path.c_str(), R_OK | X_OK) != 0) {
      out.emplace_back(f->cfg.path, absl::StrCat("cannot be read (", std::strerror(errno), ")"));
    }
  }
  return out;
}

}  // namespace

namespace {
int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
// Errors that say the coordinator was not reached (or did not answer), as
// opposed to an answer refusing something.
bool IsConnectionError(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsCancelled(s) ||
         absl::IsUnknown(s) || absl::IsInternal(s);
}
}  // namespace

void SendStage::NoteFailure(const absl::Status& s, const char* what) {
  stats_->connected = false;
  int64_t zero = 0;
  stats_->offline_since_unix_ms.compare_exchange_strong(zero, WallNowMs());
  stats_->failed_attempts.fetch_add(1);
  stats_->SetError(std::string(s.message()));
  ++failures_;
  if (!logged_offline_) {
    spdlog::warn("{}: {}; changes are kept in the outbox and sent when it is reachable", what,
                 std::string(s.message()));
    logged_offline_ = true;
  } else {
    spdlog::debug("{}: {}", what, std::string(s.message()));
  }
}

void SendStage::NoteSuccess() {
  if (logged_offline_) {
    spdlog::info("connected to coordinator {} (after {} failed attempts)",
                 cfg_->coordinator_address, stats_->failed_attempts.load());
  }
  logged_offline_ = false;
  failures_ = 0;
  last_ok_ = std::chrono::steady_clock::now();
  stats_->connected = true;
  stats_->offline_since_unix_ms = 0;
  stats_->failed_attempts = 0;
}

void SendStage::MaybeRebuildChannels() {
  const auto now = std::chrono::steady_clock::now();
  if (failures_ < kRebuildAfterFailures || now - last_rebuild_ < kRebuildInterval) return;
  last_rebuild_ = now;
  const auto quiet = std::chrono::duration_cast<std::chrono::seconds>(now - last_ok_).count();
  spdlog::warn(
      "coordinator {} not reached in {} attempts ({} s without a successful call; last error: "
      "{}); opening new connections",
      cfg_->coordinator_address, failures_, quiet, stats_->last_error());
  stats_->reconnects.fetch_add(1);
  if (absl::Status st = client_->Reconnect(); !st.ok()) {
    // E.g. the identity files became unreadable: say so, keep trying.
    stats_->SetError(std::string(st.message()));
    spdlog::error("cannot open new connections to the coordinator: {}", std::string(st.message()));
  }
}

absl::Status SendStage::MaybeHeartbeat() {
  auto now = std::chrono::steady_clock::now();
  // Every 30 s, and within 2 s of a change in what is pending or in which
  // folders are unreadable, so that `shoebox status` never shows work the
  // agent has already finished.
  StatusSnapshot snap = house_->Snapshot();
  auto folder_problems = FolderProblems(*folders_);
  const bool changed = snap.files_pending != last_hb_files_ ||
                       snap.bytes_pending != last_hb_bytes_ ||
                       folder_problems != last_hb_folder_problems_;
  if (now - last_heartbeat_ < std::chrono::seconds(30) &&
      !(changed && now - last_heartbeat_ >= std::chrono::seconds(2))) {
    return absl::OkStatus();
  }
  last_heartbeat_ = now;
  last_hb_files_ = snap.files_pending;
  last_hb_bytes_ = snap.bytes_pending;
  last_hb_folder_problems_ = folder_problems;
  v1::HeartbeatRequest hb;
  for (const auto& [path, reason] : folder_problems) {
    v1::FolderProblem* p = hb.add_folder_problems();
    p->set_path(path);
    p->set_reason(reason);
  }
  hb.set_files_pending(snap.files_pending);
  hb.set_bytes_pending(snap.bytes_pending);
  hb.set_upload_rate_bps(snap.upload_rate_bps);
  hb.set_paused(stats_->paused.load());
  auto r = client_->Heartbeat(hb);
  if (!r.ok() && !absl::IsUnimplemented(r.status())) {
    spdlog::debug("heartbeat failed: {}", std::string(r.status().message()));
    if (IsConnectionError(r.status())) return r.status();
  }
  if (r.ok()) NoteSuccess();
  if (r.ok() && r->reread_size() > 0) RereadDamaged(*r);
  if (r.ok() && r->restores_size() > 0) return RunRestores(*r);
  return absl::OkStatus();
}

absl::Status SendStage::RunRestores(const v1::HeartbeatResponse& r) {
  if (!restores_) {
    restores_ = std::make_unique<RestoreRunner>(db_, client_, folders_,
                                                std::chrono::seconds(cfg_->rpc_timeout_seconds));
  }
  for (const v1::RestoreOrder& o : r.restores()) {
    absl::Status s = restores_->Run(o);
    if (!s.ok()) {
      spdlog::warn("{}; the request comes again with the next heartbeat", std::string(s.message()));
      if (IsConnectionError(s)) return s;
    }
  }
  return absl::OkStatus();
}

void SendStage::Loop() {
  BackoffPolicy policy;
  policy.initial_delay = absl::Milliseconds(250);
  // At most 30 s between attempts: after a coordinator restart the agent is
  // back within that.
  policy.max_delay = absl::Seconds(once_ ? 5 : 30);
  Backoff backoff(policy);
  std::unique_ptr<Sender> sender;
  last_heartbeat_ = std::chrono::steady_clock::now() - std::chrono::hours(1);
  last_ok_ = std::chrono::steady_clock::now();
  last_rebuild_ = last_ok_ - std::chrono::hours(1);
  stats_->offline_since_unix_ms = WallNowMs();  // until the first Hello
  while (true) {
    {
      absl::MutexLock l(&mu_);
      if (stopping_) break;
    }
    if (!sender) {
      // Nothing (no sender, stream or call) uses the client's channels now.
      MaybeRebuildChannels();
      v1::HelloRequest req;
      req.set_hostname(HostName());
      req.set_agent_version(kAgentVersion);
      for (const auto& f : *folders_) req.add_folders(f->cfg.path);
      auto r = client_->Hello(req);
      absl::Status s = r.ok() ? OnHello(*r) : r.status();
      if (!s.ok()) {
        NoteFailure(s, "cannot reach the coordinator");
        SleepInterruptibly(std::chrono::milliseconds(absl::ToInt64Milliseconds(backoff.Next())));
        continue;
      }
      NoteSuccess();
      std::map<uint32_t, std::string> roots;
      for (const auto& f : *folders_) roots[f->id] = f->cfg.path;
      Sender::Options so;
      so.report_batch = static_cast<size_t>(cfg_->report_batch);
      if (r->max_report_batch() > 0)
        so.report_batch = std::min<size_t>(so.report_batch, r->max_report_batch());
      so.rpc_timeout = std::chrono::seconds(cfg_->rpc_timeout_seconds);
      so.upload_streams = static_cast<size_t>(cfg_->upload_streams);
      so.verify_upload_ids = cfg_->verify_uploads;
      sender_hasher_ = reader_->hasher();  // keeps the hasher the sender points to alive
      sender = std::make_unique<Sender>(
          db_, client_, sender_hasher_.get(), roots, stats_, bucket_, so,
          [this] { return MaySend(); },
          [this](uint32_t folder_id, const std::string& rel) {
            Folder* f = FolderById(folder_id);
            if (f) settle_->Check(f, rel);
          });
    }
    if (absl::Status hb = MaybeHeartbeat(); !hb.ok()) {
      NoteFailure(hb, "heartbeat to the coordinator failed");
      sender.reset();  // say Hello again (on new connections if this goes on)
      SleepInterruptibly(std::chrono::milliseconds(absl::ToInt64Milliseconds(backoff.Next())));
      continue;
    }
    // After the first heartbeat: its restore requests are done (and their
    // files in the outbox) before `run --once` may finish.
    hello_done_ = true;
    if (!MaySend()) {
      SleepInterruptibly(std::chrono::milliseconds(1000));
      continue;
    }
    if (reader_->hasher() != sender_hasher_) {  // keys changed: new session
      sender.reset();
      continue;
    }
    auto n = sender->RunRound();
    if (!n.ok()) {
      spdlog::warn("{}; retrying", std::string(n.status().message()));
      NoteFailure(n.status(), "sending to the coordinator failed");
      sender.reset();
      SleepInterruptibly(std::chrono::milliseconds(absl::ToInt64Milliseconds(backoff.Next())));
      continue;
    }
    backoff.Reset();
    if (*n > 0) NoteSuccess();
    if (*n == 0) WaitForWork();
  }
  // `run --once` ends as soon as its work is sent, usually within the 2 s a
  // heartbeat waits after a change: one last heartbeat, so `shoebox status`
  // does not show the files it sent as still to upload.
  if (once_ && sender != nullptr) {
    last_heartbeat_ = std::chrono::steady_clock::now() - std::chrono::hours(1);
    (void)MaybeHeartbeat();
  }
}

}  // namespace shoebox::agent
