// The one coordinator fixture of the integration tests: every test gets a
// fresh database on the shared PostgreSQL cluster (pg_environment.h) and
// starts an in-process coordinator on it (coordinator_harness.h) with
// test-friendly options, adjusted by the test where it needs to.
//
//   class RetentionTest : public testsupport::CoordinatorFixture {};
//   TEST_F(RetentionTest, X) {
//     StartHarness([](auto& o) { o.prune_grace_s = 0; });
//     auto admin = shoebox::v1::AdminService::NewStub(channel());
//   }
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "coordinator/options.h"
#include "tests/support/coordinator_harness.h"
#include "tests/support/pg_environment.h"

namespace shoebox::testsupport {

class CoordinatorFixture : public ::testing::Test {
 protected:
  using Tweak = std::function<void(shoebox::coordinator::CoordinatorOptions&)>;

  // Creates the database (db_, url_); fails the test when PostgreSQL cannot
  // start.
  void SetUp() override;

  // The shared cluster (valid once SetUp passed): for tests that query,
  // stop or restart it.
  static PgCluster* pg() { return *SharedPg(); }

  // Starts an --insecure-dev coordinator on url_ (TestCoordinatorOptions,
  // then `tweak`); a running one is replaced once the new one is up. Sets
  // harness_ and channel().
  void StartHarness(const Tweak& tweak = nullptr);
  // The same with mutual TLS (CoordinatorHarness::StartTls; insecure_dev off
  // unless `tweak` turns it on).
  void StartHarnessTls(const Tweak& tweak = nullptr);

  // A channel to the running coordinator (insecure: with StartHarness only).
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  std::string db_;   // the database's name
  std::string url_;  // its URL
  std::unique_ptr<CoordinatorHarness> harness_;

 private:
  void Start(bool tls, const Tweak& tweak);
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace shoebox::testsupport
