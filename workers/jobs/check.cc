#include "workers/jobs/check.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/destination_kinds.h"

namespace shoebox::worker {

namespace {

v1::CompleteJobRequest Failed(const std::string& step, const absl::Status& st) {
  v1::CompleteJobRequest done;
  done.set_verified_ok(false);
  done.set_remote_ref(
      absl::StrCat(step, ": ", absl::StatusCodeToString(st.code()), ": ", st.message())
          .substr(0, 2000));
  return done;
}

}  // namespace

absl::StatusOr<v1::CompleteJobRequest> CheckHandler::Run(const v1::Job& job, JobContext& ctx) {
  absl::StatusOr<Connector*> opened = ctx.Destination();
  if (!opened.ok()) return Failed("opening the destination", opened.status());
  Connector* conn = *opened;
  const std::string where = conn->Describe();

  absl::StatusOr<std::vector<RemoteObject>> listed = conn->List(kCheckProbeDir);
  if (!listed.ok() && !absl::IsNotFound(listed.status()))
    return Failed(absl::StrCat("listing ", where), listed.status());

  v1::CompleteJobRequest done;
  done.set_verified_ok(true);
  if (job.remote_ref() != "write") {
    done.set_remote_ref(absl::StrCat("connected to ", where, " and listed it (read-only check)"));
    return done;
  }
  // Photo services: no probe is written. Google Photos cannot delete what
  // it was given, and Flickr and SmugMug take only photos and videos, so a
  // probe would stay in the owner's library; listing proves the
  // credentials (docs/destinations.md, "Connection check").
  const KindSpec* spec = FindDestinationKind(job.destination().kind());
  if (spec != nullptr && spec->albums) {
    done.set_remote_ref(absl::StrCat("connected to ", where,
                                     " and listed it (photo service: no probe file is written)"));
    return done;
  }
  uint8_t rnd[8];
  SecureRandom(rnd, sizeof rnd);
  const std::string path =
      absl::StrCat(kCheckProbeDir, "/probe-", ToHex(ByteSpan(rnd, sizeof rnd)), ".txt");
  const std::string body = absl::StrCat("Shoebox connection check by worker ", ctx.worker_name(),
                                        ", job ", job.job_id(), "; safe to delete.\n");
  PutRequest req;
  req.remote_path = path;
  req.size = body.size();
  req.mtime_ns = absl::ToUnixNanos(absl::Now());
  req.sha256 = DigestToString(Sha256::Of(AsBytes(body)));
  std::unique_ptr<ByteSource> src = MakeStringSource(body);
  absl::StatusOr<RemoteObject> put = conn->Put(req, src.get(), [](const Progress&) {});
  if (!put.ok()) return Failed(absl::StrCat("writing a probe file to ", where), put.status());
  absl::StatusOr<RemoteObject> st = conn->Stat(path);
  absl::Status del = conn->Delete(path);
  if (!st.ok()) return Failed(absl::StrCat("reading back the probe file at ", where), st.status());
  if (st->size != body.size()) {
    return Failed(
        absl::StrCat("reading back the probe file at ", where),
        absl::DataLossError(absl::StrCat("it has ", st->size, " bytes instead of ", body.size())));
  }
  if (!del.ok()) return Failed(absl::StrCat("deleting the probe file at ", where), del);
  done.set_remote_ref(absl::StrCat("connected to ", where, ", wrote, read back and deleted a ",
                                   body.size(), "-byte probe file in ", kCheckProbeDir));
  return done;
}

}  // namespace shoebox::worker
