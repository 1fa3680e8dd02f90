// Catalog's logic against in-memory stores (coordinator/store/fake_stores.h):
// validation, folder mapping, chunk claims, uploads, read access, damage on a
// failed read. The SQL is tested against PostgreSQL in tests/coordinator/.
#include "coordinator/catalog.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "coordinator/metrics.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {
namespace {

namespace pb = shoebox::v1;

class CatalogTest : public ::testing::Test {
 protected:
  CatalogTest()
      : keys_(DeriveKeys(Key256{1, 2, 3})),
        sealed_(&blobs_, keys_.data_key),
        id_hmac_(ByteSpan(keys_.chunk_id_key.data(), keys_.chunk_id_key.size())),
        catalog_(&store_, &verify_, &sealed_, keys_, Limits(), &metrics_) {}

  std::string IdOf(const std::string& data) { return DigestToString(id_hmac_.Compute(data)); }

  // Hello with one folder; returns the device ID.
  int64_t Hello(const std::string& device, const std::string& folder = "/home/a") {
    pb::HelloRequest req;
    req.add_folders(folder);
    absl::StatusOr<pb::HelloResponse> r = catalog_.Hello(device, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->device_id() : 0;
  }

  // A file of the given chunk contents.
  pb::FileReport File(const std::string& path, const std::vector<std::string>& chunks,
                      const std::string& folder = "/home/a") {
    pb::FileReport f;
    f.set_folder(folder);
    f.set_path(path);
    f.set_op(pb::FileReport::OP_UPSERT);
    f.set_sha256(std::string(32, 's'));
    uint64_t size = 0;
    for (const std::string& c : chunks) {
      auto* ref = f.add_chunks();
      ref->set_id(IdOf(c));
      ref->set_size(c.size());
      size += c.size();
    }
    f.set_size(size);
    f.set_mtime_ns(42);
    return f;
  }

  pb::ReportFilesResponse Report(const std::string& device, std::vector<pb::FileReport> files) {
    pb::ReportFilesRequest req;
    for (auto& f : files) *req.add_files() = std::move(f);
    absl::StatusOr<pb::ReportFilesResponse> r = catalog_.ReportFiles(device, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : pb::ReportFilesResponse();
  }

  pb::PutChunkAck Put(const std::string& device, const std::string& data) {
    pb::PutChunkRequest req;
    req.set_id(IdOf(data));
    req.set_data(data);
    return catalog_.PutChunk(device, req);
  }

  DerivedKeys keys_;
  FakeChunkStore blobs_;
  SealedChunkStore sealed_;
  HmacSha256 id_hmac_;
  FakeCatalogStore store_;
  FakeVerifyStore verify_;
  Metrics metrics_;
  Catalog catalog_;
};

TEST_F(CatalogTest, HelloRegistersDeviceAndHandsOutKeys) {
  pb::HelloRequest req;
  req.add_folders("/home/a");
  absl::StatusOr<pb::HelloResponse> r = catalog_.Hello("laptop", req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->device_name(), "laptop");
  EXPECT_EQ(r->chunk_id_key(), std::string(keys_.chunk_id_key.begin(), keys_.chunk_id_key.end()));
  EXPECT_EQ(*catalog_.DeviceId("laptop"), r->device_id());
}

TEST_F(CatalogTest, HelloWithRelativeFolderIsInvalidArgument) {
  pb::HelloRequest req;
  req.add_folders("relative/dir");
  EXPECT_TRUE(absl::IsInvalidArgument(catalog_.Hello("laptop", req).status()));
}

TEST_F(CatalogTest, UnknownDeviceIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(catalog_.DeviceId("ghost").status()));
  pb::ReportFilesRequest req;
  EXPECT_TRUE(absl::IsNotFound(catalog_.ReportFiles("ghost", req).status()));
}

TEST_F(CatalogTest, ReportOfUnannouncedFolderFailsOnlyThatEntry) {
  Hello("laptop");
  pb::ReportFilesResponse r =
      Report("laptop", {File("a.txt", {"hello"}), File("b.txt", {"x"}, "/elsewhere")});
  ASSERT_EQ(r.results_size(), 2);
  EXPECT_EQ(r.results(0).code(), 0);
  EXPECT_EQ(r.results(1).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(r.results(1).message().find("files[1].folder"), std::string::npos)
      << r.results(1).message();
}

TEST_F(CatalogTest, SamePathTwiceInOneBatchIsRefused) {
  Hello("laptop");
  pb::ReportFilesResponse r = Report("laptop", {File("a.txt", {"one"}), File("a.txt", {"two"})});
  EXPECT_EQ(r.results(0).code(), 0);
  EXPECT_EQ(r.results(1).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(r.results(1).message().find("reported twice"), std::string::npos);
}

TEST_F(CatalogTest, BatchOverLimitIsRefusedWhole) {
  Hello("laptop");
  pb::ReportFilesRequest req;
  for (uint32_t i = 0; i <= Limits().max_report_batch; ++i) *req.add_files() = File("f", {"x"});
  EXPECT_TRUE(absl::IsInvalidArgument(catalog_.ReportFiles("laptop", req).status()));
  EXPECT_EQ(store_.report_calls(), 0);
}

TEST_F(CatalogTest, NewFileAsksForItsMissingChunks) {
  Hello("laptop");
  pb::ReportFilesResponse r = Report("laptop", {File("a.txt", {"hello", "world"})});
  ASSERT_EQ(r.results_size(), 1);
  EXPECT_EQ(r.results(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
  EXPECT_EQ(r.results(0).missing_chunk_ids_size(), 2);
}

TEST_F(CatalogTest, ChunkClaimedByOneDeviceIsNotAskedOfAnother) {
  Hello("laptop");
  Hello("desktop");
  pb::ReportFilesResponse first = Report("laptop", {File("a.txt", {"shared"})});
  EXPECT_EQ(first.results(0).missing_chunk_ids_size(), 1);
  pb::ReportFilesResponse second = Report("desktop", {File("b.txt", {"shared"})});
  EXPECT_EQ(second.results(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
  EXPECT_EQ(second.results(0).missing_chunk_ids_size(), 0);
}

TEST_F(CatalogTest, UploadCompletesTheVersionAndStoresTheSealedBlob) {
  Hello("laptop");
  pb::ReportFilesResponse r = Report("laptop", {File("a.txt", {"hello"})});
  const int64_t version = r.results(0).version_id();
  pb::PutChunkAck ack = Put("laptop", "hello");
  ASSERT_EQ(ack.code(), 0) << ack.message();
  ASSERT_EQ(ack.completed_version_ids_size(), 1);
  EXPECT_EQ(ack.completed_version_ids(0), version);
  EXPECT_EQ(store_.Version(version).state, VersionState::kComplete);
  EXPECT_EQ(blobs_.size(), 1u);
}

TEST_F(CatalogTest, UploadWithWrongIdIsRefused) {
  Hello("laptop");
  Report("laptop", {File("a.txt", {"hello"})});
  pb::PutChunkRequest req;
  req.set_id(IdOf("hello"));
  req.set_data("HELLO");
  pb::PutChunkAck ack = catalog_.PutChunk("laptop", req);
  EXPECT_NE(ack.code(), 0);
  EXPECT_EQ(blobs_.size(), 0u);
}

TEST_F(CatalogTest, UploadOfUnreportedChunkIsFailedPrecondition) {
  Hello("laptop");
  pb::PutChunkAck ack = Put("laptop", "nobody reported me");
  EXPECT_EQ(ack.code(), static_cast<int>(absl::StatusCode::kFailedPrecondition)) << ack.message();
  EXPECT_EQ(blobs_.size(), 0u);
}

TEST_F(CatalogTest, HeartbeatRecordsFactsAndAsksToRereadDamagedFiles) {
  const int64_t id = Hello("laptop");
  DamagedFile f;
  f.folder = "/home/a";
  f.path = "photo.jpg";
  f.size = 7;
  store_.SetDamagedFiles(id, {f});
  pb::HeartbeatRequest hb;
  hb.set_files_pending(3);
  hb.set_paused(true);
  absl::StatusOr<pb::HeartbeatResponse> r = catalog_.Heartbeat("laptop", hb);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->reread_size(), 1);
  EXPECT_EQ(r->reread(0).path(), "photo.jpg");
  EXPECT_EQ(r->reread(0).op(), pb::FileReport::OP_UPSERT);
  EXPECT_EQ(store_.LastHeartbeat(id).files_pending, 3u);
  EXPECT_TRUE(store_.LastHeartbeat(id).paused);
}

TEST_F(CatalogTest, DeviceReadsOnlyItsOwnChunks) {
  Hello("laptop");
  Hello("desktop");
  Report("laptop", {File("a.txt", {"mine"})});
  ASSERT_EQ(Put("laptop", "mine").code(), 0);
  google::protobuf::RepeatedPtrField<std::string> ids;
  ids.Add(IdOf("mine"));
  std::vector<std::string> got;
  auto emit = [&](pb::ChunkData&& d) {
    got.push_back(d.data());
    return true;
  };
  ASSERT_TRUE(catalog_.ReadChunksPlain("laptop", ids, emit).ok());
  EXPECT_EQ(got, std::vector<std::string>{"mine"});
  absl::Status other = catalog_.ReadChunksPlain("desktop", ids, emit);
  EXPECT_TRUE(absl::IsNotFound(other)) << other;
}

// Proof of ownership (docs/security.md): a chunk stored by another device
// is challenged, not handed over; the right answer completes the version
// and opens the chunk to the device, a wrong one does neither.
TEST_F(CatalogTest, StoredChunkOfAnotherDeviceNeedsAProof) {
  Hello("laptop");
  Hello("desktop");
  Report("laptop", {File("a.txt", {"mine"})});
  ASSERT_EQ(Put("laptop", "mine").code(), 0);
  pb::ReportFilesResponse r = Report("desktop", {File("b.txt", {"mine"})});
  ASSERT_EQ(r.results(0).code(), 0) << r.results(0).message();
  EXPECT_EQ(r.results(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
  EXPECT_EQ(r.results(0).missing_chunk_ids_size(), 0);
  ASSERT_EQ(r.results(0).challenges_size(), 1);
  const pb::ChunkChallenge& c = r.results(0).challenges(0);
  EXPECT_EQ(c.id(), IdOf("mine"));
  EXPECT_EQ(c.nonce().size(), Catalog::kNonceSize);

  google::protobuf::RepeatedPtrField<std::string> ids;
  ids.Add(IdOf("mine"));
  auto ignore = [](pb::ChunkData&&) { return true; };
  EXPECT_TRUE(absl::IsNotFound(catalog_.ReadChunksPlain("desktop", ids, ignore)));

  pb::PutChunkRequest wrong;
  wrong.set_id(c.id());
  wrong.set_nonce(c.nonce());
  wrong.set_proof(DigestToString(HmacSha256(AsBytes(c.nonce())).Compute("theirs")));
  pb::PutChunkAck refused = catalog_.PutChunk("desktop", wrong);
  EXPECT_EQ(refused.code(), static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(store_.Version(r.results(0).version_id()).state, VersionState::kPendingChunks);
  // The laptop cannot answer the desktop's challenge for it.
  pb::PutChunkRequest right = wrong;
  right.set_proof(DigestToString(HmacSha256(AsBytes(c.nonce())).Compute("mine")));
  EXPECT_EQ(catalog_.PutChunk("laptop", right).code(),
            static_cast<int>(absl::StatusCode::kPermissionDenied));

  pb::PutChunkAck ok = catalog_.PutChunk("desktop", right);
  ASSERT_EQ(ok.code(), 0) << ok.message();
  ASSERT_EQ(ok.completed_version_ids_size(), 1);
  EXPECT_EQ(ok.completed_version_ids(0), r.results(0).version_id());
  EXPECT_TRUE(catalog_.ReadChunksPlain("desktop", ids, ignore).ok());
}

TEST_F(CatalogTest, CorruptBlobOnReadIsRecordedAsDamage) {
  Hello("laptop");
  Report("laptop", {File("a.txt", {"fragile"})});
  ASSERT_EQ(Put("laptop", "fragile").code(), 0);
  ChunkId id;
  ASSERT_TRUE(DigestFromString(IdOf("fragile"), &id));
  blobs_.Overwrite(id, "garbage");
  google::protobuf::RepeatedPtrField<std::string> ids;
  ids.Add(IdOf("fragile"));
  absl::Status st = catalog_.ReadChunksPlainAny(ids, [](pb::ChunkData&&) { return true; });
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_EQ(verify_.open_damage().count(IdOf("fragile")), 1u);
}

TEST_F(CatalogTest, ListVersionsOfAnotherDeviceIsPermissionDenied) {
  Hello("laptop");
  pb::ListVersionsRequest req;
  req.set_device("desktop");
  EXPECT_TRUE(absl::IsPermissionDenied(catalog_.ListVersions("laptop", req).status()));
}

TEST_F(CatalogTest, ListVersionsReturnsCurrentVersionsWithChunks) {
  Hello("laptop");
  Report("laptop", {File("a.txt", {"hello", "world"}), File("dir/b.txt", {"b"})});
  pb::ListVersionsRequest req;
  req.set_path("dir");
  absl::StatusOr<pb::ListVersionsResponse> r = catalog_.ListVersions("laptop", req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->versions_size(), 1);
  EXPECT_EQ(r->versions(0).path(), "dir/b.txt");
  EXPECT_EQ(r->versions(0).folder(), "/home/a");
  ASSERT_EQ(r->versions(0).chunks_size(), 1);
  EXPECT_EQ(r->versions(0).chunks(0).id(), IdOf("b"));
}

}  // namespace
}  // namespace shoebox::coordinator
