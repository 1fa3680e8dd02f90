// Issue 17 without a network or database: hostile values a compromised
// device sends (setuid modes, oversized requests) and how the catalog and
// the request checks treat them. The same attacks over TLS against a real
// PostgreSQL are in tests/coordinator/abuse_test.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
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

}  // namespace
}  // namespace shoebox::coordinator
