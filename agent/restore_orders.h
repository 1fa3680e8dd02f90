// Restore requests carried out on the device (issue 22, docs/agent.md
// "Restore requests"). The coordinator hands them out in HeartbeatResponse
// .restores; the sender thread runs each one between upload rounds:
//
//   1. the version (ListVersions of this device's folder and path, all
//      versions) and its chunks (ReadChunks: the agent reads only its own
//      device's files);
//   2. the target: the original path when nothing is there (or the same
//      content already is); beside it as "NAME (restored YYYY-MM-DD).ext"
//      when a different file is there now. Nothing is ever overwritten: the
//      final rename refuses an existing name (RENAME_NOREPLACE);
//   3. written to ".NAME.shoebox-restore-PID" in the target directory,
//      SHA-256 checked against the catalog before the rename, fsynced, given
//      the version's mtime and mode, then renamed;
//   4. ReportRestore (done with the path written, or failed with a reason);
//   5. the file is recorded in the agent's index and outbox with the
//      version's content and chunks, so the scanner sees it as known, the
//      coordinator matches it with the existing version (no new upload).
//
// Not thread-safe: one caller (the sender thread).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agent/client.h"
#include "agent/scanner.h"
#include "agent/state_db.h"
#include "shoebox/v1/agent.pb.h"

namespace shoebox::agent {

struct RestoreOutcome {
  bool ok = false;
  std::string reason;         // when !ok: what failed, on which file, what to do
  std::string restored_path;  // relative to the folder
};

// "2024/IMG_1.jpg" → "2024/IMG_1 (restored 2026-12-08).jpg"; n > 1 adds
// " n" inside the parentheses. `day` is "YYYY-MM-DD".
std::string BesideName(const std::string& rel, const std::string& day, int n);

class RestoreRunner {
 public:
  // Borrows everything; all must outlive the runner.
  RestoreRunner(StateDb* db, CoordinatorClient* client,
                const std::vector<std::unique_ptr<Folder>>* folders,
                std::chrono::seconds rpc_timeout)
      : db_(db), client_(client), folders_(folders), rpc_timeout_(rpc_timeout) {}

  // Does one order and reports it. Returns the report's error when the
  // coordinator could not be reached (the order comes again with the next
  // heartbeat; a finished restore is then recognised and reported).
  absl::Status Run(const v1::RestoreOrder& order);

  // Steps 1-3 (and 5) without the report.
  RestoreOutcome Restore(const v1::RestoreOrder& order);

 private:
  absl::StatusOr<v1::FileVersion> FindVersion(const Folder& f, const v1::RestoreOrder& o);
  // Writes `v` to dir_fd/final_name through a temp file; ALREADY_EXISTS when
  // final_name appeared meanwhile (nothing replaced).
  absl::Status WriteVersion(int dir_fd, const std::string& final_name, const v1::FileVersion& v);

  StateDb* const db_;
  CoordinatorClient* const client_;
  const std::vector<std::unique_ptr<Folder>>* const folders_;
  const std::chrono::seconds rpc_timeout_;
};

}  // namespace shoebox::agent
