// Retention policy of a folder and the pure decision which versions of one
// file it keeps (docs/retention.md). No database, no clock: callers pass
// `now`, so tests pin every edge with fixed timestamps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace shoebox::coordinator {

struct RetentionPolicy {
  // Every version younger than this is kept.
  uint32_t keep_all_days = 30;
  // Then, among the complete versions older than the keep-all window, the
  // newest version of each of the N most recent UTC days / ISO weeks /
  // months / years that have one (like `restic forget --keep-daily` ...).
  uint32_t keep_daily = 7;
  uint32_t keep_weekly = 5;
  uint32_t keep_monthly = 12;
  uint32_t keep_yearly = 10;
  // A deleted file's versions are all removed this long after the delete.
  uint32_t deleted_keep_days = 90;
  // Chunks are dropped once every bound destination has the version.
  bool pass_through = false;

  bool operator==(const RetentionPolicy&) const = default;
};

// The defaults a folder without a policy of its own follows.
inline RetentionPolicy DefaultRetentionPolicy() { return RetentionPolicy{}; }

// INVALID_ARGUMENT naming the field when a value is out of range
// (days up to 36500, counts up to 100000).
absl::Status ValidateRetentionPolicy(const RetentionPolicy& p);

// "keep all 30 days, then 7 daily, 5 weekly, 12 monthly, 10 yearly; deleted files 90 days"
std::string DescribeRetentionPolicy(const RetentionPolicy& p);

struct VersionFacts {
  int64_t id = 0;
  int64_t created_unix_ms = 0;
  bool complete = false;
};

struct FileFacts {
  // Every version of the file, any order.
  std::vector<VersionFacts> versions;
  // The file's current version (0: none).
  int64_t current_version_id = 0;
  // When the file was reported deleted (0: it exists).
  int64_t deleted_unix_ms = 0;
};

enum class KeepReason { kRemove, kCurrent, kNewestComplete, kWithinKeepAll, kBucket };

struct RetentionDecision {
  std::vector<int64_t> keep;    // ascending
  std::vector<int64_t> remove;  // ascending
  // Every version is removed: a deleted file past deleted_keep_days.
  bool forget_file = false;
};

// Rules, in order:
// 1. A deleted file deleted at least deleted_keep_days ago: remove all
//    (0 days: at the next prune).
// 2. The current version is kept; so is the newest complete version (when
//    the current one still waits for chunks, the previous stays restorable).
// 3. Versions created within keep_all_days of `now` are kept.
// 4. Of the complete versions older than that, walking newest to oldest,
//    each bucket rule keeps a version whose day/week/month/year differs from
//    the last one that rule kept, until its count is used up.
// 5. Everything else is removed (including old versions that never got all
//    their chunks).
RetentionDecision DecideRetention(const RetentionPolicy& p, const FileFacts& file,
                                  int64_t now_unix_ms);

// Bucket keys (UTC), exposed for tests: days since the epoch; ISO week
// (Monday-based) as ISO-year * 100 + week; year * 100 + month; year.
int64_t DayBucket(int64_t unix_ms);
int64_t WeekBucket(int64_t unix_ms);
int64_t MonthBucket(int64_t unix_ms);
int64_t YearBucket(int64_t unix_ms);

}  // namespace shoebox::coordinator
