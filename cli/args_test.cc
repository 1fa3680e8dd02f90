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
  for (const char* name : {"pending", "in-flight", "delivered", "retrying", "dead", "cancelled"}) {
    auto st = ParseJobState(name);
    ASSERT_TRUE(st.ok()) << name;
    EXPECT_EQ(JobStateName(*st), name);
  }
  EXPECT_EQ(JobStateNames(), "pending, in-flight, delivered, retrying, dead, cancelled");
  EXPECT_EQ(JobStateName(v1::JOB_STATE_UNSPECIFIED), "?");
}

TEST(JobState, StatusWordsAndOlderNamesAreAccepted) {
  // `status` says "delivered", "in flight", "failed"; older releases took
  // queued/leased/done/retry: every one of them selects the same state.
  const std::vector<std::pair<std::string, v1::JobState>> cases = {
      {"queued", v1::JOB_STATE_QUEUED},     {"leased", v1::JOB_STATE_LEASED},
      {"in flight", v1::JOB_STATE_LEASED},  {"in_flight", v1::JOB_STATE_LEASED},
      {"done", v1::JOB_STATE_DONE},         {"Delivered", v1::JOB_STATE_DONE},
      {"retry", v1::JOB_STATE_RETRY_WAIT},  {"failed", v1::JOB_STATE_RETRY_WAIT},
      {"canceled", v1::JOB_STATE_CANCELLED}};
  for (const auto& [name, state] : cases) {
    auto st = ParseJobState(name);
    ASSERT_TRUE(st.ok()) << name;
    EXPECT_EQ(*st, state) << name;
  }
}

TEST(JobState, UnknownNameListsTheNames) {
  auto st = ParseJobState("running");
  ASSERT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.status().message(),
            "--state 'running': not a job state; use pending, in-flight, delivered, retrying, "
            "dead, cancelled");
}

TEST(CatalogPath, RelativePathsLoseTrailingAndDoubledSlashes) {
  for (const char* p : {"2024/", "2024", "./2024/", "2024//", "2024/."}) {
    auto r = ResolveCatalogPath("laptop", p, "", {});
    ASSERT_TRUE(r.ok()) << p;
    EXPECT_EQ(r->path, "2024") << p;
    EXPECT_EQ(r->folder, "");
    EXPECT_EQ(r->note, "");
  }
  EXPECT_EQ(ResolveCatalogPath("laptop", "a//b/./c.jpg", "/f/", {})->path, "a/b/c.jpg");
  EXPECT_EQ(ResolveCatalogPath("laptop", "a//b/./c.jpg", "/f/", {})->folder, "/f");
  EXPECT_EQ(ResolveCatalogPath("laptop", "", "", {})->path, "");
  EXPECT_FALSE(NeedsDeviceFolders("DCIM/a.jpg"));
  EXPECT_TRUE(NeedsDeviceFolders("/home/ann/Pictures/a.jpg"));
}

TEST(CatalogPath, AbsolutePathMapsThroughTheLongestFolderRoot) {
  const std::vector<std::string> roots = {"/home/ann", "/home/ann/Pictures", "/mnt/camera"};
  auto r = ResolveCatalogPath("laptop", "/home/ann/Pictures/2024/IMG_1.jpg", "", roots);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->folder, "/home/ann/Pictures");
  EXPECT_EQ(r->path, "2024/IMG_1.jpg");
  EXPECT_EQ(r->note,
            "/home/ann/Pictures/2024/IMG_1.jpg is '2024/IMG_1.jpg' in folder /home/ann/Pictures "
            "of device laptop");
  // A directory with a trailing slash, and the root itself.
  EXPECT_EQ(ResolveCatalogPath("laptop", "/mnt/camera/DCIM/", "", roots)->path, "DCIM");
  auto root = ResolveCatalogPath("laptop", "/mnt/camera", "", roots);
  EXPECT_EQ(root->folder, "/mnt/camera");
  EXPECT_EQ(root->path, "");
  // "/home/annex" is not inside "/home/ann".
  auto outside = ResolveCatalogPath("laptop", "/home/annex/a.jpg", "", roots);
  ASSERT_EQ(outside.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(outside.status().message().find("/home/ann, /home/ann/Pictures, /mnt/camera"),
            std::string::npos)
      << outside.status();
  EXPECT_EQ(ResolveCatalogPath("laptop", "/x", "", {}).status().code(),
            absl::StatusCode::kNotFound);
  // --folder must agree with the mapping.
  EXPECT_TRUE(
      ResolveCatalogPath("laptop", "/home/ann/Pictures/a", "/home/ann/Pictures/", roots).ok());
  EXPECT_EQ(
      ResolveCatalogPath("laptop", "/home/ann/Pictures/a", "/mnt/camera", roots).status().code(),
      absl::StatusCode::kInvalidArgument);
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
