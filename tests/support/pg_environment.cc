#include "tests/support/pg_environment.h"

#include <memory>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace shoebox::testsupport {
namespace {

struct Shared {
  std::unique_ptr<PgCluster> cluster;
  absl::Status start_error;  // set when a start failed (not retried)
  int databases = 0;
};

Shared& State() {
  static Shared* s = new Shared();
  return *s;
}

// Stops the cluster after the last test (before static destructors run, so
// nothing it needs has gone yet).
class PgEnvironment final : public ::testing::Environment {
 public:
  void TearDown() override { State().cluster.reset(); }
};

::testing::Environment* const g_pg_environment =
    ::testing::AddGlobalTestEnvironment(new PgEnvironment());

}  // namespace

absl::StatusOr<PgCluster*> SharedPg() {
  Shared& s = State();
  if (s.cluster != nullptr) return s.cluster.get();
  if (!s.start_error.ok()) return s.start_error;
  auto pg = PgCluster::Start();
  if (!pg.ok()) {
    s.start_error = pg.status();
    return s.start_error;
  }
  s.cluster = std::move(*pg);
  return s.cluster.get();
}

absl::StatusOr<std::string> FreshDatabase(const std::string& prefix, std::string* name) {
  auto pg = SharedPg();
  if (!pg.ok()) return pg.status();
  std::string db = absl::StrCat(prefix, ++State().databases);
  if (name != nullptr) *name = db;
  return (*pg)->CreateDatabase(db);
}

}  // namespace shoebox::testsupport
