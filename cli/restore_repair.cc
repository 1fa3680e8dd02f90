#include "cli/restore_repair.h"

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"

namespace shoebox::cli {

namespace {

// Open damage as the coordinator knows it (a report-only verify: no scrub,
// nothing recorded as a run).
absl::StatusOr<v1::VerifyResponse> OpenDamage(AdminClient& client) {
  v1::VerifyRequest req;  // all zero: report only
  v1::VerifyResponse resp;
  auto ctx = client.Context();
  RETURN_IF_ERROR(FromGrpc(client.stub()->Verify(ctx.get(), req, &resp)));
  return resp;
}

}  // namespace

absl::StatusOr<RestoreReport> RestoreAfterRepair(AdminClient& client,
                                                 const std::vector<v1::FileVersion>& versions,
                                                 RestoreReport first, ChunkFetcher* fetcher,
                                                 const RestoreOptions& o, int wait_s,
                                                 std::FILE* out) {
  if (first.failures.empty()) return first;
  std::map<std::string, const v1::FileVersion*> by_path;
  for (const auto& v : versions) {
    absl::StatusOr<std::string> rel = RestoreTargetPath(v, o);
    if (rel.ok()) by_path[PrintablePath(*rel)] = &v;
  }
  absl::StatusOr<v1::VerifyResponse> dmg = OpenDamage(client);
  if (!dmg.ok()) return first;  // an older coordinator: keep the plain report
  std::map<std::string, const v1::DamagedChunk*> damaged;
  for (const auto& d : dmg->damaged()) damaged[d.id()] = &d;
  if (damaged.empty()) return first;

  // Which failed files need a damaged chunk, and can it be repaired?
  std::vector<const v1::FileVersion*> retry;
  std::set<std::string> waiting;  // chunks with a queued repair
  std::vector<RestoreFailure> kept;
  for (const auto& f : first.failures) {
    auto it = by_path.find(f.path);
    const v1::DamagedChunk* hit = nullptr;
    if (it != by_path.end()) {
      for (const auto& c : it->second->chunks()) {
        auto d = damaged.find(c.id());
        if (d != damaged.end()) {
          hit = d->second;
          if (hit->repair_queued()) waiting.insert(c.id());
        }
      }
    }
    if (hit == nullptr) {
      kept.push_back(f);
      continue;
    }
    std::string dests;
    for (const auto& af : hit->files()) {
      if (af.version_id() != it->second->version_id()) continue;
      for (const auto& n : af.destinations()) dests += (dests.empty() ? "" : ", ") + n;
    }
    std::fprintf(out, "  %s needs chunk %s, damaged in the chunk store: %s\n", f.path.c_str(),
                 ToHex(hit->id()).substr(0, 16).c_str(),
                 hit->repair_queued()
                     ? absl::StrCat("being repaired from a destination copy",
                                    dests.empty() ? "" : " (this file is at: " + dests + ")")
                           .c_str()
                     : "no destination holds a file with it; it cannot be repaired now");
    if (hit->repair_queued() && wait_s > 0) {
      retry.push_back(it->second);
    } else {
      kept.push_back(f);
    }
  }
  if (retry.empty()) return first;

  std::fprintf(out, "waiting up to %d s for %zu chunk repair(s) by the workers...\n", wait_s,
               waiting.size());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  for (;;) {
    absl::StatusOr<v1::VerifyResponse> now = OpenDamage(client);
    if (!now.ok()) break;
    bool pending = false;
    for (const auto& d : now->damaged()) pending = pending || waiting.count(d.id()) > 0;
    if (!pending) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      std::fprintf(out, "repairs not finished after %d s (is a worker serving the destination?)\n",
                   wait_s);
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  std::vector<v1::FileVersion> again;
  for (const auto* v : retry) again.push_back(*v);
  ASSIGN_OR_RETURN(RestoreReport second, RestoreVersions(again, fetcher, o));
  RestoreReport merged = first;
  merged.files_restored += second.files_restored;
  merged.files_skipped += second.files_skipped;
  merged.bytes_restored += second.bytes_restored;
  merged.failures = kept;
  for (auto& f : second.failures) merged.failures.push_back(std::move(f));
  std::fprintf(out, "after repair: %llu more files restored, %zu still failed\n",
               static_cast<unsigned long long>(second.files_restored), second.failures.size());
  return merged;
}

}  // namespace shoebox::cli
