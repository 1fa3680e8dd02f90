#include "coordinator/upload_claims.h"

#include <gtest/gtest.h>

namespace shoebox::coordinator {
namespace {

const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);

TEST(UploadClaims, TheFirstDeviceToNeedAChunkSendsItAndTheOtherIsNotAsked) {
  UploadClaims c;
  EXPECT_EQ(c.Claim(1, {"a", "b"}, t0), (std::vector<bool>{true, true}));
  EXPECT_EQ(c.Claim(2, {"b", "c"}, t0 + absl::Seconds(1)), (std::vector<bool>{false, true}));
  // The claimant reporting again (a restart, a re-read) keeps its claims.
  EXPECT_EQ(c.Claim(1, {"a", "b", "c"}, t0 + absl::Seconds(2)),
            (std::vector<bool>{true, true, false}));
}

// The claim answers "is this chunk known and missing, with which size" for
// its claimant's upload only, and only while it is live.
TEST(UploadClaims, OnlyTheClaimantsLiveClaimAnswersForTheUpload) {
  UploadClaims c({.ttl = absl::Seconds(60), .max_age = absl::Minutes(15)});
  const std::vector<uint32_t> sizes{1000, 2000};
  c.Claim(1, {"a", "b"}, t0, &sizes);
  c.Claim(1, {"c"}, t0);  // size not known: the upload asks the database
  uint32_t size = 0;
  EXPECT_TRUE(c.ClaimedBy(1, "b", t0 + absl::Seconds(1), &size));
  EXPECT_EQ(size, 2000u);
  EXPECT_FALSE(c.ClaimedBy(2, "b", t0 + absl::Seconds(1), &size));  // another device
  EXPECT_FALSE(c.ClaimedBy(1, "c", t0 + absl::Seconds(1), &size));  // no size
  EXPECT_FALSE(c.ClaimedBy(1, "z", t0 + absl::Seconds(1), &size));  // never claimed
  c.Stored(1, "a", t0 + absl::Seconds(2));
  EXPECT_FALSE(c.ClaimedBy(1, "a", t0 + absl::Seconds(2), &size));   // stored: claim over
  EXPECT_TRUE(c.ClaimedBy(1, "b", t0 + absl::Seconds(61), &size));   // renewed by the store at 2 s
  EXPECT_FALSE(c.ClaimedBy(1, "b", t0 + absl::Seconds(63), &size));  // lapsed
  c.Release("b");
  EXPECT_FALSE(c.ClaimedBy(1, "b", t0 + absl::Seconds(3), &size));
}

TEST(UploadClaims, AStoredOrRefusedChunkCanBeClaimedAgain) {
  UploadClaims c;
  c.Claim(1, {"a", "b"}, t0);
  c.Stored(1, "a", t0 + absl::Seconds(1));
  c.Release("b");
  EXPECT_EQ(c.Claim(2, {"a", "b"}, t0 + absl::Seconds(2)), (std::vector<bool>{true, true}));
  EXPECT_EQ(c.size(), 2u);
}

TEST(UploadClaims, AQuietClaimantLosesItsClaimsAfterTheTtl) {
  UploadClaims c({.ttl = absl::Seconds(60), .max_age = absl::Minutes(15)});
  c.Claim(1, {"a"}, t0);
  EXPECT_EQ(c.Claim(2, {"a"}, t0 + absl::Seconds(59)), std::vector<bool>{false});
  EXPECT_EQ(c.Claim(2, {"a"}, t0 + absl::Seconds(60)), std::vector<bool>{true});
  // Now device 2 holds it.
  EXPECT_EQ(c.Claim(1, {"a"}, t0 + absl::Seconds(61)), std::vector<bool>{false});
}

TEST(UploadClaims, AClaimantThatKeepsStoringKeepsItsClaimsUpToMaxAge) {
  UploadClaims c({.ttl = absl::Seconds(60), .max_age = absl::Minutes(15)});
  c.Claim(1, {"a", "big-video-chunk"}, t0);
  for (int s = 50; s < 15 * 60; s += 50) {
    c.Stored(1, "other" + std::to_string(s), t0 + absl::Seconds(s));
    ASSERT_EQ(c.Claim(2, {"big-video-chunk"}, t0 + absl::Seconds(s + 1)), std::vector<bool>{false})
        << s;
  }
  // Even a busy claimant gives a chunk up after max_age (it may never send
  // it: its file changed and was read again).
  EXPECT_EQ(c.Claim(2, {"big-video-chunk"}, t0 + absl::Minutes(15)), std::vector<bool>{true});
}

TEST(UploadClaims, BeyondTheLimitChunksAreNotClaimedSoEveryDeviceSendsThem) {
  UploadClaims c({.ttl = absl::Seconds(60), .max_age = absl::Minutes(15), .max_claims = 2});
  EXPECT_EQ(c.Claim(1, {"a", "b", "c"}, t0), (std::vector<bool>{true, true, true}));
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.Claim(2, {"a", "c"}, t0), (std::vector<bool>{false, true}));
  // Expired claims are swept, making room again.
  EXPECT_EQ(c.Claim(2, {"d"}, t0 + absl::Seconds(61)), std::vector<bool>{true});
  EXPECT_EQ(c.size(), 1u);
}

}  // namespace
}  // namespace shoebox::coordinator
