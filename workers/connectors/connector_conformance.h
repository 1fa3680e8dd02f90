// The shared conformance suite every Connector passes against a real server.
//
// A backend instantiates it with its parameters:
//
//   INSTANTIATE_TEST_SUITE_P(S3Moto, ConnectorConformance,
//                            ::testing::Values(MotoParams()), ConformanceName);
//
// `make` is called once per test with a unique test id and must return a
// connector on an empty root (a fresh prefix or directory per id). Servers
// are typically started lazily once per process (a function-local static)
// and stopped at exit.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "absl/status/statusor.h"
#include "workers/connector.h"

namespace shoebox::worker {

struct ConnectorConformanceParams {
  std::string name;  // gtest suffix, [A-Za-z0-9_]
  std::function<absl::StatusOr<std::unique_ptr<Connector>>(const std::string& test_id)> make;
  // A connector to the same root with wrong credentials; empty when the
  // backend has none (reason in no_credentials_reason).
  std::function<absl::StatusOr<std::unique_ptr<Connector>>(const std::string& test_id)>
      make_with_bad_credentials;
  std::string no_credentials_reason;
  // Returns true (and a reason) for a file name the server cannot take,
  // e.g. moto refuses '+', '&', '(', ')' and non-ASCII keys.
  std::function<bool(const std::string& name, std::string* reason)> refuses_name;
  // Reads an uploaded object back with an independent client (awscli,
  // s3cmd, cat...). Empty: the suite reads back with the connector's Get.
  std::function<absl::StatusOr<std::string>(Connector* c, const std::string& remote_path)>
      independent_read;
  // Run the 200 MiB file (streamed, never held in memory).
  bool large_file = true;
  // Non-empty: the server wrongly refuses List with a folder prefix (moto
  // refuses a signed ListObjectsV2 whose prefix contains '/', awscli's too);
  // the List checks are skipped with this reason.
  std::string list_refused_reason;
  // Non-empty: the server wrongly keeps the partial body of an aborted
  // upload under the final name (s3rver does; S3 and moto do not); that
  // check is skipped with this reason, the retry is still checked.
  std::string keeps_partial_uploads_reason;
};

void PrintTo(const ConnectorConformanceParams& p, std::ostream* os);

class ConnectorConformance : public ::testing::TestWithParam<ConnectorConformanceParams> {
 protected:
  void SetUp() override;
  std::unique_ptr<Connector> conn_;
  std::string test_id_;
};

std::string ConformanceName(const ::testing::TestParamInfo<ConnectorConformanceParams>& info);

// A deterministic pseudo-random source of `size` bytes (seeded), generated
// on the fly: large files are never held in memory.
std::unique_ptr<ByteSource> MakePatternSource(uint64_t size, uint64_t seed);
// SHA-256 (32 raw bytes) of MakePatternSource(size, seed).
std::string PatternSha256(uint64_t size, uint64_t seed);
// A source that yields `fail_at` bytes of the pattern, then fails with
// UNAVAILABLE (a connection dropped, a worker killed midway).
std::unique_ptr<ByteSource> MakeFailingSource(uint64_t size, uint64_t seed, uint64_t fail_at);

}  // namespace shoebox::worker
