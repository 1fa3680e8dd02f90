// An Admin over in-memory stores (coordinator/store/fake_stores.h), shared
// by the unit tests of Admin's calls (admin_test.cc,
// admin_destinations_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "common/crypto/keys.h"
#include "coordinator/admin.h"
#include "coordinator/metrics.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {

class AdminFixture : public ::testing::Test {
 protected:
  AdminFixture()
      : keys_(DeriveKeys(Key256{9})),
        sealed_(&blobs_, keys_.data_key),
        catalog_(&catalog_store_, &verify_, &sealed_, keys_, Limits(), &metrics_),
        admin_(Stores(), &catalog_, Limits()) {}

  AdminStores Stores() {
    AdminStores s;
    s.catalog = &catalog_store_;
    s.destinations = &destinations_;
    s.queue = &queue_;
    s.status = &status_;
    s.identity = &identity_;
    s.verify = &verify_;
    return s;
  }

  // The newest audit entries first.
  std::vector<AuditEntry> Audit() { return *identity_.RecentAudit(100); }

  DerivedKeys keys_;
  FakeChunkStore blobs_;
  SealedChunkStore sealed_;
  FakeCatalogStore catalog_store_;
  FakeDestinationStore destinations_;
  FakeQueueStore queue_;
  FakeStatusStore status_;
  FakeIdentityStore identity_;
  FakeVerifyStore verify_;
  Metrics metrics_;
  Catalog catalog_;
  Admin admin_;
};

}  // namespace shoebox::coordinator
