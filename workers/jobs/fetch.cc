#include "workers/jobs/fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace shoebox::worker {
namespace {

constexpr size_t kDataMessage = 1 << 20;  // the coordinator's limit per message

// A temporary file that is unlinked as soon as it is open: nothing is left
// behind by a kill.
class SpoolFile {
 public:
  static absl::StatusOr<SpoolFile> Create() {
    const char* tmp = getenv("TMPDIR");
    std::string path =
        absl::StrCat(tmp != nullptr && *tmp != 0 ? tmp : "/tmp", "/shoebox-fetch-XXXXXX");
    int fd = mkstemp(path.data());
    if (fd < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot create a spool file in ", path, ": ", strerror(errno)));
    }
    unlink(path.c_str());
    return SpoolFile(fd);
  }
  SpoolFile(SpoolFile&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ~SpoolFile() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }

 private:
  explicit SpoolFile(int fd) : fd_(fd) {}
  int fd_;
};

// Reads the spool file from the start.
class SpoolSource final : public ByteSource {
 public:
  SpoolSource(int fd, uint64_t size) : fd_(fd), size_(size) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    ssize_t n = pread(fd_, buf, max, static_cast<off_t>(pos_));
    if (n < 0) return absl::UnavailableError(absl::StrCat("spool file: ", strerror(errno)));
    pos_ += static_cast<uint64_t>(n);
    return static_cast<size_t>(n);
  }
  absl::Status Seek(uint64_t offset) override {
    pos_ = offset;
    return absl::OkStatus();
  }
  uint64_t size() const override { return size_; }

 private:
  const int fd_;
  const uint64_t size_;
  uint64_t pos_ = 0;
};

absl::StatusOr<v1::CompleteJobRequest> RunList(JobContext& ctx) {
  ASSIGN_OR_RETURN(Connector * src, ctx.Destination());
  // The cursor the last listing saved (issue 21 slice 3); sources without
  // one list everything (Connector::ListChanges' default).
  ASSIGN_OR_RETURN(v1::ReportListingResponse saved, ctx.ReportListing({}, {.cursor_only = true}));
  absl::StatusOr<SourceListing> items = src->ListChanges(saved.cursor());
  if (!items.ok()) return Annotate(items.status(), "list transfer source " + src->Describe());
  if (ctx.cancelled()) return absl::CancelledError("the list job was cancelled");
  ASSIGN_OR_RETURN(v1::ReportListingResponse r,
                   ctx.ReportListing(items->items, {.next_cursor = items->next_cursor,
                                                    .changes_only = !items->full}));
  v1::CompleteJobRequest done;
  done.set_remote_ref(absl::StrCat("listed ", r.found(), " items: ", r.queued(),
                                   " new or changed queued, ", r.unchanged(), " unchanged, ",
                                   r.gone(), " gone"));
  return done;
}

absl::StatusOr<v1::CompleteJobRequest> RunFetch(const v1::Job& job, JobContext& ctx) {
  const std::string& path = job.remote_ref();
  if (path.empty()) return absl::FailedPreconditionError("fetch job without an item path");
  ASSIGN_OR_RETURN(Connector * src, ctx.Destination());
  ASSIGN_OR_RETURN(SpoolFile spool, SpoolFile::Create());
  Sha256 sha;
  uint64_t size = 0;
  absl::Status got = src->GetItem(path, [&](std::string_view data) -> absl::Status {
    if (ctx.cancelled()) return absl::CancelledError("the fetch job was cancelled");
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = write(spool.fd(), data.data() + off, data.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::UnavailableError(absl::StrCat("spool file: ", strerror(errno)));
      }
      off += static_cast<size_t>(n);
    }
    sha.Update(data);
    size += data.size();
    return absl::OkStatus();
  });
  if (!got.ok()) {
    return Annotate(got, absl::StrCat("get ", PrintablePath(path), " from ", src->Describe()));
  }
  v1::IngestItemHeader h;
  h.set_path(path);
  h.set_mtime_ns(job.transfer().mtime_ns());
  h.set_size(size);
  const std::string digest = DigestToString(sha.Final());
  h.set_sha256(digest);
  // Through UploadSource: reads stop once the job is cancelled.
  std::unique_ptr<ByteSource> counted =
      ctx.UploadSource(std::make_unique<SpoolSource>(spool.fd(), size));
  ASSIGN_OR_RETURN(v1::IngestItemResponse r, ctx.IngestItem(h, counted.get()));
  v1::CompleteJobRequest done;
  done.set_remote_ref(path);
  done.set_remote_size(size);
  done.set_remote_checksum("sha256:" + ToHex(digest));
  spdlog::debug("worker={} job={} fetched {} ({} bytes, new version: {})", ctx.worker_name(),
                job.job_id(), PrintablePath(path), size, r.new_version());
  return done;
}

}  // namespace

absl::StatusOr<v1::CompleteJobRequest> FetchHandler::Run(const v1::Job& job, JobContext& ctx) {
  if (job.kind() == v1::JOB_KIND_TRANSFER_LIST) return RunList(ctx);
  return RunFetch(job, ctx);
}

absl::StatusOr<v1::ReportListingResponse> SendListing(v1::WorkerService::Stub* stub,
                                                      grpc::ClientContext* ctx, const v1::Job& job,
                                                      const std::vector<RemoteObject>& items,
                                                      const ListingReport& report) {
  v1::ReportListingRequest rq;
  rq.set_job_id(job.job_id());
  rq.set_lease_token(job.lease_token());
  rq.set_cursor_only(report.cursor_only);
  rq.set_next_cursor(report.next_cursor);
  rq.set_changes_only(report.changes_only);
  for (const RemoteObject& o : items) {
    v1::ListedItem* it = rq.add_items();
    it->set_path(o.remote_path);
    it->set_size(o.size);
    it->set_mtime_ns(o.mtime_ns);
    it->set_etag(o.checksum);
    for (const std::string& a : o.albums) it->add_albums(a);
    it->set_capture_unix_ns(o.capture_ns);
  }
  v1::ReportListingResponse rs;
  RETURN_IF_ERROR(FromGrpc(stub->ReportListing(ctx, rq, &rs), "coordinator", "ReportListing"));
  return rs;
}

absl::StatusOr<v1::IngestItemResponse> SendItem(v1::WorkerService::Stub* stub,
                                                grpc::ClientContext* ctx,
                                                const v1::IngestItemHeader& header,
                                                ByteSource* src) {
  v1::IngestItemResponse rs;
  std::unique_ptr<grpc::ClientWriter<v1::IngestItemRequest>> w = stub->IngestItem(ctx, &rs);
  v1::IngestItemRequest msg;
  *msg.mutable_header() = header;
  bool ok = w->Write(msg);
  std::string buf(kDataMessage, '\0');
  absl::Status read_error;
  while (ok) {
    absl::StatusOr<size_t> n = src->Read(reinterpret_cast<uint8_t*>(buf.data()), buf.size());
    if (!n.ok()) {
      read_error = n.status();
      ctx->TryCancel();
      break;
    }
    if (*n == 0) break;
    msg.Clear();
    msg.set_data(buf.data(), *n);
    ok = w->Write(msg);
  }
  w->WritesDone();
  grpc::Status st = w->Finish();
  if (!read_error.ok()) return read_error;
  RETURN_IF_ERROR(FromGrpc(st, "coordinator", "IngestItem"));
  return rs;
}

}  // namespace shoebox::worker
