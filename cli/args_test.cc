#include "cli/args.h"

#include "gtest/gtest.h"

namespace shoebox::cli {
namespace {

TEST(ParseAt, EmptyIsNow) { EXPECT_EQ(*ParseAt(""), 0); }

TEST(ParseAt, DigitsAreUnixMilliseconds) { EXPECT_EQ(*ParseAt("1700000000000"), 1700000000000); }

TEST(ParseAt, Rfc3339InUtc) { EXPECT_EQ(*ParseAt("2026-11-26T18:00:00Z"), 1795716000000); }

TEST(ParseAt, LocalDateForms) {
  EXPECT_TRUE(ParseAt("2026-11-26").ok());
  EXPECT_TRUE(ParseAt("2026-11-26 18:00").ok());
  EXPECT_TRUE(ParseAt("2026-11-26 18:00:30").ok());
  EXPECT_EQ(*ParseAt("2026-11-26 18:00:30") - *ParseAt("2026-11-26 18:00"), 30000);
}

TEST(ParseAt, GarbageIsInvalidArgumentNamingTheValue) {
  auto at = ParseAt("yesterday");
  ASSERT_EQ(at.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(at.status().message().find("--at 'yesterday'"), std::string::npos);
}

TEST(ParseAt, TooManyDigitsIsAnErrorNotACrash) {
  EXPECT_EQ(ParseAt("99999999999999999999999").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseTtl, Units) {
  EXPECT_EQ(*ParseTtl("24h"), 86400u);
  EXPECT_EQ(*ParseTtl("90m"), 5400u);
  EXPECT_EQ(*ParseTtl("3600s"), 3600u);
  EXPECT_EQ(*ParseTtl("2d"), 172800u);
  EXPECT_EQ(*ParseTtl("3600"), 3600u);
  EXPECT_EQ(*ParseTtl("30d"), 30u * 86400);
}

TEST(ParseTtl, RefusesZeroEmptyTooLongAndGarbage) {
  for (const char* bad : {"", "0", "0h", "31d", "h", "1w", "-1h", "abc"}) {
    EXPECT_EQ(ParseTtl(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(JobState, NamesRoundTrip) {
  for (const char* name : {"queued", "leased", "done", "retry", "dead", "cancelled"}) {
    auto st = ParseJobState(name);
    ASSERT_TRUE(st.ok()) << name;
    EXPECT_EQ(JobStateName(*st), name);
  }
  EXPECT_EQ(ParseJobState("running").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JobStateName(v1::JOB_STATE_UNSPECIFIED), "?");
}

TEST(ParseKeyValues, SplitsAtTheFirstEqualsSign) {
  auto m = ParseKeyValues({"path=/srv/a", "url=http://x/?a=b", "path=/srv/b"}, "--set");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->at("path"), "/srv/b");
  EXPECT_EQ(m->at("url"), "http://x/?a=b");
}

TEST(ParseKeyValues, RefusesMissingKeyOrEqualsSign) {
  auto m = ParseKeyValues({"novalue"}, "--secret");
  ASSERT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("--secret 'novalue'"), std::string::npos);
  EXPECT_FALSE(ParseKeyValues({"=x"}, "--set").ok());
}

TEST(FormatTime, ZeroIsNever) {
  EXPECT_EQ(FormatTime(0), "never");
  EXPECT_EQ(FormatTime(-5), "never");
  EXPECT_EQ(FormatTime(1700000000000).size(), 19u);
}

}  // namespace
}  // namespace shoebox::cli
