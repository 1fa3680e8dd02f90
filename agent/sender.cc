#include "agent/sender.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/fsutil.h"
#include "common/status.h"
#include "common/steady_wait.h"
#include "spdlog/spdlog.h"

namespace shoebox::agent {
namespace {

bool IsPermanent(int code) {
  switch (static_cast<absl::StatusCode>(code)) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

constexpr auto kPerFileRetry = std::chrono::seconds(30);

}  // namespace

std::chrono::milliseconds WaitForOthersDelay(int waits_so_far) {
  constexpr int kFast = 50;  // 50 x 0.2 s
  if (waits_so_far < kFast) return std::chrono::milliseconds(200);
  return std::chrono::milliseconds(std::min(200 << std::min(waits_so_far - kFast + 1, 6), 10000));
}

namespace {}  // namespace

struct Sender::Item {
  StateDb::PendingChange change;
  std::string root;
  size_t remaining = 0;  // distinct missing chunks not yet acknowledged
  bool failed = false;   // changed file or refused chunk: retry in a later round
  bool acked = false;
  int64_t version_id = 0;
  // The coordinator holds every chunk of the version (or it is a deletion).
  // A version can be pending with nothing for us to send: another device is
  // sending the same chunks (coordinator/upload_claims.h). It is reported
  // again after a short wait until it is complete, and only then leaves the
  // outbox.
  bool complete = false;
};

Sender::Sender(StateDb* db, CoordinatorClient* client, const ChunkHasher* hasher,
               std::map<uint32_t, std::string> roots, AgentStats* stats, TokenBucket* bucket,
               Options opts, std::function<bool()> may_send,
               std::function<void(uint32_t, const std::string&)> on_changed)
    : db_(db),
      client_(client),
      hasher_(hasher),
      roots_(std::move(roots)),
      stats_(stats),
      bucket_(bucket),
      opts_(opts),
      may_send_(std::move(may_send)),
      on_changed_(std::move(on_changed)) {}

absl::StatusOr<size_t> Sender::RunRound() {
  auto now = std::chrono::steady_clock::now();
  std::vector<Item> items;
  auto collect = [&](StateDb::PendingChange&& pc) {
    {
      absl::MutexLock l(&mu_);
      auto b = backoff_.find(pc.key);
      if (b != backoff_.end()) {
        if (b->second > now) return true;
        backoff_.erase(b);
      }
    }
    auto root = roots_.find(pc.parts.folder_id);
    if (root == roots_.end()) {
      spdlog::warn("dropping pending change of {}: its folder is no longer configured",
                   PrintablePath(pc.parts.RelPath()));
      (void)db_->DropChange(pc.key, pc.entry.generation);
      return true;
    }
    Item it;
    it.root = root->second;
    it.change = std::move(pc);
    items.push_back(std::move(it));
    return items.size() < opts_.report_batch;
  };
  RETURN_IF_ERROR(db_->ScanOutbox(cursor_, collect));
  if (items.size() < opts_.report_batch && !cursor_.empty()) {
    cursor_.clear();
    RETURN_IF_ERROR(db_->ScanOutbox("", [&](StateDb::PendingChange&& pc) {
      for (const Item& i : items) {
        if (i.change.key == pc.key) return false;  // wrapped around
      }
      return collect(std::move(pc));
    }));
  }
  if (items.empty()) {
    cursor_.clear();
    return 0;
  }
  cursor_ = items.back().change.key;

  v1::ReportFilesRequest req;
  for (const Item& it : items) {
    const OutboxEntry& e = it.change.entry;
    v1::FileReport* f = req.add_files();
    f->set_folder(it.root);
    f->set_path(it.change.parts.RelPath());
    if (e.op == OutboxOp::kDelete) {
      f->set_op(v1::FileReport::OP_DELETE);
      continue;
    }
    f->set_op(v1::FileReport::OP_UPSERT);
    f->set_size(e.stat.size);
    f->set_mtime_ns(e.stat.mtime_ns);
    f->set_sha256(DigestToString(e.sha256));
    f->set_mode(e.stat.mode & kPermissionBits);
    for (const ChunkEntry& c : e.chunks) {
      v1::ChunkRef* r = f->add_chunks();
      r->set_id(DigestToString(c.id));
      r->set_size(c.size);
    }
  }
  ASSIGN_OR_RETURN(v1::ReportFilesResponse resp, client_->ReportFiles(req));

  std::map<std::string, std::vector<size_t>> by_chunk;  // missing chunk id → items needing it
  std::map<std::string, std::string> proofs;  // challenged chunk id → nonce (prove, not upload)
  std::set<std::string> to_upload;            // chunk ids whose data is sent
  std::vector<bool> answered(items.size(), false);
  for (const v1::FileResult& r : resp.results()) {
    if (r.index() >= items.size()) continue;
    Item& it = items[r.index()];
    answered[r.index()] = true;
    std::string printable = PrintablePath(it.root + "/" + it.change.parts.RelPath());
    if (r.code() != 0) {
      std::string msg = absl::StrCat("coordinator refused ", printable, ": ", r.message(),
                                     " (code ", r.code(), ")");
      stats_->SetError(msg);
      if (IsPermanent(r.code())) {
        spdlog::error("{}; the change is dropped (it is reported again if the file changes)", msg);
        (void)db_->DropChange(it.change.key, it.change.entry.generation);
      } else {
        spdlog::warn("{}; retrying later", msg);
        absl::MutexLock l(&mu_);
        backoff_[it.change.key] = now + kPerFileRetry;
      }
      it.failed = true;
      continue;
    }
    it.version_id = r.version_id();
    it.complete = r.state() != v1::VERSION_STATE_PENDING_CHUNKS;
    std::set<std::string> distinct(r.missing_chunk_ids().begin(), r.missing_chunk_ids().end());
    to_upload.insert(distinct.begin(), distinct.end());
    for (const v1::ChunkChallenge& c : r.challenges()) {
      distinct.insert(c.id());
      bool upload;
      {
        absl::MutexLock l(&mu_);
        upload = must_upload_.count(c.id()) > 0;  // its proof was refused before
      }
      if (upload) {
        to_upload.insert(c.id());
      } else {
        proofs.emplace(c.id(), c.nonce());
      }
    }
    it.remaining = distinct.size();
    for (const std::string& id : distinct) by_chunk[id].push_back(r.index());
  }

  // A chunk some file must upload is uploaded (which proves it too).
  for (const std::string& id : to_upload) proofs.erase(id);

  // Entries complete on the coordinator are acknowledged now, the others
  // as their chunks are acknowledged; what is left with nothing to send but
  // not complete (another device is sending some of its chunks) is reported
  // again soon.
  {
    absl::MutexLock l(&mu_);
    for (size_t i = 0; i < items.size(); ++i) {
      if (answered[i] && !items[i].failed && items[i].remaining == 0 && items[i].complete)
        AcknowledgeItem(items[i]);
    }
  }
  proofs_ok_ = 0;
  proofs_refused_ = 0;
  proof_bytes_ = 0;
  absl::Status up = by_chunk.empty() ? absl::OkStatus() : Upload(items, by_chunk, proofs);
  if (!proofs.empty()) {
    spdlog::info(
        "proved {} chunks ({} bytes read, none uploaded) that the coordinator already had from "
        "another device; {} proofs refused (those chunks are uploaded instead)",
        proofs_ok_.load(), proof_bytes_.load(), proofs_refused_.load());
  }
  {
    absl::MutexLock l(&mu_);
    for (size_t i = 0; i < items.size(); ++i) {
      if (answered[i] && !items[i].acked && !items[i].failed && items[i].remaining == 0)
        AcknowledgeItem(items[i]);
    }
  }
  if (!up.ok()) return up;
  return items.size();
}

void Sender::AcknowledgeItem(Item& it) {
  if (!it.complete) {
    // Nothing left for us to send, but another device is still sending some
    // of the version's chunks: report it again every 0.2 s for the first
    // 10 s (the other upload usually lands within that, and the file is
    // then acknowledged promptly), then after 0.4 s, 0.8 s, ... up to 10 s.
    int& n = waits_[it.change.key];
    backoff_[it.change.key] = std::chrono::steady_clock::now() + WaitForOthersDelay(n);
    ++n;
    return;
  }
  waits_.erase(it.change.key);
  auto done = db_->Acknowledge(it.change.key, it.change.entry.generation);
  if (!done.ok()) {
    spdlog::error("cannot update agent outbox: {}", std::string(done.status().message()));
    return;
  }
  it.acked = true;
  if (it.change.entry.op == OutboxOp::kDelete) {
    stats_->deletes_acked.fetch_add(1);
  } else {
    stats_->files_acked.fetch_add(1);
    stats_->bytes_acked.fetch_add(it.change.entry.stat.size);
  }
}

absl::Status Sender::Upload(std::vector<Item>& items,
                            const std::map<std::string, std::vector<size_t>>& by_chunk,
                            const std::map<std::string, std::string>& proofs) {
  // Tasks in file order so that reads are sequential.
  struct Task {
    std::string id;
    size_t item;
    uint64_t offset;
    uint32_t size;
    const std::string* nonce = nullptr;  // a proof: the challenge's nonce
  };
  std::vector<Task> tasks;
  for (size_t i = 0; i < items.size(); ++i) {
    const OutboxEntry& e = items[i].change.entry;
    if (items[i].remaining == 0) continue;
    uint64_t off = 0;
    std::set<std::string> queued;  // repeats within the file are sent once
    for (const ChunkEntry& c : e.chunks) {
      std::string id = DigestToString(c.id);
      auto bc = by_chunk.find(id);
      // The first item needing a chunk uploads it.
      if (bc != by_chunk.end() && bc->second.front() == i && queued.insert(id).second) {
        auto p = proofs.find(id);
        tasks.push_back(Task{id, i, off, c.size, p == proofs.end() ? nullptr : &p->second});
      }
      off += c.size;
    }
  }

  uint32_t max_chunk = hasher_->keys().params.max_size;
  std::map<int64_t, std::vector<size_t>>
      by_version;  // version → items (acks name completed versions)
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].version_id != 0) by_version[items[i].version_id].push_back(i);
  }
  std::map<std::string, uint32_t> sizes;
  for (const Task& t : tasks) sizes[t.id] = t.size;
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };

  // One PutChunks stream: a writer (this thread), an ack reader and a
  // watchdog that cancels the stream when acknowledgements stop.
  auto run_lane = [&](const std::vector<Task>& lane, size_t lane_index) -> absl::Status {
    auto ctx = client_->NewContext(std::chrono::hours(24));
    std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream =
        client_->PutChunksRaw(lane_index, ctx.get());

    std::atomic<int64_t> last_progress_ms{0};
    last_progress_ms = now_ms();
    std::atomic<bool> reader_done{false};
    // Acks arrive on this thread.
    std::thread reader([&] {
      v1::PutChunkAck ack;
      grpc::ByteBuffer raw;
      while (stream->Read(&raw)) {
        last_progress_ms = now_ms();
        if (!ParsePutChunkAck(raw, &ack)) {
          spdlog::warn("coordinator {} sent an unreadable chunk acknowledgement; reconnecting",
                       client_->address());
          ctx->TryCancel();
          break;
        }
        absl::MutexLock l(&mu_);
        auto bc = by_chunk.find(ack.id());
        if (bc == by_chunk.end()) continue;
        const bool proof = proofs.count(ack.id()) > 0;
        if (ack.code() != 0 && proof) {
          // Not proven (the file changed, the challenge expired, the chunk
          // is damaged on the server): the next report challenges it again
          // and then its data is uploaded, which proves it too.
          spdlog::info(
              "coordinator refused the proof for chunk {}: {} (code {}); its data is "
              "uploaded instead",
              ToHex(ack.id()).substr(0, 16), ack.message(), ack.code());
          proofs_refused_.fetch_add(1);
          must_upload_.insert(ack.id());
          for (size_t i : bc->second) {
            if (items[i].remaining > 0) --items[i].remaining;
          }
          continue;
        }
        if (ack.code() != 0) {
          std::string msg =
              absl::StrCat("coordinator refused chunk ", ToHex(ack.id()).substr(0, 16), ": ",
                           ack.message(), " (code ", ack.code(), ")");
          stats_->SetError(msg);
          bool mismatch = ack.code() == static_cast<int>(absl::StatusCode::kInvalidArgument);
          spdlog::warn("{}; {}", msg,
                       mismatch
                           ? "the files using it changed since they were read and are read again"
                           : "the files using it are retried later");
          for (size_t i : bc->second) {
            items[i].failed = true;
            if (mismatch) {
              const KeyParts& kp = items[i].change.parts;
              (void)db_->ForgetFile(kp.folder_id, kp.dir, kp.name,
                                    items[i].change.entry.generation);
              if (on_changed_) on_changed_(kp.folder_id, kp.RelPath());
            } else {
              backoff_[items[i].change.key] = std::chrono::steady_clock::now() + kPerFileRetry;
            }
          }
          continue;
        }
        if (proof) {
          proofs_ok_.fetch_add(1);
          proof_bytes_.fetch_add(sizes.at(ack.id()));
        } else {
          stats_->chunks_uploaded.fetch_add(1);
          stats_->chunk_bytes_uploaded.fetch_add(sizes.at(ack.id()));
          must_upload_.erase(ack.id());
        }
        for (int64_t v : ack.completed_version_ids()) {
          auto w = by_version.find(v);
          if (w != by_version.end()) {
            for (size_t i : w->second) items[i].complete = true;
          }
        }
        for (size_t i : bc->second) {
          Item& it = items[i];
          if (it.remaining > 0) --it.remaining;
          if (it.remaining == 0 && !it.failed && !it.acked && it.complete) AcknowledgeItem(it);
        }
      }
      reader_done = true;
    });

    // Cancels the stream when acknowledgements stop coming.
    uint64_t rate = bucket_->rate();
    int64_t stall_ms =
        120000 +
        (rate > 0 ? static_cast<int64_t>(2000.0 * max_chunk / static_cast<double>(rate)) : 0);
    SteadyNotification writer_done;  // the watchdog's 1 s ticks: monotonic
    std::thread watchdog([&] {
      while (!writer_done.WaitForNotificationWithTimeout(absl::Seconds(1))) {
        if (now_ms() - last_progress_ms.load() > stall_ms) {
          spdlog::warn("no chunk acknowledged for {} s; reconnecting", stall_ms / 1000);
          ctx->TryCancel();
          return;
        }
      }
    });

    int open_fd = -1;
    size_t open_item = SIZE_MAX;
    // Each chunk is read into a buffer of its own that gRPC sends by
    // reference (PutChunkRequestBuffer) and frees once written to the
    // connection: no copy into a protobuf message, no zero-fill.
    bool stream_ok = true;
    bool stopped_early = false;
    for (const Task& t : lane) {
      {
        absl::MutexLock l(&mu_);
        if (items[t.item].failed) continue;
      }
      if (!may_send_()) {
        stopped_early = true;
        break;
      }
      Item& it = items[t.item];
      const KeyParts& kp = it.change.parts;
      if (open_item != t.item) {
        if (open_fd >= 0) ::close(open_fd);
        open_fd = -1;
        open_item = t.item;
        auto fd = OpenRelative(it.root, kp.RelPath(), O_RDONLY);
        if (fd.ok()) {
          open_fd = *fd;
          // The file must still be what was read: same size, mtime, ctime
          // and inode (every write changes ctime).
          struct stat st;
          if (::fstat(open_fd, &st) != 0 || !FromStat(st).SameContentAs(it.change.entry.stat)) {
            ::close(open_fd);
            open_fd = -1;
          }
        }
      }
      bool good = open_fd >= 0;
      ChunkBuffer buf;
      if (good) {
        buf = ChunkBuffer(t.size);
        good = buf.data() != nullptr;
      }
      if (good) {
        size_t got = 0;
        while (got < t.size) {
          ssize_t n =
              ::pread(open_fd, buf.data() + got, t.size - got, static_cast<off_t>(t.offset + got));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          got += static_cast<size_t>(n);
        }
        stats_->bytes_read.fetch_add(got);
        good = got == t.size;
        // The coordinator recomputes every chunk ID and refuses a mismatch;
        // checking here too costs one more HMAC pass over the data.
        if (good && opts_.verify_upload_ids)
          good = DigestToString(hasher_->Id(ByteSpan(buf.data(), t.size))) == t.id;
      }
      if (!good) {
        spdlog::info("{} changed since it was read; it is read again",
                     PrintablePath(it.root + "/" + kp.RelPath()));
        {
          absl::MutexLock l(&mu_);
          it.failed = true;
        }
        (void)db_->ForgetFile(kp.folder_id, kp.dir, kp.name, it.change.entry.generation);
        if (on_changed_) on_changed_(kp.folder_id, kp.RelPath());
        continue;
      }
      if (t.nonce != nullptr) {
        // A proof of ownership: HMAC-SHA256(key = nonce, chunk), ~100 bytes
        // on the wire instead of the chunk (not counted against the
        // bandwidth limit).
        const HmacSha256 mac(AsBytes(*t.nonce));
        v1::PutChunkRequest proof;
        proof.set_id(t.id);
        proof.set_nonce(*t.nonce);
        proof.set_proof(DigestToString(mac.Compute(ByteSpan(buf.data(), t.size))));
        const std::string wire = proof.SerializeAsString();
        grpc::Slice slice(wire);
        grpc::ByteBuffer msg(&slice, 1);
        if (!stream->Write(msg)) {
          stream_ok = false;
          break;
        }
        continue;
      }
      bucket_->Acquire(t.size);
      if (!stream->Write(PutChunkRequestBuffer(t.id, std::move(buf), t.size))) {
        stream_ok = false;
        break;
      }
    }
    if (open_fd >= 0) ::close(open_fd);
    if (stream_ok) stream->WritesDone();
    (void)stopped_early;  // acks for what was sent are still collected below
    reader.join();
    writer_done.Notify();
    watchdog.join();
    grpc::Status fs = stream->Finish();
    if (!fs.ok())
      return Annotate(FromGrpc(fs), absl::StrCat("PutChunks to coordinator ", client_->address()));
    return absl::OkStatus();
  };

  // Several streams in parallel: the coordinator stores each stream's chunks
  // one after another (write + fsync + commit), so one stream is bound by
  // that latency. Work is spread over the lanes by bytes in runs of a file's
  // consecutive chunks of up to kRun bytes, so reads stay sequential within
  // a run and one large video does not keep a single stream busy while the
  // others are idle.
  constexpr uint64_t kRun = 32ull << 20;
  size_t runs = 0;
  {
    size_t item = SIZE_MAX;
    uint64_t in_run = 0;
    for (const Task& t : tasks) {
      if (t.item != item || in_run >= kRun) {
        ++runs;
        item = t.item;
        in_run = 0;
      }
      in_run += t.size;
    }
  }
  size_t lanes_n = std::max<size_t>(1, std::min<size_t>(opts_.upload_streams, runs));
  std::vector<std::vector<Task>> lanes(lanes_n);
  std::vector<uint64_t> lane_bytes(lanes_n, 0);
  size_t cur_item = SIZE_MAX, cur_lane = 0;
  uint64_t in_run = 0;
  for (const Task& t : tasks) {
    if (t.item != cur_item || in_run >= kRun) {
      cur_item = t.item;
      in_run = 0;
      cur_lane = static_cast<size_t>(std::min_element(lane_bytes.begin(), lane_bytes.end()) -
                                     lane_bytes.begin());
    }
    lanes[cur_lane].push_back(t);
    lane_bytes[cur_lane] += t.size;
    in_run += t.size;
  }
  std::vector<absl::Status> results(lanes_n);
  std::vector<std::thread> threads;
  for (size_t l = 1; l < lanes_n; ++l) {
    if (lanes[l].empty()) continue;
    threads.emplace_back([&, l] { results[l] = run_lane(lanes[l], l); });
  }
  if (!lanes[0].empty()) results[0] = run_lane(lanes[0], 0);
  for (std::thread& t : threads) t.join();
  for (const absl::Status& r : results) {
    if (!r.ok()) return r;
  }
  return absl::OkStatus();
}

}  // namespace shoebox::agent
