#include "coordinator/verify.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/status.h"
#include "coordinator/proto_convert.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

namespace {

constexpr uint32_t kScrubPage = 256;

bool IsDamage(const absl::Status& s) { return absl::IsDataLoss(s) || absl::IsNotFound(s); }

absl::Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "write test-restore file");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

Verifier::Verifier(VerifyStore* store, SealedChunkStore* chunks, const DerivedKeys& keys,
                   Catalog* catalog, const VerifyOptions& options)
    : vstore_(store),
      chunks_(chunks),
      catalog_(catalog),
      options_(options),
      id_hmac_(ByteSpan(keys.chunk_id_key.data(), keys.chunk_id_key.size())) {}

Verifier::~Verifier() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (schedule_.joinable()) schedule_.join();
}

void Verifier::StartSchedule() {
  if (options_.interval_s == 0 || schedule_.joinable()) return;
  schedule_ = std::thread([this] { ScheduleLoop(); });
}

void Verifier::ScheduleLoop() {
  // Checks once a minute (or per interval when shorter) whether a run is
  // due; the claim in PostgreSQL makes one coordinator of many run it.
  // The first run comes one interval after start, not at every restart.
  const auto pause = std::chrono::seconds(std::clamp<uint32_t>(options_.interval_s, 1, 60));
  const auto first = std::chrono::steady_clock::now() + std::chrono::seconds(options_.interval_s);
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      if (cv_.wait_for(l, pause, [this] { return stop_; })) return;
    }
    if (std::chrono::steady_clock::now() < first) continue;
    absl::StatusOr<int64_t> run =
        vstore_->ClaimScheduledRun(uint64_t{options_.interval_s} * 1000, options_.scrub_percent);
    if (!run.ok()) {
      SPDLOG_WARN("event=verify_schedule_failed error=\"{}\"", std::string(run.status().message()));
      continue;
    }
    if (*run == 0) continue;
    shoebox::v1::VerifyRequest req;
    req.set_scrub_percent(options_.scrub_percent);
    req.set_test_restore(options_.test_restore);
    // Remote checks use remote_percent; Run() reads it for scheduled runs.
    req.set_remote(options_.remote_percent > 0);
    shoebox::v1::VerifyResponse resp;
    absl::Status st;
    {
      absl::StatusOr<shoebox::v1::VerifyResponse> r = Run(absl::StrCat("schedule#", *run), req);
      st = r.status();
      if (r.ok()) resp = *r;
    }
    if (!st.ok()) SPDLOG_WARN("event=verify_run_failed error=\"{}\"", std::string(st.message()));
    (void)vstore_->FinishRun(*run, FromProto(resp), st.ok() ? "" : std::string(st.message()));
  }
}

absl::Status Verifier::CheckChunk(const ScrubItem& item) {
  ChunkId id;
  if (!DigestFromString(item.id, &id)) {
    return absl::DataLossError(absl::StrCat("chunk row with a ", item.id.size(), "-byte ID"));
  }
  ASSIGN_OR_RETURN(std::string blob, chunks_->store()->Get(id));
  ASSIGN_OR_RETURN(std::string plain, chunks_->sealer().Open(id, blob));
  if (plain.size() != item.size) {
    return absl::DataLossError(absl::StrCat("chunk ", ToHex(item.id), ": opened to ", plain.size(),
                                            " bytes, the catalog says ", item.size));
  }
  if (id_hmac_.Compute(plain) != id) {
    return absl::DataLossError(absl::StrCat("chunk ", ToHex(item.id),
                                            ": the content does not match its ID (HMAC-SHA256)"));
  }
  return absl::OkStatus();
}

absl::Status Verifier::Scrub(double percent, shoebox::v1::VerifyResponse* out) {
  ASSIGN_OR_RETURN(uint64_t total, vstore_->CountStoredChunks());
  out->set_chunks_total(total);
  uint64_t want =
      std::min<uint64_t>(total, static_cast<uint64_t>(std::ceil(total * percent / 100.0)));
  while (want > 0) {
    ASSIGN_OR_RETURN(
        std::vector<ScrubItem> batch,
        vstore_->NextScrubBatch(static_cast<uint32_t>(std::min<uint64_t>(want, kScrubPage))));
    if (batch.empty()) break;
    std::vector<std::string> good;
    for (const ScrubItem& item : batch) {
      absl::Status st = CheckChunk(item);
      if (st.ok()) {
        good.push_back(item.id);
      } else if (IsDamage(st)) {
        SPDLOG_ERROR("event=chunk_damaged chunk={} error=\"{}\"", ToHex(item.id),
                     std::string(st.message()));
        RETURN_IF_ERROR(vstore_->RecordDamage(item.id, st.ToString()));
        out->set_chunks_bad(out->chunks_bad() + 1);
      } else {
        return Annotate(st, absl::StrCat("scrub of chunk ", ToHex(item.id), " in ",
                                         chunks_->store()->Describe()));
      }
    }
    RETURN_IF_ERROR(vstore_->MarkScrubbed(good));
    out->set_chunks_scrubbed(out->chunks_scrubbed() + batch.size());
    want -= std::min<uint64_t>(want, batch.size());
  }
  return absl::OkStatus();
}

absl::Status Verifier::TestRestore(uint32_t n, shoebox::v1::VerifyResponse* out) {
  ASSIGN_OR_RETURN(std::vector<FileVersion> sample, vstore_->SampleCurrentVersions(n));
  if (sample.empty()) return absl::OkStatus();
  std::error_code ec;
  // The coordinator sets scratch_dir to its state directory when the config
  // leaves it empty (coordinator.cc); the system temp directory is the last
  // resort. Either way the files go into a new directory only we can enter
  // (mkdtemp: unguessable name, mode 0700), never one that already exists.
  std::string base = options_.scratch_dir;
  if (base.empty()) base = std::filesystem::temp_directory_path(ec).string();
  if (base.empty()) base = "/tmp";
  std::string dir = absl::StrCat(base, "/shoebox-test-restore-XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "test restore: cannot create a scratch directory in ", base, ": ", strerror(errno),
        "; set verify.scratch_dir to a directory the coordinator can write"));
  }
  for (const auto& v : sample) {
    const std::string where = absl::StrCat(v.device, ":", PrintablePath(v.folder), "/",
                                           PrintablePath(v.path), " (version ", v.version_id, ")");
    const std::string file = absl::StrCat(dir, "/", v.version_id);
    absl::Status st;
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoToStatus(errno, absl::StrCat("create test-restore file ", file));
    Sha256 h;
    uint64_t bytes = 0;
    for (const ChunkRef& c : v.chunks) {
      ChunkId id;
      DigestFromString(c.id, &id);
      absl::StatusOr<std::string> plain = chunks_->GetPlain(id);
      if (!plain.ok()) {
        st = plain.status();
        if (IsDamage(st)) {
          (void)vstore_->RecordDamage(c.id, st.ToString());
        }
        break;
      }
      st = WriteAll(fd, *plain);
      if (!st.ok()) break;
      h.Update(*plain);
      bytes += plain->size();
    }
    ::close(fd);
    if (st.ok()) {
      // Read the file back: the scratch copy, not the memory, is compared.
      Sha256 back;
      uint64_t back_bytes = 0;
      int rfd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (rfd < 0) {
        st = ErrnoToStatus(errno, absl::StrCat("reopen test-restore file ", file));
      } else {
        std::string buf(1 << 20, '\0');
        for (;;) {
          ssize_t r = ::read(rfd, buf.data(), buf.size());
          if (r < 0 && errno == EINTR) continue;
          if (r <= 0) break;
          back.Update(std::string_view(buf.data(), static_cast<size_t>(r)));
          back_bytes += static_cast<uint64_t>(r);
        }
        ::close(rfd);
        if (back_bytes != v.size) {
          st = absl::DataLossError(
              absl::StrCat("restored ", back_bytes, " bytes, the catalog says ", v.size));
        } else if (DigestToString(back.Final()) != v.sha256) {
          st = absl::DataLossError("SHA-256 of the restored file differs from the catalog");
        }
      }
    }
    ::unlink(file.c_str());
    if (st.ok()) {
      out->set_test_restored_files(out->test_restored_files() + 1);
      out->set_test_restored_bytes(out->test_restored_bytes() + bytes);
    } else {
      if (!IsDamage(st) && !absl::IsDataLoss(st)) {
        std::filesystem::remove_all(dir, ec);
        return Annotate(st, absl::StrCat("test restore of ", where));
      }
      out->set_test_restore_failed(out->test_restore_failed() + 1);
      out->add_test_restore_errors(absl::StrCat(where, ": ", st.message()));
      SPDLOG_ERROR("event=test_restore_failed file=\"{}\" error=\"{}\"", where,
                   std::string(st.message()));
    }
  }
  std::filesystem::remove_all(dir, ec);
  return absl::OkStatus();
}

absl::StatusOr<shoebox::v1::VerifyResponse> Verifier::Run(const std::string& trigger,
                                                          const shoebox::v1::VerifyRequest& req) {
  RETURN_IF_ERROR(ValidateVerifyRequest(req));  // coordinator/validate.h
  shoebox::v1::VerifyResponse out;
  const bool scheduled = absl::StartsWith(trigger, "schedule#");
  // Nothing to check: only report (and plan repairs for) the open damage;
  // not recorded as a run (restores poll this while repairs run).
  const bool report_only =
      !scheduled && req.scrub_percent() == 0 && !req.remote() && req.test_restore() == 0;
  int64_t run_id = 0;
  if (scheduled) {
    run_id = std::stoll(trigger.substr(9));
  } else if (!report_only) {
    ASSIGN_OR_RETURN(run_id, vstore_->StartRun(trigger, req.scrub_percent()));
  }
  out.set_run_id(run_id);
  SPDLOG_INFO("event=verify_start run={} trigger=\"{}\" scrub_percent={} remote={} test_restore={}",
              run_id, trigger, req.scrub_percent(), req.remote(), req.test_restore());
  absl::Status st = [&]() -> absl::Status {
    // Remote checks first: they only queue jobs (and a wrong destination
    // name fails at once, not after a long scrub).
    if (req.remote()) {
      ASSIGN_OR_RETURN(uint64_t q,
                       vstore_->QueueRemoteChecks(req.destination(),
                                                  scheduled ? options_.remote_percent : 100.0));
      out.set_remote_checks_queued(q);
    }
    if (req.scrub_percent() > 0) RETURN_IF_ERROR(Scrub(req.scrub_percent(), &out));
    if (req.test_restore() > 0) RETURN_IF_ERROR(TestRestore(req.test_restore(), &out));
    uint64_t repairs = 0;
    ASSIGN_OR_RETURN(std::vector<DamagedChunk> damaged,
                     vstore_->OpenDamage(/*queue_repairs=*/true, &repairs));
    out.set_repairs_queued(repairs);
    for (const DamagedChunk& d : damaged) {
      if (!d.repair_queued) {
        for (const AffectedFile& f : d.files) *out.add_unrepairable() = ToProto(f);
        SPDLOG_ERROR(
            "event=chunk_unrepairable chunk={} files={} action=\"no destination holds a "
            "file with it; the device's agent re-sends it if it still has the file unchanged\"",
            ToHex(d.id), d.files.size());
      }
      *out.add_damaged() = ToProto(d);
    }
    return absl::OkStatus();
  }();
  if (run_id != 0 && !scheduled) {
    (void)vstore_->FinishRun(run_id, FromProto(out), st.ok() ? "" : std::string(st.message()));
  }
  if (!st.ok()) return st;
  SPDLOG_INFO(
      "event=verify_done run={} scrubbed={} bad={} test_restored={} test_failed={} "
      "repairs_queued={} remote_checks_queued={} unrepairable_files={}",
      run_id, out.chunks_scrubbed(), out.chunks_bad(), out.test_restored_files(),
      out.test_restore_failed(), out.repairs_queued(), out.remote_checks_queued(),
      out.unrepairable_size());
  return out;
}

absl::Status Verifier::RepairChunk(const std::string& worker,
                                   const shoebox::v1::RepairChunkRequest& req) {
  if (req.job_id() <= 0 || req.lease_token().empty()) {
    return absl::InvalidArgumentError("job_id, lease_token: give the verify job's lease");
  }
  if (req.id().size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat("id: must be 32 bytes, got ", req.id().size()));
  }
  RETURN_IF_ERROR(vstore_->CheckRepairLease(req.job_id(), req.lease_token(), req.id(), worker));
  shoebox::v1::PutChunkRequest put;
  put.set_id(req.id());
  put.set_data(req.data());
  // Same path as an agent's upload: ID check (HMAC), size check, seal,
  // durable write, then the chunk row says stored again.
  shoebox::v1::PutChunkAck ack = catalog_->PutChunk(absl::StrCat("worker ", worker), put);
  if (ack.code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(ack.code()),
                        absl::StrCat("repair of chunk ", ToHex(req.id()), ": ", ack.message()));
  }
  RETURN_IF_ERROR(
      vstore_->MarkRepaired(req.id(), absl::StrCat("worker ", worker, " job ", req.job_id())));
  SPDLOG_INFO("event=chunk_repaired chunk={} worker=\"{}\" job={}", ToHex(req.id()), worker,
              req.job_id());
  return absl::OkStatus();
}

absl::Status Verifier::AddToStatus(shoebox::v1::StatusResponse* resp) {
  ASSIGN_OR_RETURN(CopySummary s, vstore_->GetCopySummary());
  AddToProto(s, resp);
  return absl::OkStatus();
}

}  // namespace shoebox::coordinator
