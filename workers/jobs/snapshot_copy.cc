#include "workers/jobs/snapshot_copy.h"

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/snapshot/catalog_snapshot.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace shoebox::worker {

absl::StatusOr<v1::CompleteJobRequest> SnapshotCopyHandler::Run(const v1::Job& job,
                                                                JobContext& ctx) {
  ASSIGN_OR_RETURN(Connector * conn, ctx.Destination());
  // remote_ref: "<named object>#keep=<K>".
  const std::string& ref = job.remote_ref();
  const size_t hash = ref.find("#keep=");
  const std::string name = ref.substr(0, hash);
  uint32_t keep = 14;
  if (hash != std::string::npos && !absl::SimpleAtoi(ref.substr(hash + 6), &keep)) keep = 14;
  keep = std::max<uint32_t>(keep, 1);
  const std::string prefix = snapshot::kStorePrefix;
  int64_t created = 0;
  if (name.compare(0, prefix.size(), prefix) != 0 ||
      !snapshot::ParseFileName(name.substr(prefix.size()), &created)) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot job ", job.job_id(), ": '", name,
                                                   "' is not a catalog snapshot name"));
  }
  const std::string file = name.substr(prefix.size());
  const std::string dir = snapshot::kDestinationDir;
  const std::string remote = absl::StrCat(dir, "/", file);
  ASSIGN_OR_RETURN(std::string sealed, ctx.chunks()->GetNamed(name));
  const Digest sha = Sha256::Of(sealed);

  RemoteObject put;
  absl::StatusOr<RemoteObject> have = conn->Stat(remote);
  if (have.ok() && have->size == sealed.size()) {
    put = *have;  // a retried job: already there
  } else if (!have.ok() && !absl::IsNotFound(have.status())) {
    return Annotate(have.status(), absl::StrCat("check ", remote, " at ", conn->Describe()));
  } else {
    PutRequest req;
    req.remote_path = remote;
    req.size = sealed.size();
    req.mtime_ns = created * 1000000;
    req.sha256 = DigestToString(sha);
    std::unique_ptr<ByteSource> src = MakeStringSource(sealed);
    ASSIGN_OR_RETURN(put, conn->Put(req, src.get(), [](const Progress&) {}));
  }

  // Keep the newest `keep` copies there (names sort by time).
  absl::StatusOr<std::vector<RemoteObject>> listed = conn->List(dir);
  if (listed.ok()) {
    std::vector<std::string> names;
    for (const RemoteObject& o : *listed) {
      const std::string base = o.remote_path.substr(o.remote_path.rfind('/') + 1);
      int64_t t = 0;
      if (snapshot::ParseFileName(base, &t)) names.push_back(o.remote_path);
    }
    std::sort(names.rbegin(), names.rend());
    for (size_t i = keep; i < names.size(); ++i) {
      absl::Status d = conn->Delete(names[i]);
      if (!d.ok())
        spdlog::warn("snapshot copy: could not delete old {} at {}: {}", names[i], conn->Describe(),
                     d.ToString());
    }
  } else {
    spdlog::warn("snapshot copy: could not list {} at {} to remove old copies: {}", dir,
                 conn->Describe(), listed.status().ToString());
  }

  v1::CompleteJobRequest done;
  done.set_remote_ref(put.ref.empty() ? remote : put.ref);
  done.set_remote_size(sealed.size());
  done.set_remote_checksum(put.checksum);
  return done;
}

}  // namespace shoebox::worker
