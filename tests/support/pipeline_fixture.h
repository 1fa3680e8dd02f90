// The one fixture of the integration tests that run the whole pipeline in
// process: a coordinator on a fresh database (CoordinatorFixture), a device
// that says Hello and reports files through AgentService (chunks cut at 300
// KiB and uploaded), destinations created and bound through AdminService,
// and real workers (workers/worker.h) that read the coordinator's chunk
// directory with the data key and open credentials with a pool key of the
// test's own.
//
//   class VerifyTest : public testsupport::PipelineFixture {};
//   TEST_F(VerifyTest, X) {
//     ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}).ok());
//     ASSERT_TRUE(ReportFile("2024/IMG_1.jpg", content).ok());
//     auto w = MakeWorker("w1");
//     ASSERT_TRUE(RunUntilCompleted(w->get()).ok());
//   }
//
// Link shoebox_worker_lib, shoebox_test_support and list
// ${SHOEBOX_TESTS_DIR}/support/pipeline_fixture.cc among the SOURCES (the
// worker library is an OBJECT library: it cannot sit inside a static one).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/keys.h"
#include "common/crypto/sealbox.h"
#include "nlohmann/json.hpp"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "tests/support/coordinator_fixture.h"
#include "tests/support/temp_dir.h"
#include "workers/chunk_source.h"
#include "workers/worker.h"

namespace shoebox::testsupport {

// A failed RPC as an absl::Status with the same code: "what: message".
absl::Status GrpcCheck(const grpc::Status& s, const char* what);

class PipelineFixture : public CoordinatorFixture {
 protected:
  static constexpr char kDevice[] = "laptop";
  static constexpr char kFolder[] = "/home/u/Pictures";
  static constexpr int64_t kMtimeNs = 1720000000ll * 1000000000ll;  // 2024-07-03 UTC
  static constexpr size_t kChunk = 300 * 1024;

  // CoordinatorFixture::SetUp, StartHarness(), SetUpPipeline().
  void SetUp() override;
  // Stubs, a temp dir, the chunk store with the data key, a pool key in
  // dir_/pool.key, and Hello as kDevice with `hostname` and `folders`.
  void SetUpPipeline(const std::string& hostname = "laptop.local",
                     const std::vector<std::string>& folders = {kFolder});

  static absl::Status Check(const grpc::Status& s, const char* what) { return GrpcCheck(s, what); }

  // Creates destination `name` (credentials sealed to the pool key when
  // not empty; `layout` "" keeps the default) and binds kDevice's `folders`.
  absl::Status AddDestination(const std::string& name, const std::string& kind,
                              const nlohmann::json& settings, const nlohmann::json& creds = {},
                              const std::string& layout = "",
                              const std::vector<std::string>& folders = {kFolder});

  // Reports `path` in `folder` with `content` (kChunk pieces), uploads the
  // chunks the coordinator asks for, and returns the chunk IDs in file order.
  absl::StatusOr<std::vector<std::string>> ReportFile(const std::string& path,
                                                      const std::string& content,
                                                      const std::string& folder = kFolder);

  using WorkerTweak = std::function<void(worker::WorkerOptions&)>;
  // A registered worker on the harness (or `ch`), reading chunks through
  // `fetcher` (default: the chunk store), lease_wait 2 s.
  absl::StatusOr<std::unique_ptr<worker::Worker>> MakeWorker(
      const std::string& name, worker::ChunkFetcher* fetcher = nullptr,
      std::shared_ptr<grpc::Channel> ch = nullptr, const WorkerTweak& tweak = nullptr);
  // Runs lease cycles until one job completed, or `tries` cycles passed
  // (then the last job's error, or NOT_FOUND when nothing was leased).
  static absl::StatusOr<worker::JobOutcome> RunUntilCompleted(worker::Worker* w, int tries = 15);

  absl::StatusOr<v1::StatusResponse> Status();
  absl::StatusOr<v1::ListJobsResponse> ListJobs(const v1::ListJobsRequest& req = {});
  absl::StatusOr<v1::VerifyResponse> Verify(double scrub_percent, bool remote,
                                            uint32_t test_restore = 0);

  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::AgentService::Stub> agent_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ChunkStore> store_;
  DerivedKeys keys_;
  std::unique_ptr<SealedChunkStore> sealed_;
  std::unique_ptr<worker::ChunkFetcher> fetcher_;
  SealKeyPair pool_;
  std::string chunk_id_key_;
};

}  // namespace shoebox::testsupport
