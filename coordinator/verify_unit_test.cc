// Verifier's logic against in-memory stores: what a scrub finds good,
// corrupt or missing, how a run is recorded, which repairs it accepts. The
// verification SQL and the whole repair round trip run against PostgreSQL in
// tests/coordinator/verify_test.cc.
#include "coordinator/verify.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "coordinator/metrics.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {
namespace {

namespace pb = shoebox::v1;

VerifyOptions NoSchedule() {
  VerifyOptions o;
  o.interval_s = 0;
  return o;
}

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest()
      : keys_(DeriveKeys(Key256{7})),
        sealed_(&blobs_, keys_.data_key),
        id_hmac_(ByteSpan(keys_.chunk_id_key.data(), keys_.chunk_id_key.size())),
        catalog_(&catalog_store_, &verify_, &sealed_, keys_, Limits(), &metrics_),
        verifier_(&verify_, &sealed_, keys_, &catalog_, NoSchedule()) {}

  ChunkId Id(const std::string& data) { return id_hmac_.Compute(data); }

  // Stores `data` sealed and tells the verify store it is stored.
  void Store(const std::string& data) {
    ASSERT_TRUE(sealed_.PutPlain(Id(data), AsBytes(data)).ok());
    verify_.AddStoredChunk(DigestToString(Id(data)), static_cast<uint32_t>(data.size()));
  }

  absl::StatusOr<pb::VerifyResponse> Scrub(double percent) {
    pb::VerifyRequest req;
    req.set_scrub_percent(percent);
    return verifier_.Run("test", req);
  }

  DerivedKeys keys_;
  FakeChunkStore blobs_;
  SealedChunkStore sealed_;
  HmacSha256 id_hmac_;
  FakeCatalogStore catalog_store_;
  FakeVerifyStore verify_;
  Metrics metrics_;
  Catalog catalog_;
  Verifier verifier_;
};

TEST_F(VerifierTest, GoodChunksAreMarkedScrubbed) {
  Store("alpha");
  Store("beta");
  absl::StatusOr<pb::VerifyResponse> r = Scrub(100);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->chunks_total(), 2u);
  EXPECT_EQ(r->chunks_scrubbed(), 2u);
  EXPECT_EQ(r->chunks_bad(), 0u);
  EXPECT_EQ(verify_.scrubbed().size(), 2u);
  EXPECT_TRUE(verify_.open_damage().empty());
}

TEST_F(VerifierTest, CorruptAndMissingBlobsAreRecordedAsDamage) {
  Store("good");
  Store("flipped");
  Store("gone");
  std::string blob = *blobs_.Get(Id("flipped"));
  blob[blob.size() / 2] ^= 0x01;
  blobs_.Overwrite(Id("flipped"), blob);
  ASSERT_TRUE(blobs_.Delete(Id("gone")).ok());

  absl::StatusOr<pb::VerifyResponse> r = Scrub(100);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->chunks_bad(), 2u);
  EXPECT_EQ(r->chunks_scrubbed(), 3u);
  const auto damage = verify_.open_damage();
  EXPECT_EQ(damage.size(), 2u);
  EXPECT_EQ(damage.count(DigestToString(Id("flipped"))), 1u);
  EXPECT_EQ(damage.count(DigestToString(Id("gone"))), 1u);
  EXPECT_EQ(verify_.scrubbed(), std::vector<std::string>{DigestToString(Id("good"))});
  EXPECT_EQ(r->damaged_size(), 2);
}

TEST_F(VerifierTest, PartialScrubReadsThatShareOldestFirst) {
  for (const char* d : {"a1", "a2", "a3", "a4"}) Store(d);
  absl::StatusOr<pb::VerifyResponse> r = Scrub(50);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->chunks_scrubbed(), 2u);
  r = Scrub(50);
  ASSERT_TRUE(r.ok()) << r.status();
  // The second run reads the two the first did not.
  const std::vector<std::string> all = verify_.scrubbed();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 4u);
}

TEST_F(VerifierTest, RunIsRecordedAndFinished) {
  Store("x");
  absl::StatusOr<pb::VerifyResponse> r = Scrub(100);
  ASSERT_TRUE(r.ok()) << r.status();
  const auto runs = verify_.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs.begin()->first, r->run_id());
  EXPECT_TRUE(runs.begin()->second.finished);
  EXPECT_EQ(runs.begin()->second.result.chunks_scrubbed, 1u);
}

TEST_F(VerifierTest, ReportOnlyRunRecordsNoRun) {
  pb::VerifyRequest req;
  absl::StatusOr<pb::VerifyResponse> r = verifier_.Run("admin", req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->run_id(), 0);
  EXPECT_TRUE(verify_.runs().empty());
}

TEST_F(VerifierTest, ScrubPercentOutOfRangeIsInvalidArgument) {
  EXPECT_TRUE(absl::IsInvalidArgument(Scrub(150).status()));
}

TEST_F(VerifierTest, RepairWithoutALiveLeaseIsRefused) {
  pb::RepairChunkRequest req;
  req.set_job_id(4);
  req.set_lease_token("t");
  req.set_id(DigestToString(Id("data")));
  req.set_data("data");
  EXPECT_TRUE(absl::IsFailedPrecondition(verifier_.RepairChunk("w1", req)));
}

TEST_F(VerifierTest, RepairStoresTheChunkAgainAndClosesTheDamage) {
  // A reported file whose chunk was stored, then lost.
  pb::HelloRequest hello;
  hello.add_folders("/data");
  ASSERT_TRUE(catalog_.Hello("laptop", hello).ok());
  pb::ReportFilesRequest report;
  auto* f = report.add_files();
  f->set_folder("/data");
  f->set_path("f");
  f->set_op(pb::FileReport::OP_UPSERT);
  f->set_sha256(std::string(32, 's'));
  f->set_size(4);
  auto* c = f->add_chunks();
  c->set_id(DigestToString(Id("data")));
  c->set_size(4);
  ASSERT_TRUE(catalog_.ReportFiles("laptop", report).ok());
  catalog_store_.MarkChunkLost(DigestToString(Id("data")));
  ASSERT_TRUE(verify_.RecordDamage(DigestToString(Id("data")), "NOT_FOUND").ok());
  verify_.AllowRepair(4, "t");

  pb::RepairChunkRequest req;
  req.set_job_id(4);
  req.set_lease_token("t");
  req.set_id(DigestToString(Id("data")));
  req.set_data("data");
  absl::Status st = verifier_.RepairChunk("w1", req);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(verify_.open_damage().empty());
  EXPECT_EQ(verify_.repaired().count(DigestToString(Id("data"))), 1u);
  EXPECT_TRUE(*blobs_.Has(Id("data")));
}

TEST_F(VerifierTest, RepairWithWrongBytesIsRefused) {
  verify_.AllowRepair(4, "t");
  pb::RepairChunkRequest req;
  req.set_job_id(4);
  req.set_lease_token("t");
  req.set_id(DigestToString(Id("data")));
  req.set_data("DATA");
  EXPECT_FALSE(verifier_.RepairChunk("w1", req).ok());
  EXPECT_TRUE(verify_.repaired().empty());
}

// Issue 17: test restores used to write plaintext into a predictable
// <scratch>/shoebox-test-restore-PID-RUN/VERSION, reusing the directory and
// following a symlink there (O_CREAT|O_TRUNC): a local user who pre-created
// it got the plaintext or made the coordinator overwrite any file it could.
TEST_F(VerifierTest, TestRestoreUsesAPrivateNewDirectoryAndFollowsNoPlantedLink) {
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / absl::StrCat("shoebox-verify-scratch-", getpid());
  std::filesystem::remove_all(scratch);
  std::filesystem::create_directories(scratch);
  const std::filesystem::path victim = scratch / "victim";
  { std::ofstream(victim) << "precious"; }
  VerifyOptions o = NoSchedule();
  o.scratch_dir = scratch.string();
  Verifier verifier(&verify_, &sealed_, keys_, &catalog_, o);

  const std::string data = "secret photo bytes";
  Store(data);
  FileVersion v;
  v.version_id = 5;
  v.device = "laptop";
  v.folder = "/home/a";
  v.path = "p.jpg";
  v.size = data.size();
  v.sha256 = DigestToString(Sha256::Of(data));
  v.chunks.push_back(ChunkRef{DigestToString(Id(data)), static_cast<uint32_t>(data.size())});
  verify_.AddSample(v);
  // The attacker plants the names the next runs (ids 1..3) would have used.
  for (int run = 1; run <= 3; ++run) {
    const std::filesystem::path planted =
        scratch / absl::StrCat("shoebox-test-restore-", getpid(), "-", run);
    std::filesystem::create_directories(planted);
    std::filesystem::create_symlink(victim, planted / "5");
  }

  pb::VerifyRequest req;
  req.set_test_restore(1);
  absl::StatusOr<pb::VerifyResponse> r = verifier.Run("test", req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->test_restored_files(), 1u);
  EXPECT_EQ(r->test_restore_failed(), 0u);
  std::ifstream in(victim);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "precious");
  // Nothing of ours is left in the scratch directory.
  int left = 0;
  for (const auto& e : std::filesystem::directory_iterator(scratch)) {
    const std::string n = e.path().filename().string();
    if (n != "victim" && n.rfind(absl::StrCat("shoebox-test-restore-", getpid(), "-"), 0) != 0)
      ++left;
  }
  EXPECT_EQ(left, 0);
  std::filesystem::remove_all(scratch);
}

}  // namespace
}  // namespace shoebox::coordinator
