#include "coordinator/retention_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace shoebox::coordinator {

namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr uint32_t kMaxDays = 36500;
constexpr uint32_t kMaxCount = 100000;

absl::CivilDay ToDay(int64_t unix_ms) {
  return absl::ToCivilDay(absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

}  // namespace

absl::Status ValidateRetentionPolicy(const RetentionPolicy& p) {
  struct Field {
    const char* name;
    uint32_t value, max;
  };
  for (const Field& f : {Field{"keep_all_days", p.keep_all_days, kMaxDays},
                         Field{"deleted_keep_days", p.deleted_keep_days, kMaxDays},
                         Field{"keep_daily", p.keep_daily, kMaxCount},
                         Field{"keep_weekly", p.keep_weekly, kMaxCount},
                         Field{"keep_monthly", p.keep_monthly, kMaxCount},
                         Field{"keep_yearly", p.keep_yearly, kMaxCount}}) {
    if (f.value > f.max) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.name, ": ", f.value, " is more than the limit of ", f.max));
    }
  }
  return absl::OkStatus();
}

std::string DescribeRetentionPolicy(const RetentionPolicy& p) {
  return absl::StrCat("keep all ", p.keep_all_days, " days, then ", p.keep_daily, " daily, ",
                      p.keep_weekly, " weekly, ", p.keep_monthly, " monthly, ", p.keep_yearly,
                      " yearly; deleted files ", p.deleted_keep_days, " days",
                      p.pass_through ? "; pass-through" : "");
}

int64_t DayBucket(int64_t unix_ms) {
  // Floor division: times before 1970 land in the right day too.
  return unix_ms >= 0 ? unix_ms / kDayMs : -((-unix_ms + kDayMs - 1) / kDayMs);
}

int64_t WeekBucket(int64_t unix_ms) {
  absl::CivilDay d = ToDay(unix_ms);
  // ISO 8601: the week belongs to the year of its Thursday.
  const int wd = (static_cast<int>(absl::GetWeekday(d)) + 7) % 7;  // Monday 0 .. Sunday 6
  absl::CivilDay thursday = d - wd + 3;
  const int64_t iso_year = thursday.year();
  const int week = (absl::GetYearDay(thursday) - 1) / 7 + 1;
  return iso_year * 100 + week;
}

int64_t MonthBucket(int64_t unix_ms) {
  absl::CivilDay d = ToDay(unix_ms);
  return d.year() * 100 + d.month();
}

int64_t YearBucket(int64_t unix_ms) { return ToDay(unix_ms).year(); }

RetentionDecision DecideRetention(const RetentionPolicy& p, const FileFacts& file,
                                  int64_t now_unix_ms) {
  RetentionDecision out;
  std::vector<VersionFacts> vs = file.versions;
  // Newest first; the ID breaks ties (IDs grow with time).
  std::sort(vs.begin(), vs.end(), [](const VersionFacts& a, const VersionFacts& b) {
    if (a.created_unix_ms != b.created_unix_ms) return a.created_unix_ms > b.created_unix_ms;
    return a.id > b.id;
  });
  if (file.deleted_unix_ms != 0 &&
      file.deleted_unix_ms <= now_unix_ms - int64_t{p.deleted_keep_days} * kDayMs) {
    for (const VersionFacts& v : vs) out.remove.push_back(v.id);
    std::sort(out.remove.begin(), out.remove.end());
    out.forget_file = !out.remove.empty();
    return out;
  }
  std::vector<KeepReason> why(vs.size(), KeepReason::kRemove);
  int64_t newest_complete = 0;
  for (const VersionFacts& v : vs) {
    if (v.complete) {
      newest_complete = v.id;
      break;
    }
  }
  const int64_t keep_all_from = now_unix_ms - int64_t{p.keep_all_days} * kDayMs;
  struct Rule {
    uint32_t left;
    int64_t (*bucket)(int64_t);
    bool has_last = false;
    int64_t last = 0;
  };
  Rule rules[] = {{p.keep_daily, DayBucket},
                  {p.keep_weekly, WeekBucket},
                  {p.keep_monthly, MonthBucket},
                  {p.keep_yearly, YearBucket}};
  for (size_t i = 0; i < vs.size(); ++i) {
    const VersionFacts& v = vs[i];
    if (v.id == file.current_version_id) {
      why[i] = KeepReason::kCurrent;
    } else if (v.id == newest_complete) {
      why[i] = KeepReason::kNewestComplete;
    } else if (v.created_unix_ms >= keep_all_from) {
      why[i] = KeepReason::kWithinKeepAll;
    }
    // Bucket rules see the complete versions older than the window (kept
    // ones too, so that the newest of each bucket is the one counted).
    if (v.created_unix_ms >= keep_all_from || !v.complete) continue;
    for (Rule& r : rules) {
      if (r.left == 0) continue;
      const int64_t key = r.bucket(v.created_unix_ms);
      if (r.has_last && key == r.last) continue;
      r.has_last = true;
      r.last = key;
      --r.left;
      if (why[i] == KeepReason::kRemove) why[i] = KeepReason::kBucket;
    }
  }
  for (size_t i = 0; i < vs.size(); ++i) {
    (why[i] == KeepReason::kRemove ? out.remove : out.keep).push_back(vs[i].id);
  }
  std::sort(out.keep.begin(), out.keep.end());
  std::sort(out.remove.begin(), out.remove.end());
  return out;
}

}  // namespace shoebox::coordinator
