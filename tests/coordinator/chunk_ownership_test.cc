// Proof of ownership for deduplicated chunks (issue 17, docs/security.md):
// a real coordinator on a private PostgreSQL. A device that names chunk IDs
// it does not hold gets neither a complete version, nor a delivery, nor the
// plaintext; a device that holds the data proves it (no upload) and its
// version completes.
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "tests/support/coordinator_fixture.h"
#include "tests/support/data_gen.h"

namespace shoebox {
namespace {

namespace pb = shoebox::v1;
using testsupport::AsAdmin;
using testsupport::AsDevice;
using testsupport::AsWorker;
using testsupport::PseudoRandomBytes;

const std::string kFolder = "/home/ana/Pictures";
constexpr size_t kPiece = 64 * 1024;

struct Photo {
  std::string path;
  std::string data;
  std::vector<std::string> chunks, ids;
};

Photo MakePhoto(const std::string& path, size_t size, uint64_t seed, const std::string& id_key) {
  Photo p;
  p.path = path;
  p.data = PseudoRandomBytes(size, seed);
  HmacSha256 h(AsBytes(id_key));
  for (size_t off = 0; off < size; off += kPiece) {
    p.chunks.push_back(p.data.substr(off, kPiece));
    p.ids.push_back(DigestToString(h.Compute(p.chunks.back())));
  }
  return p;
}

pb::FileReport ReportOf(const Photo& p) {
  pb::FileReport r;
  r.set_folder(kFolder);
  r.set_path(p.path);
  r.set_op(pb::FileReport::OP_UPSERT);
  r.set_size(p.data.size());
  r.set_mtime_ns(1700000000000000000);
  r.set_sha256(DigestToString(Sha256::Of(p.data)));
  r.set_mode(0644);
  for (size_t i = 0; i < p.ids.size(); ++i) {
    pb::ChunkRef* c = r.add_chunks();
    c->set_id(p.ids[i]);
    c->set_size(p.chunks[i].size());
  }
  return r;
}

std::string Proof(const std::string& nonce, const std::string& chunk) {
  return DigestToString(HmacSha256(AsBytes(nonce)).Compute(chunk));
}

pb::PutChunkRequest ProofRequest(const std::string& id, const std::string& nonce,
                                 const std::string& proof) {
  pb::PutChunkRequest r;
  r.set_id(id);
  r.set_nonce(nonce);
  r.set_proof(proof);
  return r;
}

pb::PutChunkRequest DataRequest(const std::string& id, const std::string& data) {
  pb::PutChunkRequest r;
  r.set_id(id);
  r.set_data(data);
  return r;
}

int CountBlobs(const std::string& dir) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_regular_file() && name.size() == 62) ++n;
  }
  return n;
}

class ChunkOwnershipTest : public testsupport::CoordinatorFixture {
 protected:
  void SetUp() override {
    CoordinatorFixture::SetUp();
    if (HasFatalFailure()) return;
    StartHarness();
    ASSERT_NE(harness_, nullptr);
    agent_ = pb::AgentService::NewStub(channel());
    admin_ = pb::AdminService::NewStub(channel());
    worker_ = pb::WorkerService::NewStub(channel());
    id_key_ = Hello("laptop");
    Hello("phone");
    // The photo is the laptop's: reported and uploaded.
    photo_ = MakePhoto("2024/beach.jpg", 4 * kPiece, 1, id_key_);
    pb::ReportFilesResponse r = Report("laptop", {ReportOf(photo_)});
    ASSERT_EQ(r.results(0).missing_chunk_ids_size(), 4);
    std::vector<pb::PutChunkRequest> up;
    for (size_t i = 0; i < photo_.ids.size(); ++i)
      up.push_back(DataRequest(photo_.ids[i], photo_.chunks[i]));
    for (const pb::PutChunkAck& a : Put("laptop", up)) ASSERT_EQ(a.code(), 0) << a.message();
    ASSERT_EQ(Report("laptop", {ReportOf(photo_)}).results(0).state(), pb::VERSION_STATE_COMPLETE);
    // Every complete version of the phone is delivered to "nas".
    grpc::ClientContext c1;
    AsAdmin(&c1);
    pb::CreateDestinationRequest dest;
    dest.set_name("nas");
    dest.set_kind("local");
    dest.set_settings_json(R"({"root":"/srv/backup"})");
    pb::Destination d;
    ASSERT_TRUE(admin_->CreateDestination(&c1, dest, &d).ok());
    grpc::ClientContext c2;
    AsAdmin(&c2);
    pb::BindFolderRequest bind;
    bind.set_device("phone");
    bind.set_destination("nas");
    pb::BindFolderResponse br;
    ASSERT_TRUE(admin_->BindFolder(&c2, bind, &br).ok());
    blobs_ = CountBlobs(harness_->options().chunk_store);
    ASSERT_EQ(blobs_, 4);
  }

  std::string Hello(const std::string& device) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    pb::HelloRequest req;
    req.add_folders(kFolder);
    pb::HelloResponse resp;
    grpc::Status st = agent_->Hello(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.chunk_id_key();
  }

  pb::ReportFilesResponse Report(const std::string& device,
                                 const std::vector<pb::FileReport>& files) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    pb::ReportFilesRequest req;
    for (const auto& f : files) *req.add_files() = f;
    pb::ReportFilesResponse resp;
    grpc::Status st = agent_->ReportFiles(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.results_size(), static_cast<int>(files.size()));
    return resp;
  }

  std::vector<pb::PutChunkAck> Put(const std::string& device,
                                   const std::vector<pb::PutChunkRequest>& reqs) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    auto stream = agent_->PutChunks(&ctx);
    std::vector<pb::PutChunkAck> acks;
    for (const auto& r : reqs) {
      EXPECT_TRUE(stream->Write(r));
      pb::PutChunkAck ack;
      EXPECT_TRUE(stream->Read(&ack));
      acks.push_back(ack);
    }
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
    return acks;
  }

  // ReadChunks of the photo's chunks as `device`: the plaintext it got.
  grpc::Status Read(const std::string& device, std::string* got) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    pb::ReadChunksRequest req;
    for (const auto& id : photo_.ids) req.add_ids(id);
    auto reader = agent_->ReadChunks(&ctx, req);
    pb::ChunkData d;
    while (reader->Read(&d)) *got += d.data();
    return reader->Finish();
  }

  size_t Jobs() {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::ListJobsResponse resp;
    EXPECT_TRUE(admin_->ListJobs(&ctx, pb::ListJobsRequest(), &resp).ok());
    return resp.jobs_size();
  }

  // A worker serving "nas" leases whatever is queued for it.
  size_t Leased() {
    grpc::ClientContext c1;
    AsWorker(&c1, "w1");
    pb::RegisterWorkerRequest reg;
    reg.add_kinds("local");
    pb::RegisterWorkerResponse rr;
    EXPECT_TRUE(worker_->RegisterWorker(&c1, reg, &rr).ok());
    grpc::ClientContext c2;
    AsWorker(&c2, "w1");
    pb::LeaseJobsRequest req;
    req.set_max_jobs(10);
    pb::LeaseJobsResponse resp;
    EXPECT_TRUE(worker_->LeaseJobs(&c2, req, &resp).ok());
    return resp.jobs_size();
  }

  std::unique_ptr<pb::AgentService::Stub> agent_;
  std::unique_ptr<pb::AdminService::Stub> admin_;
  std::unique_ptr<pb::WorkerService::Stub> worker_;
  std::string id_key_;
  Photo photo_;
  int blobs_ = 0;
};

// The attack of issue 17: the phone reports a made-up file whose chunk list
// is the laptop's chunk IDs (from a log line or a chunk store listing),
// without the data.
TEST_F(ChunkOwnershipTest, ChunkIdsAloneGiveNoVersionNoDeliveryAndNoPlaintext) {
  pb::FileReport fake = ReportOf(photo_);
  fake.set_path("stolen.jpg");
  fake.set_sha256(std::string(32, 'x'));
  pb::ReportFilesResponse r = Report("phone", {fake});
  ASSERT_EQ(r.results(0).code(), 0) << r.results(0).message();
  EXPECT_EQ(r.results(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
  EXPECT_EQ(r.results(0).missing_chunk_ids_size(), 0);
  std::string got;
  grpc::Status st = Read("phone", &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(Jobs(), 0u);
  EXPECT_EQ(Leased(), 0u);
  // What it gets instead: a challenge per chunk.
  ASSERT_EQ(r.results(0).challenges_size(), 4);
  std::set<std::string> challenged;
  for (const auto& c : r.results(0).challenges()) {
    challenged.insert(c.id());
    EXPECT_EQ(c.nonce().size(), 40u);
  }
  EXPECT_EQ(challenged, std::set<std::string>(photo_.ids.begin(), photo_.ids.end()));

  // Guessed answers: a wrong proof, a nonce of another chunk and a made-up
  // nonce are refused.
  const auto& c0 = r.results(0).challenges(0);
  const auto& c1 = r.results(0).challenges(1);
  std::vector<pb::PutChunkAck> acks =
      Put("phone", {ProofRequest(c0.id(), c0.nonce(), std::string(32, '\1')),
                    ProofRequest(c0.id(), c1.nonce(), std::string(32, '\1')),
                    ProofRequest(c0.id(), std::string(40, '\7'), std::string(32, '\1'))});
  ASSERT_EQ(acks.size(), 3u);
  for (const auto& a : acks) {
    EXPECT_EQ(a.code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED)) << a.message();
    EXPECT_EQ(a.completed_version_ids_size(), 0);
  }
  EXPECT_NE(acks[0].message().find("proof: does not match"), std::string::npos)
      << acks[0].message();
  EXPECT_NE(acks[1].message().find("nonce: not a challenge"), std::string::npos)
      << acks[1].message();
  // Another device's answer is no use either: the nonce is the phone's.
  auto from_laptop = Put("laptop", {ProofRequest(c0.id(), c0.nonce(), Proof(c0.nonce(), ""))});
  EXPECT_EQ(from_laptop[0].code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));

  // Still nothing: reporting again asks for proofs again.
  pb::ReportFilesResponse again = Report("phone", {fake});
  EXPECT_EQ(again.results(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
  EXPECT_EQ(again.results(0).challenges_size(), 4);
  got.clear();
  EXPECT_EQ(Read("phone", &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(Jobs(), 0u);
  EXPECT_EQ(Leased(), 0u);
  // The version is listed as pending (the phone's own report), never complete.
  grpc::ClientContext ctx;
  AsDevice(&ctx, "phone");
  pb::ListVersionsResponse lv;
  ASSERT_TRUE(agent_->ListVersions(&ctx, pb::ListVersionsRequest(), &lv).ok());
  ASSERT_EQ(lv.versions_size(), 1);
  EXPECT_EQ(lv.versions(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
}

// The phone really has the photo: it answers each challenge from its own
// copy and uploads nothing; the version completes and is delivered.
TEST_F(ChunkOwnershipTest, ADeviceWithTheDataProvesItWithoutUploading) {
  pb::FileReport mine = ReportOf(photo_);
  mine.set_path("DCIM/IMG_0001.jpg");
  pb::ReportFilesResponse r = Report("phone", {mine});
  ASSERT_EQ(r.results(0).code(), 0) << r.results(0).message();
  ASSERT_EQ(r.results(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
  EXPECT_EQ(r.results(0).missing_chunk_ids_size(), 0);
  ASSERT_EQ(r.results(0).challenges_size(), 4);
  std::vector<pb::PutChunkRequest> proofs;
  for (const auto& c : r.results(0).challenges()) {
    size_t k = std::find(photo_.ids.begin(), photo_.ids.end(), c.id()) - photo_.ids.begin();
    ASSERT_LT(k, photo_.ids.size());
    proofs.push_back(ProofRequest(c.id(), c.nonce(), Proof(c.nonce(), photo_.chunks[k])));
  }
  std::vector<pb::PutChunkAck> acks = Put("phone", proofs);
  std::set<int64_t> completed;
  for (const auto& a : acks) {
    EXPECT_EQ(a.code(), 0) << a.message();
    completed.insert(a.completed_version_ids().begin(), a.completed_version_ids().end());
  }
  EXPECT_EQ(completed, std::set<int64_t>{r.results(0).version_id()});
  EXPECT_EQ(CountBlobs(harness_->options().chunk_store), blobs_);  // nothing stored twice

  pb::ReportFilesResponse again = Report("phone", {mine});
  EXPECT_EQ(again.results(0).state(), pb::VERSION_STATE_COMPLETE);
  EXPECT_EQ(again.results(0).challenges_size(), 0);
  std::string got;
  ASSERT_TRUE(Read("phone", &got).ok());
  EXPECT_EQ(got, photo_.data);
  EXPECT_EQ(Jobs(), 1u);
  EXPECT_EQ(Leased(), 1u);
  // Proven once: another copy of the photo on the phone completes at once.
  pb::FileReport copy = mine;
  copy.set_path("Backup/IMG_0001.jpg");
  pb::ReportFilesResponse c = Report("phone", {copy});
  EXPECT_EQ(c.results(0).state(), pb::VERSION_STATE_COMPLETE);
  EXPECT_EQ(c.results(0).challenges_size(), 0);
}

// Uploading the data of a chunk already stored proves possession too (the
// coordinator recomputes the ID from it); nothing is written again.
TEST_F(ChunkOwnershipTest, UploadingTheDataInsteadOfAProofAlsoCompletes) {
  pb::FileReport mine = ReportOf(photo_);
  mine.set_path("DCIM/IMG_0002.jpg");
  pb::ReportFilesResponse r = Report("phone", {mine});
  ASSERT_EQ(r.results(0).challenges_size(), 4);
  std::vector<pb::PutChunkRequest> up;
  for (size_t i = 0; i < photo_.ids.size(); ++i)
    up.push_back(DataRequest(photo_.ids[i], photo_.chunks[i]));
  std::vector<pb::PutChunkAck> acks = Put("phone", up);
  for (const auto& a : acks) EXPECT_EQ(a.code(), 0) << a.message();
  ASSERT_EQ(acks.back().completed_version_ids_size(), 1);
  EXPECT_EQ(acks.back().completed_version_ids(0), r.results(0).version_id());
  EXPECT_EQ(CountBlobs(harness_->options().chunk_store), blobs_);
  std::string got;
  ASSERT_TRUE(Read("phone", &got).ok());
  EXPECT_EQ(got, photo_.data);
}

// A chunk list naming a stored chunk with another size is refused: nothing
// is recorded for that file, the others of the batch are.
TEST_F(ChunkOwnershipTest, ASizeThatDoesNotMatchTheStoredChunkIsRefused) {
  pb::FileReport bad = ReportOf(photo_);
  bad.set_path("odd.jpg");
  bad.mutable_chunks(1)->set_size(kPiece - 10);
  bad.mutable_chunks(2)->set_size(kPiece + 10);
  pb::FileReport good = ReportOf(MakePhoto("new.jpg", kPiece, 9, id_key_));
  pb::ReportFilesResponse r = Report("phone", {bad, good});
  EXPECT_EQ(r.results(0).code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_NE(r.results(0).message().find("files[0].chunks[1].size:"), std::string::npos)
      << r.results(0).message();
  EXPECT_EQ(r.results(0).version_id(), 0);
  EXPECT_EQ(r.results(0).challenges_size(), 0);
  EXPECT_EQ(r.results(1).code(), 0) << r.results(1).message();
  EXPECT_EQ(r.results(1).missing_chunk_ids_size(), 1);
  grpc::ClientContext ctx;
  AsDevice(&ctx, "phone");
  pb::ListVersionsResponse lv;
  ASSERT_TRUE(agent_->ListVersions(&ctx, pb::ListVersionsRequest(), &lv).ok());
  ASSERT_EQ(lv.versions_size(), 1);
  EXPECT_EQ(lv.versions(0).path(), "new.jpg");
}

// Two devices send the same new photo at once: the laptop is asked for the
// chunks (upload claims); its upload completes only its own version, and
// the phone, which never sent a byte, must still prove it has them.
TEST_F(ChunkOwnershipTest, AnotherDevicesUploadDoesNotCompleteAVersionWithoutProof) {
  Photo fresh = MakePhoto("2024/sunset.jpg", 2 * kPiece, 5, id_key_);
  pb::ReportFilesResponse l = Report("laptop", {ReportOf(fresh)});
  ASSERT_EQ(l.results(0).missing_chunk_ids_size(), 2);
  pb::FileReport theirs = ReportOf(fresh);
  theirs.set_path("DCIM/IMG_0003.jpg");
  pb::ReportFilesResponse p = Report("phone", {theirs});
  EXPECT_EQ(p.results(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
  EXPECT_EQ(p.results(0).missing_chunk_ids_size(), 0);  // the laptop is sending them
  EXPECT_EQ(p.results(0).challenges_size(), 0);         // not stored yet
  std::set<int64_t> completed;
  for (const auto& a : Put("laptop", {DataRequest(fresh.ids[0], fresh.chunks[0]),
                                      DataRequest(fresh.ids[1], fresh.chunks[1])})) {
    EXPECT_EQ(a.code(), 0) << a.message();
    completed.insert(a.completed_version_ids().begin(), a.completed_version_ids().end());
  }
  EXPECT_EQ(completed, std::set<int64_t>{l.results(0).version_id()});
  pb::ReportFilesResponse again = Report("phone", {theirs});
  EXPECT_EQ(again.results(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
  ASSERT_EQ(again.results(0).challenges_size(), 2);
  std::vector<pb::PutChunkRequest> proofs;
  for (const auto& c : again.results(0).challenges()) {
    const size_t k = c.id() == fresh.ids[0] ? 0 : 1;
    proofs.push_back(ProofRequest(c.id(), c.nonce(), Proof(c.nonce(), fresh.chunks[k])));
  }
  completed.clear();
  for (const auto& a : Put("phone", proofs)) {
    EXPECT_EQ(a.code(), 0) << a.message();
    completed.insert(a.completed_version_ids().begin(), a.completed_version_ids().end());
  }
  EXPECT_EQ(completed, std::set<int64_t>{p.results(0).version_id()});
}

}  // namespace
}  // namespace shoebox
