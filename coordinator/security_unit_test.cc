// Issue 17 without a network or database: hostile values a compromised
// device sends (setuid modes, oversized requests) and how the catalog and
// the request checks treat them. The same attacks over TLS against a real
// PostgreSQL are in tests/coordinator/abuse_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/server_context.h>

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

// Issue 18 (a clock that jumps): the refill came from now - last, so a
// wall clock stepped back 1 h left every caller's bucket 3 600 s x rate in
// debt, refused for an hour.
absl::Time steppable_now = absl::FromUnixSeconds(1'800'000'000);
absl::Time SteppableClock() { return steppable_now; }

TEST(RateLimiterTest, AClockSteppedBackDoesNotEmptyTheBuckets) {
  RateLimiter limiter(100, SteppableClock);
  bool first = false;
  EXPECT_TRUE(limiter.Admit("worker|w1", 10, 20, &first));
  steppable_now -= absl::Hours(1);
  EXPECT_TRUE(limiter.Admit("worker|w1", 10, 20, &first)) << "admitted at once";
  for (int i = 0; i < 18; ++i) EXPECT_TRUE(limiter.Admit("worker|w1", 10, 20, &first)) << i;
  EXPECT_FALSE(limiter.Admit("worker|w1", 10, 20, &first)) << "the burst still limits";
  steppable_now += absl::Seconds(1);
  EXPECT_TRUE(limiter.Admit("worker|w1", 10, 20, &first)) << "refilled from the new time";
}

// The gate (issue 17 item 6): a method without a rule is refused whoever
// calls; a handler that asks without a decision is refused; a refusal no
// handler used is handed back for the interceptor to send.
TEST(AuthorisationGate, AMethodWithoutARuleIsRefusedForEveryone) {
  Authenticator auth(/*insecure_dev=*/true, nullptr);
  grpc::ServerContext ctx;
  auth.Decide(ctx, "/shoebox.v1.AgentService/AddedLaterWithoutARule");
  absl::StatusOr<Caller> c = auth.Decision(&ctx);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(c.status().message().find("no authorisation rule"), std::string::npos) << c.status();
  EXPECT_FALSE(auth.Forget(&ctx).has_value()) << "the handler used the refusal";

  grpc::ServerContext unasked;
  auth.Decide(unasked, "/shoebox.v1.AdminService/NoSuchThing");
  std::optional<absl::Status> unused = auth.Forget(&unasked);
  ASSERT_TRUE(unused.has_value()) << "a handler that never asked gets the refusal sent";
  EXPECT_EQ(unused->code(), absl::StatusCode::kPermissionDenied);

  grpc::ServerContext undecided;
  EXPECT_EQ(auth.Decision(&undecided).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(AuthorisationGate, EveryRuleHasOneRoleAndNoMethodTwoRules) {
  std::set<std::string> seen;
  for (const MethodRule& r : MethodRules()) {
    EXPECT_TRUE(seen.insert(r.method).second) << r.method;
    EXPECT_EQ(FindMethodRule(r.method), &r);
    EXPECT_EQ(std::string(r.method).rfind('/'), std::string(r.method).find('/', 1)) << r.method;
  }
  EXPECT_EQ(FindMethodRule("/shoebox.v1.AgentService/hello"), nullptr) << "exact names only";
  // Identity methods are never open to anonymous callers.
  EXPECT_EQ(FindMethodRule("/shoebox.v1.WorkerService/LeaseJobs")->access, Access::kWorker);
  EXPECT_EQ(FindMethodRule("/shoebox.v1.AdminService/ReadChunks")->access, Access::kAdmin);
  EXPECT_EQ(FindMethodRule("/shoebox.v1.AgentService/ReadChunks")->access, Access::kDevice);
}

}  // namespace
}  // namespace shoebox::coordinator
