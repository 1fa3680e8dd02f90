// The one PostgreSQL environment of the test binaries: a private cluster
// (PgCluster), started on first use and shared by every test of the process,
// stopped and removed after the last test by a gtest Environment that
// pg_environment.cc registers. Each test takes a fresh database of it.
//
//   TEST_F(MyTest, X) {
//     auto url = testsupport::FreshDatabase();  // ASSERT_TRUE(url.ok())
//     ...
//   }
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "tests/support/pg_cluster.h"

namespace shoebox::testsupport {

// The process's cluster, started by the first call (later calls return the
// same one, or the same error). Not thread-safe: call it from the test thread.
absl::StatusOr<PgCluster*> SharedPg();

// A new, empty database on SharedPg() named "<prefix><n>" (n counts up per
// process); returns its URL, and its name in `name` when given.
absl::StatusOr<std::string> FreshDatabase(const std::string& prefix = "t",
                                          std::string* name = nullptr);

}  // namespace shoebox::testsupport
