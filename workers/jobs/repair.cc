#include "workers/jobs/repair.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/paths.h"
#include "common/status.h"

namespace shoebox::worker {

absl::Status RepairFromCopy(
    const v1::Job& job, Connector* conn, const std::string& remote_path,
    const std::function<absl::Status(const std::string&, std::string)>& send) {
  const v1::FileVersion& f = job.file();
  std::set<std::string> wanted(job.repair_chunk_ids().begin(), job.repair_chunk_ids().end());
  if (wanted.empty()) return absl::OkStatus();
  int index = 0;        // chunk being filled
  std::string current;  // its bytes so far (only kept when wanted)
  uint64_t filled = 0;  // bytes of the current chunk seen
  uint64_t total = 0;
  size_t sent = 0;
  auto want = [&](int i) { return i < f.chunks_size() && wanted.count(f.chunks(i).id()) > 0; };
  absl::Status st = conn->Get(remote_path, [&](std::string_view data) -> absl::Status {
    total += data.size();
    while (!data.empty()) {
      if (index >= f.chunks_size()) {
        return absl::DataLossError(absl::StrCat(PrintablePath(remote_path), " at ",
                                                conn->Describe(), " is longer than the catalog's ",
                                                f.size(), " bytes"));
      }
      const uint64_t size = f.chunks(index).size();
      const size_t take = static_cast<size_t>(std::min<uint64_t>(size - filled, data.size()));
      if (want(index)) current.append(data.data(), take);
      filled += take;
      data.remove_prefix(take);
      if (filled == size) {
        if (want(index)) {
          const std::string id = f.chunks(index).id();
          RETURN_IF_ERROR(send(id, std::move(current)));
          wanted.erase(id);  // a chunk listed twice in a file is sent once
          ++sent;
        }
        current.clear();
        filled = 0;
        ++index;
      }
    }
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(Annotate(st, absl::StrCat("fetch ", PrintablePath(remote_path), " from ",
                                            conn->Describe(), " to repair chunks")));
  if (total != f.size()) {
    return absl::DataLossError(absl::StrCat(PrintablePath(remote_path), " at ", conn->Describe(),
                                            " has ", total, " bytes, the catalog's file ", f.size(),
                                            "; it cannot repair chunks"));
  }
  if (!wanted.empty()) {
    return absl::InternalError(absl::StrCat(
        wanted.size(), " chunk(s) to repair are not in the file of job ", job.job_id()));
  }
  (void)sent;
  return absl::OkStatus();
}

}  // namespace shoebox::worker
