#include "agent/control.h"

#include "agent/progress.h"
#include "agent/settle.h"
#include "agent/test_util.h"
#include "gtest/gtest.h"

namespace shoebox::agent {
namespace {

using testing::TempDir;
using testing::WriteFile;

TEST(ControlTest, PauseAndResumeOverrideTheConfig) {
  TempDir d;
  auto none = ReadControl(d.path());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(WriteControl(d.path(), true).ok());
  EXPECT_EQ(**ReadControl(d.path()), true);
  ASSERT_TRUE(WriteControl(d.path(), false).ok());
  EXPECT_EQ(**ReadControl(d.path()), false);
  WriteFile(d.path() + "/control", "maybe\n");
  EXPECT_EQ(ReadControl(d.path()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(WriteControl(d.path() + "/missing/dir", true).ok());
}

TEST(SettleTest, OldFileIsSettledAtOnce) {
  const int64_t s = 1000000000LL;
  FileStat st;
  st.mtime_ns = 100 * s;
  st.ctime_ns = 100 * s;
  EXPECT_LE(SettleDueNs(st, 500 * s, 10 * s), 500 * s);
}

TEST(SettleTest, RecentWriteWaitsForTheSettleTimeAfterTheLastChange) {
  const int64_t s = 1000000000LL;
  FileStat st;
  st.mtime_ns = 100 * s;
  st.ctime_ns = 103 * s;  // metadata changed later
  EXPECT_EQ(SettleDueNs(st, 104 * s, 10 * s), 113 * s);
}

TEST(SettleTest, FutureTimestampsFallBackToFirstSeen) {
  const int64_t s = 1000000000LL;
  FileStat st;
  st.mtime_ns = 10000 * s;  // a NAS clock far ahead
  st.ctime_ns = 10000 * s;
  EXPECT_EQ(SettleDueNs(st, 200 * s, 10 * s), 210 * s);
}

TEST(StatusFileTest, RoundTripsThroughJson) {
  TempDir d;
  StatusSnapshot s;
  s.state = "uploading";
  s.files_pending = 12;
  s.bytes_pending = 3456789;
  s.eta_seconds = 77;
  s.last_error = "coordinator refused \xff.jpg";
  s.chunks_uploaded = 5;
  ASSERT_TRUE(WriteStatusFile(d.path(), s).ok());
  auto r = ReadStatusFile(d.path());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, "uploading");
  EXPECT_EQ(r->files_pending, 12u);
  EXPECT_EQ(r->bytes_pending, 3456789u);
  EXPECT_EQ(r->eta_seconds, 77);
  EXPECT_EQ(r->chunks_uploaded, 5u);
  EXPECT_NE(r->ToText(r->updated_unix_ms).find("12 files"), std::string::npos);
  EXPECT_EQ(ReadStatusFile(d.path() + "/nope").status().code(), absl::StatusCode::kNotFound);
}

TEST(TokenBucketTest, UnlimitedNeverWaitsAndLimitedAccumulatesDebt) {
  TokenBucket unlimited(0);
  unlimited.Acquire(1ull << 40);  // returns at once
  TokenBucket b(1 << 20);
  EXPECT_EQ(b.rate(), 1u << 20);
  auto t0 = std::chrono::steady_clock::now();
  b.Acquire(256 * 1024);  // the initial burst covers this
  b.Acquire(256 * 1024);  // debt of 256 KiB at 1 MiB/s: waits ~0.25 s
  EXPECT_GT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));
}

TEST(HumanTest, BytesAndDurations) {
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(1500000), "1.5 MB");
  EXPECT_EQ(HumanDuration(59), "59s");
  EXPECT_EQ(HumanDuration(3725), "1h02m");
  EXPECT_EQ(HumanDuration(-1), "unknown");
}

}  // namespace
}  // namespace shoebox::agent
