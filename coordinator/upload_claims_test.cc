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
  EXPECT_EQ(c.Claim(1, {"a", "b", "c"}, t0 + absl::Seconds(2)), (std::vector<bool>{true, true, false}));
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
    ASSERT_EQ(c.Claim(2, {"big-video-chunk"}, t0 + absl::Seconds(s + 1)), std::vector<bool>{false}) << s;
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
