// Issue 17 without a network or database: hostile values a compromised
// device sends (setuid modes, oversized requests) and how the catalog and
// the request checks treat them. The same attacks over TLS against a real
// PostgreSQL are in tests/coordinator/abuse_test.cc.
#include <gtest/gtest.h>

#include <atomic>

#include <string>
#include <vector>

#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "coordinator/auth.h"
#include "coordinator/catalog.h"
#include "coordinator/metrics.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {
namespace {

namespace pb = shoebox::v1;

class CatalogAbuseTest : public ::testing::Test {
 protected:
  CatalogAbuseTest()
      : keys_(DeriveKeys(Key256{7, 7, 7})),
        sealed_(&blobs_, keys_.data_key),
        catalog_(&store_, &verify_, &sealed_, keys_, Limits(), &metrics_) {}

  void Hello(const std::string& device) {
    pb::HelloRequest req;
    req.add_folders("/home/a");
    ASSERT_TRUE(catalog_.Hello(device, req).ok());
  }

  DerivedKeys keys_;
  FakeChunkStore blobs_;
  SealedChunkStore sealed_;
  FakeCatalogStore store_;
  FakeVerifyStore verify_;
  Metrics metrics_;
  Catalog catalog_;
};

TEST_F(CatalogAbuseTest, SetuidSetgidAndStickyBitsFromADeviceAreNotStored) {
  Hello("laptop");
  pb::ReportFilesRequest req;
  pb::FileReport* f = req.add_files();
  f->set_folder("/home/a");
  f->set_path("tool");
  f->set_op(pb::FileReport::OP_UPSERT);
  f->set_sha256(std::string(32, 's'));
  f->set_size(0);
  f->set_mode(07755);  // setuid, setgid, sticky, rwxr-xr-x
  auto r = catalog_.ReportFiles("laptop", req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->results_size(), 1);
  ASSERT_EQ(r->results(0).code(), 0) << r->results(0).message();
  auto versions = catalog_.ListVersions("laptop", pb::ListVersionsRequest());
  ASSERT_TRUE(versions.ok()) << versions.status();
  ASSERT_EQ(versions->versions_size(), 1);
  EXPECT_EQ(versions->versions(0).mode(), 0755u);
}

// Issue 17: the limiter table used to be cleared wholesale at 100 000 keys,
// so a flood of new peer addresses reset every caller's limit, the enroll
// limit included.
// A clock that moves 1 microsecond per reading: the 150 000 calls below
// span 0.15 s whatever the machine's load (on the real clock a loaded
// machine takes seconds, which refills the attacker's bucket).
absl::Time TickingClock() {
  static std::atomic<int64_t> ticks{0};
  return absl::FromUnixSeconds(1'800'000'000) + absl::Microseconds(ticks++);
}

TEST(RateLimiterTest, AFloodOfNewKeysDoesNotResetAnActiveCallersLimit) {
  RateLimiter limiter(100000, TickingClock);  // the production bound
  bool first = false;
  // The attacker uses up its burst (1/s, bursts of 2).
  EXPECT_TRUE(limiter.Admit("anon|ipv4:10.0.0.1", 1, 2, &first));
  EXPECT_TRUE(limiter.Admit("anon|ipv4:10.0.0.1", 1, 2, &first));
  EXPECT_FALSE(limiter.Admit("anon|ipv4:10.0.0.1", 1, 2, &first));
  // 150 000 other addresses (each a single call), the attacker retrying
  // throughout.
  for (int i = 0; i < 150000; ++i) {
    limiter.Admit("anon|ipv6:[2001:db8::" + std::to_string(i) + "]", 1, 2, &first);
    if (i % 1000 == 0) {
      EXPECT_FALSE(limiter.Admit("anon|ipv4:10.0.0.1", 1, 2, &first)) << i;
    }
  }
  EXPECT_FALSE(limiter.Admit("anon|ipv4:10.0.0.1", 1, 2, &first)) << "still limited";
  EXPECT_LE(limiter.size(), 100000u) << "memory stays bounded";
}

TEST(RateLimiterTest, RefilledBucketsAreForgottenFirst) {
  RateLimiter limiter(10);
  bool first = false;
  // Nine callers at a huge rate: their buckets are full again at once.
  for (int i = 0; i < 9; ++i) limiter.Admit("fast" + std::to_string(i), 1e9, 1, &first);
  // One slow caller out of tokens.
  EXPECT_TRUE(limiter.Admit("slow", 0.001, 1, &first));
  EXPECT_FALSE(limiter.Admit("slow", 0.001, 1, &first));
  // A newcomer pushes the table over its bound: the full buckets go.
  EXPECT_TRUE(limiter.Admit("new", 1, 1, &first));
  EXPECT_LE(limiter.size(), 10u);
  EXPECT_FALSE(limiter.Admit("slow", 0.001, 1, &first)) << "the slow caller kept its state";
}

}  // namespace
}  // namespace shoebox::coordinator
