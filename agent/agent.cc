#include "agent/agent.h"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/sender.h"
#include "agent/settle.h"
#include "common/bytes.h"
#include "common/retry.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace shoebox::agent {
namespace {

constexpr size_t kQueueCapacity = 256;
constexpr char kAgentVersion[] = "0.1.0";

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t WallMs() { return WallNs() / 1000000; }
double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(AgentConfig cfg, Options opts) {
  std::unique_ptr<Agent> a(new Agent(std::move(cfg), opts));
  RETURN_IF_ERROR(a->Init());
  return a;
}

Agent::~Agent() {
  Stop();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

absl::Status Agent::Init() {
  // The state directory holds the chunk-ID key: private to the user.
  std::string parent = cfg_.state_dir.substr(0, cfg_.state_dir.rfind('/'));
  if (!parent.empty()) {
    for (size_t i = 1; i <= parent.size(); ++i) {
      if (i == parent.size() || parent[i] == '/') ::mkdir(parent.substr(0, i).c_str(), 0700);
    }
  }
  if (::mkdir(cfg_.state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Annotate(ErrnoToStatus(errno, "create agent state directory " + cfg_.state_dir),
                    "set agent.state_dir to a writable directory");
  }
  ::chmod(cfg_.state_dir.c_str(), 0700);
  ASSIGN_OR_RETURN(db_, StateDb::Open(cfg_.state_dir));
  for (const FolderConfig& fc : cfg_.folders) {
    ASSIGN_OR_RETURN(uint32_t id, db_->FolderId(fc.path));
    folders_.push_back(std::make_unique<Folder>(fc, id));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> cached, db_->GetMeta("session_keys"));
  if (cached.has_value()) {
    auto keys = SessionKeys::Parse(*cached);
    if (keys.ok() && ValidateChunkerParams(keys->params).ok()) {
      hasher_ = std::make_shared<ChunkHasher>(*keys);
    }
  }
  if (!opts_.once) {
    auto w = Watcher::Create();
    if (w.ok()) {
      watcher_ = std::move(*w);
    } else {
      spdlog::warn("inotify unavailable ({}); relying on periodic rescans", std::string(w.status().message()));
    }
  }
  scanner_ = std::make_unique<Scanner>(db_.get(), this, opts_.accept_folder_changes);
  ASSIGN_OR_RETURN(client_, CoordinatorClient::Connect(cfg_.coordinator_address, cfg_.device_name,
                                                       std::chrono::seconds(cfg_.rpc_timeout_seconds),
                                                       cfg_.insecure_dev, cfg_.tls_dir));
  bucket_ = std::make_unique<TokenBucket>(cfg_.bandwidth_limit);
  return absl::OkStatus();
}

void Agent::Stop() {
  stop_ = true;
  { std::lock_guard<std::mutex> l(mu_); }  // no waiter misses the wake-up
  cv_.notify_all();
  sender_cv_.notify_all();
}

std::shared_ptr<const ChunkHasher> Agent::hasher() {
  std::lock_guard<std::mutex> l(mu_);
  return hasher_;
}

Folder* Agent::FolderById(uint32_t id) {
  for (auto& f : folders_) {
    if (f->id == id) return f.get();
  }
  return nullptr;
}

void Agent::SleepInterruptibly(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, d, [&] { return stop_.load(); });
}

absl::Status Agent::Run() {
  int threads = cfg_.hash_threads > 0 ? cfg_.hash_threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { HashLoop(); });
  threads_.emplace_back([this] { SendLoop(); });
  threads_.emplace_back([this] { HouseLoop(); });

  absl::Status result = absl::OkStatus();
  stats_.scanning = true;
  absl::Status s = FullScan();
  if (!s.ok()) spdlog::error("scan failed: {}", std::string(s.message()));
  first_scan_done_ = true;
  auto last_root_check = std::chrono::steady_clock::now();
  while (!stop_) {
    if (opts_.once && OnceDone()) break;
    if (watcher_) {
      struct pollfd p = {watcher_->fd(), POLLIN, 0};
      ::poll(&p, 1, 500);
    } else {
      SleepInterruptibly(std::chrono::milliseconds(opts_.once ? 100 : 500));
    }
    HandleEvents();
    ProcessUnsettled(false);
    auto now = std::chrono::steady_clock::now();
    bool full = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      full = full_rescan_requested_;
      full_rescan_requested_ = false;
    }
    if (now - last_full_scan_ >= std::chrono::seconds(cfg_.rescan_interval_seconds)) full = true;
    if (now - last_root_check >= std::chrono::seconds(10)) {
      last_root_check = now;
      for (auto& f : folders_) {
        bool was_available = f->root_available && !f->deletions_suppressed;
        (void)scanner_->CheckRoot(f.get());
        if (!was_available && f->root_available && !f->deletions_suppressed) full = true;
      }
    }
    if (full) {
      s = FullScan();
      if (!s.ok()) spdlog::error("rescan failed: {}", std::string(s.message()));
    }
  }
  Stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  // Final status for `shoebox-agent status`.
  StatusSnapshot last = Snapshot();
  last.state = "stopped";
  last.connected = false;
  (void)WriteStatusFile(cfg_.state_dir, last);
  if (opts_.progress_line) std::fputs("\n", stderr);
  return result;
}

absl::Status Agent::FullScan() {
  stats_.scanning = true;
  last_full_scan_ = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> l(mu_);
    denied_logged_.clear();  // unreadable files are retried and logged again
  }
  absl::Status first;
  for (auto& f : folders_) {
    RETURN_IF_ERROR(scanner_->CheckRoot(f.get()));
    if (!f->root_available) continue;
    ScanStats st;
    auto t0 = std::chrono::steady_clock::now();
    absl::Status s = scanner_->ScanDir(f.get(), "", /*recursive=*/true, &st);
    if (!s.ok() && first.ok()) first = s;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info(
        "scanned {}: {} files in {} directories, {} new or changed, {} deleted, {} skipped, {} errors ({:.2f} s)",
        PrintablePath(f->cfg.path), st.files, st.dirs, st.candidates, st.deleted, st.skipped, st.errors, secs);
    stats_.files_scanned.fetch_add(st.files);
  }
  stats_.scanning = false;
  sender_cv_.notify_all();
  return first;
}

void Agent::OnDirectory(Folder* f, const std::string& rel, int dir_fd) {
  if (!watcher_) return;
  for (size_t i = 0; i < folders_.size(); ++i) {
    if (folders_[i].get() == f) {
      watcher_->Watch(i, rel, dir_fd);
      return;
    }
  }
}

int64_t Agent::DueNs(const FileStat& st, int64_t seen_ns) const {
  return SettleDueNs(st, seen_ns, cfg_.settle_seconds * 1000000000LL);
}

void Agent::OnCandidate(Folder* f, const std::string& dir, const std::string& name, const FileStat& st) {
  std::string key = MakeKey(f->id, dir, name);
  int64_t now = WallNs();
  bool busy;
  {
    std::lock_guard<std::mutex> l(mu_);
    busy = in_flight_.count(key) > 0;
  }
  auto it = unsettled_.find(key);
  if (it != unsettled_.end() && it->second.stat.SameContentAs(st)) return;  // already waiting
  int64_t due = DueNs(st, now);
  if (!busy && due <= now) {
    if (it != unsettled_.end()) {
      stats_.files_waiting.fetch_sub(1);
      stats_.bytes_waiting.fetch_sub(it->second.stat.size);
      unsettled_.erase(it);
    }
    Enqueue(HashTask{f, dir, name, st});
    return;
  }
  if (it == unsettled_.end()) {
    stats_.files_waiting.fetch_add(1);
    stats_.bytes_waiting.fetch_add(st.size);
    unsettled_[key] = Unsettled{f, dir, name, st, now, busy ? now + 1000000000LL : due};
  } else {
    stats_.bytes_waiting.fetch_add(st.size);
    stats_.bytes_waiting.fetch_sub(it->second.stat.size);
    it->second.stat = st;
    it->second.seen_ns = now;
    it->second.due_ns = busy ? now + 1000000000LL : due;
  }
}

void Agent::Enqueue(HashTask t) {
  std::string key = MakeKey(t.folder->id, t.dir, t.name);
  stats_.files_waiting.fetch_add(1);
  stats_.bytes_waiting.fetch_add(t.stat.size);
  std::unique_lock<std::mutex> l(mu_);
  in_flight_.insert(key);
  // Blocks while the readers are behind (bounded queue).
  cv_.wait(l, [&] { return queue_.size() < kQueueCapacity || stop_.load(); });
  queue_.push_back(std::move(t));
  cv_.notify_all();
}

void Agent::RereadDamaged(const v1::HeartbeatResponse& r) {
  const auto now = std::chrono::steady_clock::now();
  for (const v1::FileReport& f : r.reread()) {
    Folder* folder = nullptr;
    for (auto& fo : folders_)
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
    if (ie.state != ReportState::kAcked || ie.stat.size != f.size() || ie.stat.mtime_ns != f.mtime_ns() ||
        DigestToString(ie.sha256) != f.sha256())
      continue;
    auto disk = StatRelative(folder->cfg.path, f.path());
    if (!disk.ok() || !disk->SameContentAs(ie.stat)) continue;
    reread_at_[key] = now;
    spdlog::info("re-reading {}: the coordinator lost a chunk of it and this device still has it unchanged",
                 PrintablePath(folder->cfg.path + "/" + f.path()));
    if (absl::Status st = db_->ForgetFile(folder->id, dir, name, 0); !st.ok()) {
      spdlog::warn("cannot forget {} in the agent index: {}", PrintablePath(f.path()), std::string(st.message()));
      continue;
    }
    std::lock_guard<std::mutex> l(mu_);
    checks_.emplace_back(folder, f.path());
  }
}

void Agent::ProcessUnsettled(bool force_all) {
  // Work handed back by the readers and event checks.
  std::vector<HashTask> retry;
  std::vector<std::pair<Folder*, std::string>> checks;
  {
    std::lock_guard<std::mutex> l(mu_);
    retry.swap(retry_);
    checks.swap(checks_);
  }
  ScanStats ss;
  for (auto& [f, rel] : checks) {
    std::string dir, name;
    SplitRelPath(rel, &dir, &name);
    (void)scanner_->CheckPath(f, dir, name, &ss);
  }
  for (HashTask& t : retry) {
    auto st = StatRelative(t.folder->cfg.path, JoinRel(t.dir, t.name));
    if (st.ok() && S_ISREG(st->mode)) OnCandidate(t.folder, t.dir, t.name, *st);
  }
  int64_t now = WallNs();
  for (auto it = unsettled_.begin(); it != unsettled_.end();) {
    Unsettled& u = it->second;
    if (!force_all && u.due_ns > now) {
      ++it;
      continue;
    }
    bool busy;
    {
      std::lock_guard<std::mutex> l(mu_);
      busy = in_flight_.count(it->first) > 0;
    }
    if (busy) {
      u.due_ns = now + 500000000LL;
      ++it;
      continue;
    }
    auto st = StatRelative(u.folder->cfg.path, JoinRel(u.dir, u.name));
    auto drop = [&] {
      stats_.files_waiting.fetch_sub(1);
      stats_.bytes_waiting.fetch_sub(u.stat.size);
      it = unsettled_.erase(it);
    };
    if (!st.ok() || !S_ISREG(st->mode)) {
      Folder* f = u.folder;
      std::string dir = u.dir, name = u.name;
      drop();
      (void)scanner_->CheckPath(f, dir, name, &ss);
      continue;
    }
    if (!st->SameContentAs(u.stat)) {
      stats_.bytes_waiting.fetch_add(st->size);
      stats_.bytes_waiting.fetch_sub(u.stat.size);
      u.stat = *st;
      u.seen_ns = now;
      u.due_ns = DueNs(*st, now);
      ++it;
      continue;
    }
    auto known = db_->GetIndex(u.folder->id, u.dir, u.name);
    if (known.ok() && known->has_value() && (*known)->kind == EntryKind::kFile && (*known)->stat.SameContentAs(*st)) {
      drop();
      continue;
    }
    if (DueNs(*st, u.seen_ns) > now && !force_all) {
      u.due_ns = DueNs(*st, u.seen_ns);
      ++it;
      continue;
    }
    HashTask t{u.folder, u.dir, u.name, *st};
    drop();
    Enqueue(std::move(t));
  }
}

void Agent::HandleEvents() {
  if (!watcher_) return;
  std::vector<Watcher::Event> events;
  bool overflow = false;
  absl::Status s = watcher_->Drain(&events, &overflow);
  if (!s.ok()) spdlog::warn("{}", std::string(s.message()));
  if (overflow) {
    spdlog::info("inotify queue overflowed; rescanning everything");
    std::lock_guard<std::mutex> l(mu_);
    full_rescan_requested_ = true;
  }
  ScanStats ss;
  std::set<std::pair<size_t, std::string>> seen;
  for (const Watcher::Event& e : events) {
    if (e.folder >= folders_.size()) continue;
    Folder* f = folders_[e.folder].get();
    if (e.name.empty()) {
      if (e.dir.empty() && (e.mask & (IN_DELETE_SELF | IN_MOVE_SELF))) (void)scanner_->CheckRoot(f);
      continue;
    }
    std::string rel = JoinRel(e.dir, e.name);
    if (!seen.insert({e.folder, rel}).second) continue;
    absl::Status c = scanner_->CheckPath(f, e.dir, e.name, &ss);
    if (!c.ok()) spdlog::debug("check of {} failed: {}", PrintablePath(rel), std::string(c.message()));
  }
  if (ss.deleted > 0) sender_cv_.notify_all();
}

bool Agent::OnceDone() {
  if (!hello_done_.load()) return false;
  if (!unsettled_.empty()) return false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!queue_.empty() || !in_flight_.empty() || !retry_.empty() || !checks_.empty()) return false;
  }
  return db_->outbox_files() == 0;
}

void Agent::HashLoop() {
  while (true) {
    HashTask t;
    std::shared_ptr<const ChunkHasher> h;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] {
        return stop_.load() || (!queue_.empty() && hasher_ != nullptr && (opts_.once || !stats_.paused.load()));
      });
      if (stop_) return;
      t = std::move(queue_.front());
      queue_.pop_front();
      h = hasher_;
      cv_.notify_all();
    }
    std::string key = MakeKey(t.folder->id, t.dir, t.name);
    std::string rel = JoinRel(t.dir, t.name);
    std::string printable = PrintablePath(t.folder->cfg.path + "/" + rel);
    auto r = HashFile(t.folder->cfg.path, rel, *h, &stats_.bytes_read);
    stats_.files_waiting.fetch_sub(1);
    stats_.bytes_waiting.fetch_sub(t.stat.size);
    bool retry = false, check = false;
    if (r.ok()) {
      auto gen = db_->RecordUpsert(t.folder->id, t.dir, t.name, r->stat, r->sha256, r->chunks);
      if (!gen.ok()) {
        spdlog::error("cannot record {} in the agent index: {}", printable, std::string(gen.status().message()));
        stats_.SetError(std::string(gen.status().message()));
        retry = true;
      } else {
        stats_.files_read.fetch_add(1);
        spdlog::debug("read {} ({} bytes, {} chunks)", printable, r->stat.size, r->chunks.size());
      }
    } else if (absl::IsAborted(r.status())) {
      spdlog::info("{}", std::string(r.status().message()));
      retry = true;
    } else if (absl::IsNotFound(r.status())) {
      spdlog::info("{} vanished before it could be read", printable);
      check = true;
    } else if (absl::IsPermissionDenied(r.status())) {
      unreadable_.fetch_add(1);
      std::lock_guard<std::mutex> l(mu_);
      if (denied_logged_.insert(key).second) {
        spdlog::warn("cannot read {}: permission denied; skipped, retried at the next rescan", printable);
        stats_.SetError(absl::StrCat("cannot read ", printable, ": permission denied"));
      }
    } else {
      unreadable_.fetch_add(1);
      spdlog::error("cannot read {}: {}; retried at the next rescan", printable, std::string(r.status().message()));
      stats_.SetError(absl::StrCat("cannot read ", printable, ": ", std::string(r.status().message())));
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      in_flight_.erase(key);
      if (retry) retry_.push_back(t);
      if (check) checks_.emplace_back(t.folder, rel);
    }
    sender_cv_.notify_all();
  }
}

bool Agent::MaySend() {
  if (stop_) return false;
  if (opts_.once) return true;
  return !stats_.paused.load() && !stats_.outside_window.load();
}

absl::Status Agent::OnHello(const v1::HelloResponse& r) {
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
  RETURN_IF_ERROR(Annotate(ValidateChunkerParams(k.params), "chunker parameters from the coordinator"));
  hello_done_ = true;
  std::shared_ptr<const ChunkHasher> old = hasher();
  if (old && old->keys() == k) return absl::OkStatus();
  if (old) {
    // Another key: every chunk ID in the index and outbox is meaningless now.
    spdlog::warn(
        "the coordinator's chunk keys differ from the cached ones (another coordinator?); every file is read again");
    ASSIGN_OR_RETURN(uint64_t n, db_->Reset());
    spdlog::info("forgot {} index entries", n);
    std::lock_guard<std::mutex> l(mu_);
    full_rescan_requested_ = true;
  }
  RETURN_IF_ERROR(db_->PutMeta("session_keys", k.Serialize()));
  {
    std::lock_guard<std::mutex> l(mu_);
    hasher_ = std::make_shared<ChunkHasher>(k);
  }
  cv_.notify_all();
  return absl::OkStatus();
}

void Agent::SendLoop() {
  BackoffPolicy policy;
  policy.initial_delay = absl::Milliseconds(250);
  policy.max_delay = absl::Seconds(opts_.once ? 5 : 60);
  Backoff backoff(policy);
  std::unique_ptr<Sender> sender;
  auto last_heartbeat = std::chrono::steady_clock::now() - std::chrono::hours(1);
  uint64_t last_hb_files = ~0ull, last_hb_bytes = ~0ull;
  bool logged_offline = false;
  while (!stop_) {
    if (!sender) {
      v1::HelloRequest req;
      req.set_hostname(HostName());
      req.set_agent_version(kAgentVersion);
      for (const auto& f : folders_) req.add_folders(f->cfg.path);
      auto r = client_->Hello(req);
      absl::Status s = r.ok() ? OnHello(*r) : r.status();
      if (!s.ok()) {
        stats_.connected = false;
        stats_.SetError(std::string(s.message()));
        if (!logged_offline) {
          spdlog::warn("{}; changes are kept in the outbox and sent when it is reachable", std::string(s.message()));
          logged_offline = true;
        } else {
          spdlog::debug("{}", std::string(s.message()));
        }
        SleepInterruptibly(std::chrono::milliseconds(absl::ToInt64Milliseconds(backoff.Next())));
        continue;
      }
      if (logged_offline) spdlog::info("connected to coordinator {}", cfg_.coordinator_address);
      logged_offline = false;
      stats_.connected = true;
      std::map<uint32_t, std::string> roots;
      for (const auto& f : folders_) roots[f->id] = f->cfg.path;
      Sender::Options so;
      so.report_batch = static_cast<size_t>(cfg_.report_batch);
      if (r->max_report_batch() > 0) so.report_batch = std::min<size_t>(so.report_batch, r->max_report_batch());
      so.rpc_timeout = std::chrono::seconds(cfg_.rpc_timeout_seconds);
      so.upload_streams = static_cast<size_t>(cfg_.upload_streams);
      so.verify_upload_ids = cfg_.verify_uploads;
      sender = std::make_unique<Sender>(
          db_.get(), client_.get(), hasher().get(), roots, &stats_, bucket_.get(), so, [this] { return MaySend(); },
          [this](uint32_t folder_id, const std::string& rel) {
            Folder* f = FolderById(folder_id);
            if (!f) return;
            std::lock_guard<std::mutex> l(mu_);
            checks_.emplace_back(f, rel);
          });
      sender_hasher_ = hasher();  // keeps the hasher the sender points to alive
    }
    auto now = std::chrono::steady_clock::now();
    // Every 30 s, and within 2 s of a change in what is pending, so that
    // `shoebox status` never shows work the agent has already finished.
    StatusSnapshot snap = Snapshot();
    const bool changed = snap.files_pending != last_hb_files || snap.bytes_pending != last_hb_bytes;
    if (now - last_heartbeat >= std::chrono::seconds(30) ||
        (changed && now - last_heartbeat >= std::chrono::seconds(2))) {
      last_heartbeat = now;
      last_hb_files = snap.files_pending;
      last_hb_bytes = snap.bytes_pending;
      v1::HeartbeatRequest hb;
      hb.set_files_pending(snap.files_pending);
      hb.set_bytes_pending(snap.bytes_pending);
      hb.set_upload_rate_bps(snap.upload_rate_bps);
      hb.set_paused(stats_.paused.load());
      auto r = client_->Heartbeat(hb);
      if (!r.ok() && !absl::IsUnimplemented(r.status())) {
        spdlog::debug("heartbeat failed: {}", std::string(r.status().message()));
      }
      if (r.ok() && r->reread_size() > 0) RereadDamaged(*r);
    }
    if (!MaySend()) {
      SleepInterruptibly(std::chrono::milliseconds(1000));
      continue;
    }
    if (hasher() != sender_hasher_) {  // keys changed: new session
      sender.reset();
      continue;
    }
    auto n = sender->RunRound();
    if (!n.ok()) {
      stats_.connected = false;
      stats_.SetError(std::string(n.status().message()));
      spdlog::warn("{}; retrying", std::string(n.status().message()));
      sender.reset();
      SleepInterruptibly(std::chrono::milliseconds(absl::ToInt64Milliseconds(backoff.Next())));
      continue;
    }
    backoff.Reset();
    if (*n == 0) {
      std::unique_lock<std::mutex> l(mu_);
      sender_cv_.wait_for(l, std::chrono::milliseconds(opts_.once ? 100 : 2000),
                          [&] { return stop_.load() || db_->outbox_files() > 0; });
      if (db_->outbox_files() > 0) {
        // Entries exist but were all backing off: do not spin.
        sender_cv_.wait_for(l, std::chrono::milliseconds(200), [&] { return stop_.load(); });
      }
    }
  }
}

StatusSnapshot Agent::Snapshot() {
  StatusSnapshot s;
  s.pid = ::getpid();
  s.updated_unix_ms = WallMs();
  s.device = cfg_.device_name;
  s.coordinator = cfg_.coordinator_address;
  s.connected = stats_.connected.load();
  s.files_pending = db_->outbox_files() + stats_.files_waiting.load();
  s.bytes_pending = db_->outbox_bytes() + stats_.bytes_waiting.load();
  s.files_done = stats_.files_acked.load();
  s.bytes_done = stats_.bytes_acked.load();
  {
    std::lock_guard<std::mutex> l(rate_mu_);
    s.upload_rate_bps = static_cast<uint64_t>(upload_rate_.rate());
    s.progress_rate_bps = static_cast<uint64_t>(progress_rate_.rate());
  }
  s.eta_seconds = s.progress_rate_bps > 0 ? static_cast<int64_t>(s.bytes_pending / s.progress_rate_bps) : -1;
  if (s.bytes_pending == 0 && s.files_pending == 0) s.eta_seconds = 0;
  if (stats_.paused.load() && !opts_.once) {
    s.state = "paused";
  } else if (stats_.outside_window.load() && !opts_.once) {
    s.state = "outside backup window";
  } else if (!s.connected) {
    s.state = "offline";
  } else if (stats_.scanning.load()) {
    s.state = "scanning";
  } else if (s.files_pending > 0) {
    s.state = "uploading";
  } else {
    s.state = "idle";
  }
  s.last_error = stats_.last_error();
  s.last_error_unix_ms = stats_.last_error_unix_ms();
  s.chunks_uploaded = stats_.chunks_uploaded.load();
  s.chunk_bytes_uploaded = stats_.chunk_bytes_uploaded.load();
  s.bytes_read = stats_.bytes_read.load();
  return s;
}

void Agent::HouseLoop() {
  bool was_paused = false;
  int tick = 0;
  while (!stop_) {
    auto ctl = ReadControl(cfg_.state_dir);
    bool paused = cfg_.paused;
    if (ctl.ok() && ctl->has_value()) paused = **ctl;
    if (!ctl.ok() && tick % 60 == 0) spdlog::warn("{}", std::string(ctl.status().message()));
    if (paused != was_paused && !opts_.once) spdlog::info(paused ? "paused" : "resumed");
    was_paused = paused;
    stats_.paused = paused;
    int64_t now_s = WallMs() / 1000;
    stats_.outside_window = !cfg_.backup_window.Contains(now_s);
    cv_.notify_all();
    {
      std::lock_guard<std::mutex> l(rate_mu_);
      double t = SteadySeconds();
      upload_rate_.Update(stats_.chunk_bytes_uploaded.load(), t);
      progress_rate_.Update(stats_.bytes_acked.load(), t);
    }
    StatusSnapshot snap = Snapshot();
    (void)WriteStatusFile(cfg_.state_dir, snap);
    if (opts_.progress_line) {
      std::string line =
          absl::StrCat("\r\033[K", snap.state, ": ", snap.files_done, " files, ", HumanBytes(snap.bytes_done),
                       " done; ", snap.files_pending, " files, ", HumanBytes(snap.bytes_pending), " pending; ",
                       HumanBytes(snap.upload_rate_bps), "/s; ETA ",
                       snap.files_pending == 0 ? std::string("-") : HumanDuration(snap.eta_seconds));
      std::fputs(line.c_str(), stderr);
      std::fflush(stderr);
    }
    ++tick;
    SleepInterruptibly(std::chrono::milliseconds(1000));
  }
}

}  // namespace shoebox::agent
