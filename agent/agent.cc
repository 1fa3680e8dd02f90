#include "agent/agent.h"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "absl/time/time.h"
#include "agent/housekeeping.h"
#include "agent/read_stage.h"
#include "agent/send_stage.h"
#include "agent/settle_tracker.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace shoebox::agent {

Agent::Agent(AgentConfig cfg, Options opts) : cfg_(std::move(cfg)), opts_(opts) {}

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
  std::shared_ptr<const ChunkHasher> cached_hasher;
  ASSIGN_OR_RETURN(std::optional<std::string> cached, db_->GetMeta("session_keys"));
  if (cached.has_value()) {
    auto keys = SessionKeys::Parse(*cached);
    if (keys.ok() && ValidateChunkerParams(keys->params).ok()) {
      cached_hasher = std::make_shared<ChunkHasher>(*keys);
    }
  }
  if (!opts_.once) {
    auto w = Watcher::Create();
    if (w.ok()) {
      watcher_ = std::move(*w);
    } else {
      spdlog::warn("inotify unavailable ({}); relying on periodic rescans",
                   std::string(w.status().message()));
    }
  }
  scanner_ = std::make_unique<Scanner>(db_.get(), this, opts_.accept_folder_changes);
  ASSIGN_OR_RETURN(client_,
                   CoordinatorClient::Connect(cfg_.coordinator_address, cfg_.device_name,
                                              std::chrono::seconds(cfg_.rpc_timeout_seconds),
                                              cfg_.insecure_dev, cfg_.tls_dir));
  bucket_ = std::make_unique<TokenBucket>(cfg_.bandwidth_limit);

  // The stages. The callbacks run only once Run() has started the threads,
  // when every stage exists.
  ReadStage::Outputs out;
  out.retry = [this](HashTask t) { settle_->Retry(std::move(t)); };
  out.check = [this](Folder* f, const std::string& rel) { settle_->Check(f, rel); };
  out.read_done = [this] { sender_->OutboxGrew(); };
  reader_ = std::make_unique<ReadStage>(db_.get(), &stats_, opts_.once, std::move(cached_hasher),
                                        std::move(out));
  settle_ =
      std::make_unique<SettleTracker>(cfg_.settle_seconds * 1000000000LL, db_.get(), scanner_.get(),
                                      reader_.get(), &stats_, cfg_.close_confirm_ms * 1000000LL);
  house_ = std::make_unique<Housekeeping>(&cfg_, opts_.once, opts_.progress_line, db_.get(),
                                          &stats_, [this] { reader_->Wake(); });
  sender_ = std::make_unique<SendStage>(&cfg_, opts_.once, &folders_, db_.get(), client_.get(),
                                        bucket_.get(), &stats_, reader_.get(), settle_.get(),
                                        house_.get());
  return absl::OkStatus();
}

void Agent::Stop() {
  if (!stop_.exchange(true)) stopped_.Notify();
  // Null when Init() failed part-way.
  if (reader_) reader_->Stop();
  if (sender_) sender_->Stop();
  if (house_) house_->Stop();
}

uint64_t Agent::unreadable_files() const { return reader_->unreadable(); }

StatusSnapshot Agent::Snapshot() { return house_->Snapshot(); }

absl::Status Agent::Run() {
  int threads = cfg_.hash_threads > 0 ? cfg_.hash_threads
                                      : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { reader_->Loop(); });
  threads_.emplace_back([this] { sender_->Loop(); });
  threads_.emplace_back([this] { house_->Loop(); });

  absl::Status result = absl::OkStatus();
  stats_.scanning = true;
  absl::Status s = FullScan();
  if (!s.ok()) spdlog::error("scan failed: {}", std::string(s.message()));
  auto last_root_check = std::chrono::steady_clock::now();
  auto last_drain = last_root_check;
  while (!stop_) {
    if (opts_.once && OnceDone()) break;
    if (watcher_) {
      // Wake for events, or when a waiting file is next due (a closed file
      // is confirmed after close_confirm_ms), at the latest after 500 ms.
      int timeout_ms = 500;
      int64_t next = settle_->NextDueNs();
      if (next != INT64_MAX) {
        int64_t in_ms = (next - SettleTracker::Clock().SteadyNs()) / 1000000 + 1;
        timeout_ms = static_cast<int>(std::clamp<int64_t>(in_ms, 0, 500));
      }
      struct pollfd p = {watcher_->fd(), POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) > 0) {
        // A writer's stream of IN_MODIFY events: the kernel merges repeats
        // while they queue, so draining at most every 50 ms keeps a large
        // copy from waking this thread for every write.
        auto since = std::chrono::steady_clock::now() - last_drain;
        if (since < std::chrono::milliseconds(50)) {
          (void)stopped_.WaitForNotificationWithTimeout(
              absl::FromChrono(std::chrono::milliseconds(50) - since));
        }
      }
      last_drain = std::chrono::steady_clock::now();
    } else {
      (void)stopped_.WaitForNotificationWithTimeout(absl::Milliseconds(opts_.once ? 100 : 500));
    }
    HandleEvents();
    settle_->Process(/*force_all=*/false);
    auto now = std::chrono::steady_clock::now();
    bool full = house_->TakeRescanDue(now);
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
  house_->FullScanStarted(std::chrono::steady_clock::now());
  reader_->ForgetDeniedLog();  // unreadable files are retried and logged again
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
        "scanned {}: {} files in {} directories, {} new or changed, {} deleted, {} skipped, {} "
        "errors ({:.2f} s)",
        PrintablePath(f->cfg.path), st.files, st.dirs, st.candidates, st.deleted, st.skipped,
        st.errors, secs);
    stats_.files_scanned.fetch_add(st.files);
  }
  stats_.scanning = false;
  sender_->OutboxGrew();
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

void Agent::OnCandidate(Folder* f, const std::string& dir, const std::string& name,
                        const FileStat& st) {
  settle_->OnCandidate(f, dir, name, st);
}

void Agent::HandleEvents() {
  if (!watcher_) return;
  std::vector<Watcher::Event> events;
  bool overflow = false;
  absl::Status s = watcher_->Drain(&events, &overflow);
  if (!s.ok()) spdlog::warn("{}", std::string(s.message()));
  if (overflow) {
    spdlog::info("inotify queue overflowed; rescanning everything");
    house_->RequestRescan();
  }
  // Opens and closes without a write change nothing on disk: they only tell
  // settle tracking whether a file is still open.
  constexpr uint32_t kOpenClose = IN_OPEN | IN_CLOSE_NOWRITE;
  // Per path, in order of first event: its events in order, and whether
  // one of them may have changed it.
  struct PathEvents {
    Folder* folder;
    std::string dir, name;
    std::vector<uint32_t> masks;
    bool check = false;
  };
  std::vector<PathEvents> paths;
  std::map<std::pair<size_t, std::string>, size_t> index;
  for (Watcher::Event& e : events) {
    if (e.folder >= folders_.size()) continue;
    Folder* f = folders_[e.folder].get();
    if (e.name.empty()) {
      if (e.dir.empty() && (e.mask & (IN_DELETE_SELF | IN_MOVE_SELF))) (void)scanner_->CheckRoot(f);
      continue;
    }
    if ((e.mask & IN_ISDIR) && (e.mask & ~(kOpenClose | IN_ISDIR)) == 0) continue;  // our scans
    auto [it, added] = index.try_emplace({e.folder, JoinRel(e.dir, e.name)}, paths.size());
    if (added) paths.push_back(PathEvents{f, std::move(e.dir), std::move(e.name), {}, false});
    PathEvents& p = paths[it->second];
    p.masks.push_back(e.mask);
    if (e.mask & ~kOpenClose) p.check = true;
  }
  ScanStats ss;
  for (const PathEvents& p : paths) {
    if (p.check) {
      absl::Status c = scanner_->CheckPath(p.folder, p.dir, p.name, &ss);
      if (!c.ok())
        spdlog::debug("check of {} failed: {}", PrintablePath(JoinRel(p.dir, p.name)),
                      std::string(c.message()));
    }
    settle_->OnEvents(p.folder, p.dir, p.name, p.masks);
  }
  if (ss.deleted > 0) sender_->OutboxGrew();
}

bool Agent::OnceDone() {
  if (!sender_->hello_done()) return false;
  if (settle_->Waiting()) return false;
  // The read stage before the inbox: a reader hands a file back to the
  // inbox before it leaves the read stage (read_stage.h, lock order).
  if (!reader_->Idle()) return false;
  if (!settle_->InboxEmpty()) return false;
  return db_->outbox_files() == 0;
}

}  // namespace shoebox::agent
