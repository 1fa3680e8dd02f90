// Verification and repair (issue 7) against real parts: a private
// PostgreSQL, an in-process coordinator (real gRPC server, real chunk
// directory), a real worker with a local-directory destination.
//
//  - one flipped byte in a stored chunk: the scrub names the chunk and the
//    file, a repair job fetches the file from the destination and the chunk
//    is good again (a later scrub and a read-back agree);
//  - a chunk lost with no destination copy: reported unrepairable with the
//    file (device, path, version);
//  - a file deleted at the destination: the remote check finds it and the
//    delivery runs again;
//  - status: last verified per destination and files by number of copies;
//  - test restore: a sample rebuilt from the chunk store matches SHA-256.
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "cli/client.h"
#include "cli/restore.h"
#include "cli/restore_repair.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "common/crypto/sealbox.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "tests/support/data_gen.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/servers.h"
#include "workers/chunk_source.h"
#include "workers/worker.h"

namespace shoebox::worker {
namespace {

using testsupport::PseudoRandomBytes;

namespace fs = std::filesystem;
using testsupport::AsAdmin;
using testsupport::AsDevice;

using testsupport::GrpcCheck;

std::string ReadFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class VerifyTest : public testsupport::PipelineFixture {
 protected:
  absl::Status AddLocalDestination(const std::string& name, const std::string& root) {
    return AddDestination(name, "local", {{"root", root}});
  }

  // Plaintext of a chunk as an admin restore reads it.
  absl::StatusOr<std::string> ReadChunk(const std::string& id) {
    v1::ReadChunksRequest req;
    req.add_ids(id);
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    auto reader = admin_->ReadChunks(&ctx, req);
    v1::ChunkData d;
    std::string out;
    while (reader->Read(&d)) out += d.data();
    RETURN_IF_ERROR(Check(reader->Finish(), "ReadChunks"));
    return out;
  }

  std::string BlobPath(const std::string& id) const {
    const std::string hex = ToHex(id);
    return absl::StrCat(harness_->dir(), "/chunks/", hex.substr(0, 2), "/", hex.substr(2));
  }
};

TEST_F(VerifyTest, FlippedByteInAStoredChunkIsReportedWithItsFileAndRepairedFromTheDestination) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddLocalDestination("nas", nas).ok());
  const std::string content = PseudoRandomBytes(1000 * 1000 + 17, 1);  // 4 chunks
  auto ids = ReportFile("2024/IMG_0001.jpg", content);
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->size(), 4u);
  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok()) << w.status();
  auto delivered = RunUntilCompleted(w->get());
  ASSERT_TRUE(delivered.ok()) << delivered.status();
  const std::string remote = nas + "/laptop/Pictures/2024/IMG_0001.jpg";
  ASSERT_TRUE(ReadFile(remote) == content);

  // A clean store: the scrub reads every chunk and finds nothing.
  auto clean = Verify(100, false, 0);
  ASSERT_TRUE(clean.ok()) << clean.status();
  EXPECT_EQ(clean->chunks_total(), 4u);
  EXPECT_EQ(clean->chunks_scrubbed(), 4u);
  EXPECT_EQ(clean->chunks_bad(), 0u);
  EXPECT_EQ(clean->damaged_size(), 0);

  // Flip one byte in the middle of the third chunk's blob.
  const std::string& bad_id = (*ids)[2];
  {
    std::fstream f(BlobPath(bad_id), std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good()) << BlobPath(bad_id);
    f.seekg(1000);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x01;
    f.seekp(1000);
    f.write(&c, 1);
  }
  auto found = Verify(100, false, 0);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->chunks_scrubbed(), 4u);
  EXPECT_EQ(found->chunks_bad(), 1u);
  ASSERT_EQ(found->damaged_size(), 1);
  const v1::DamagedChunk& d = found->damaged(0);
  EXPECT_EQ(d.id(), bad_id);
  EXPECT_NE(d.error().find("DATA_LOSS"), std::string::npos) << d.error();
  EXPECT_TRUE(d.repair_queued());
  ASSERT_EQ(d.files_size(), 1);
  EXPECT_EQ(d.files(0).device(), kDevice);
  EXPECT_EQ(d.files(0).folder(), kFolder);
  EXPECT_EQ(d.files(0).path(), "2024/IMG_0001.jpg");
  EXPECT_GT(d.files(0).version_id(), 0);
  ASSERT_EQ(d.files(0).destinations_size(), 1);
  EXPECT_EQ(d.files(0).destinations(0), "nas");
  EXPECT_EQ(found->repairs_queued(), 1u);
  EXPECT_EQ(found->unrepairable_size(), 0);

  // While damaged: restores name the chunk; status counts it and the file
  // has only its destination copy.
  auto broken = ReadChunk(bad_id);
  EXPECT_TRUE(absl::IsNotFound(broken.status())) << broken.status();
  auto st = Status();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->damaged_chunks(), 1u);
  EXPECT_EQ(st->files_with_1_copy(), 1u);
  EXPECT_EQ(st->files_with_2_copies(), 0u);

  // The worker runs the repair job: fetches the file from the destination
  // and sends the chunk back.
  auto repaired = RunUntilCompleted(w->get());
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  auto back = ReadChunk(bad_id);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == content.substr(2 * kChunk, kChunk));
  ChunkId cid;
  ASSERT_TRUE(DigestFromString(bad_id, &cid));
  auto plain = sealed_->GetPlain(cid);
  ASSERT_TRUE(plain.ok()) << plain.status();

  auto again = Verify(100, false, 1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->chunks_bad(), 0u);
  EXPECT_EQ(again->damaged_size(), 0);
  EXPECT_EQ(again->test_restored_files(), 1u);
  EXPECT_EQ(again->test_restore_failed(), 0u);
  st = Status();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->damaged_chunks(), 0u);
  EXPECT_EQ(st->files_with_2_copies(), 1u);
  EXPECT_GT(st->last_verify_unix_ms(), 0);
}

TEST_F(VerifyTest, ALostChunkWithoutADestinationCopyIsReportedUnrepairableWithItsFiles) {
  const std::string content = PseudoRandomBytes(700 * 1000, 2);  // 3 chunks
  auto ids = ReportFile("DCIM/IMG_0002.jpg", content);
  ASSERT_TRUE(ids.ok()) << ids.status();
  auto other = ReportFile("DCIM/IMG_0003.jpg", PseudoRandomBytes(100 * 1000, 3));
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(fs::remove(BlobPath((*ids)[0])));

  auto r = Verify(100, false, 2);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->chunks_bad(), 1u);
  // The test restore of the damaged file fails (when sampled) and names it.
  EXPECT_EQ(r->test_restored_files() + r->test_restore_failed(), 2u);
  EXPECT_EQ(r->test_restore_failed(), 1u);
  ASSERT_EQ(r->test_restore_errors_size(), 1);
  EXPECT_NE(r->test_restore_errors(0).find("DCIM/IMG_0002.jpg"), std::string::npos)
      << r->test_restore_errors(0);
  ASSERT_EQ(r->damaged_size(), 1);
  EXPECT_FALSE(r->damaged(0).repair_queued());
  EXPECT_NE(r->damaged(0).error().find("NOT_FOUND"), std::string::npos) << r->damaged(0).error();
  ASSERT_EQ(r->unrepairable_size(), 1);
  EXPECT_EQ(r->unrepairable(0).device(), kDevice);
  EXPECT_EQ(r->unrepairable(0).path(), "DCIM/IMG_0002.jpg");
  EXPECT_EQ(r->repairs_queued(), 0u);
  auto st = Status();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->files_with_no_copy(), 1u);
  EXPECT_EQ(st->files_with_1_copy(), 1u);

  // A device reporting the file again (new mtime, same bytes) is asked for
  // the lost chunk; its upload closes the damage.
  v1::ReportFilesRequest req;
  HmacSha256 idkey(AsBytes(chunk_id_key_));
  v1::FileReport* f = req.add_files();
  f->set_folder(kFolder);
  f->set_path("DCIM/IMG_0002.jpg");
  f->set_op(v1::FileReport::OP_UPSERT);
  f->set_size(content.size());
  f->set_mtime_ns(kMtimeNs + 1000000000);
  f->set_sha256(DigestToString(Sha256::Of(AsBytes(content))));
  for (size_t off = 0; off < content.size(); off += kChunk) {
    v1::ChunkRef* c = f->add_chunks();
    std::string piece = content.substr(off, kChunk);
    c->set_id(DigestToString(idkey.Compute(piece)));
    c->set_size(static_cast<uint32_t>(piece.size()));
  }
  v1::ReportFilesResponse resp;
  {
    grpc::ClientContext ctx;
    AsDevice(&ctx, kDevice);
    ASSERT_TRUE(agent_->ReportFiles(&ctx, req, &resp).ok());
  }
  ASSERT_EQ(resp.results_size(), 1);
  ASSERT_EQ(resp.results(0).missing_chunk_ids_size(), 1);
  EXPECT_EQ(resp.results(0).missing_chunk_ids(0), (*ids)[0]);
  {
    grpc::ClientContext ctx;
    AsDevice(&ctx, kDevice);
    auto stream = agent_->PutChunks(&ctx);
    v1::PutChunkRequest p;
    p.set_id((*ids)[0]);
    p.set_data(content.substr(0, kChunk));
    ASSERT_TRUE(stream->Write(p));
    stream->WritesDone();
    v1::PutChunkAck ack;
    while (stream->Read(&ack)) EXPECT_EQ(ack.code(), 0) << ack.message();
    ASSERT_TRUE(stream->Finish().ok());
  }
  auto after = Verify(0, false, 0);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->damaged_size(), 0);
  st = Status();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->damaged_chunks(), 0u);
  EXPECT_EQ(st->files_with_no_copy(), 0u);
}

TEST_F(VerifyTest, AFileDeletedAtTheDestinationIsFoundAndDeliveredAgain) {
  const std::string nas = dir_->path() + "/nas";
  const std::string nas2 = dir_->path() + "/nas2";
  ASSERT_TRUE(AddLocalDestination("nas", nas).ok());
  ASSERT_TRUE(AddLocalDestination("usb", nas2).ok());
  const std::string content = PseudoRandomBytes(400 * 1000, 4);
  ASSERT_TRUE(ReportFile("2024/IMG_0004.jpg", content).ok());
  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE(RunUntilCompleted(w->get()).ok());
  ASSERT_TRUE(RunUntilCompleted(w->get()).ok());
  const std::string remote = nas + "/laptop/Pictures/2024/IMG_0004.jpg";
  ASSERT_TRUE(ReadFile(remote) == content);

  auto st = Status();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->files_with_1_copy(), 1u);
  EXPECT_EQ(st->files_with_2_copies(), 1u);
  EXPECT_EQ(st->files_with_3_copies(), 1u);
  ASSERT_EQ(st->destinations_size(), 2);
  for (const auto& d : st->destinations()) EXPECT_EQ(d.last_verified_unix_ms(), 0) << d.name();

  ASSERT_TRUE(fs::remove(remote));
  auto r = Verify(0, true, 0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->remote_checks_queued(), 2u);  // one per delivered copy
  // Queuing again while those are open adds nothing.
  auto r2 = Verify(0, true, 0);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->remote_checks_queued(), 0u);

  // Two verify jobs (one finds the copy gone), then the re-delivery.
  for (int i = 0; i < 3; ++i) {
    auto done = RunUntilCompleted(w->get());
    ASSERT_TRUE(done.ok()) << "job " << i << ": " << done.status();
  }
  EXPECT_TRUE(ReadFile(remote) == content);

  st = Status();
  ASSERT_TRUE(st.ok()) << st.status();
  for (const auto& d : st->destinations()) {
    EXPECT_GT(d.last_verified_unix_ms(), 0) << d.name();
    EXPECT_EQ(d.deliveries().delivered_files(), 1u) << d.name();
    EXPECT_EQ(d.deliveries().pending_files(), 0u) << d.name();
  }
  EXPECT_EQ(st->files_with_3_copies(), 1u);

  // The verify job that found the copy gone says so.
  v1::ListJobsRequest lj;
  v1::ListJobsResponse jobs;
  grpc::ClientContext ctx;
  AsAdmin(&ctx);
  ASSERT_TRUE(admin_->ListJobs(&ctx, lj, &jobs).ok());
  int found = 0;
  for (const auto& j : jobs.jobs()) {
    if (j.kind() == v1::JOB_KIND_VERIFY && j.destination() == "nas") {
      ++found;
      EXPECT_NE(j.last_error().find("missing or differs"), std::string::npos) << j.last_error();
    }
  }
  EXPECT_EQ(found, 1);
}

TEST_F(VerifyTest, AScheduledRunHappensOnItsOwnAndIsShownInStatus) {
  // A second coordinator on the same database with a one-second schedule.
  auto o = testsupport::TestCoordinatorOptions(harness_->options().database_url);
  o.verify.interval_s = 1;
  o.verify.scrub_percent = 100;
  auto h = testsupport::CoordinatorHarness::Start(o);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_TRUE(ReportFile("a.jpg", PseudoRandomBytes(1000, 7)).ok());
  auto admin = v1::AdminService::NewStub(testsupport::Channel((*h)->address()));
  int64_t last = 0;
  for (int i = 0; i < 300 && last == 0; ++i) {
    v1::StatusResponse st;
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    ASSERT_TRUE(admin->GetStatus(&ctx, v1::GetStatusRequest(), &st).ok());
    last = st.last_verify_unix_ms();
    if (last == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(last, 0) << "no scheduled verify run finished within 30 s";
}

// Reads plaintext chunks through AdminService.ReadChunks (what the CLI does).
class AdminFetcher final : public cli::ChunkFetcher {
 public:
  explicit AdminFetcher(v1::AdminService::Stub* stub) : stub_(stub) {}
  absl::Status Fetch(
      const std::vector<std::string>& ids,
      const std::function<absl::Status(const std::string&, const std::string&)>& sink) override {
    v1::ReadChunksRequest req;
    for (const auto& id : ids) req.add_ids(id);
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    auto reader = stub_->ReadChunks(&ctx, req);
    v1::ChunkData d;
    absl::Status st;
    while (reader->Read(&d)) {
      if (st.ok()) st = sink(d.id(), d.data());
    }
    absl::Status fin = GrpcCheck(reader->Finish(), "ReadChunks");
    return st.ok() ? fin : st;
  }

 private:
  v1::AdminService::Stub* stub_;
};

TEST_F(VerifyTest, ARestoreThatHitsACorruptChunkNamesTheFileAndFinishesAfterTheRepair) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddLocalDestination("nas", nas).ok());
  const std::string broken = PseudoRandomBytes(800 * 1000, 5);
  const std::string fine = PseudoRandomBytes(200 * 1000, 6);
  auto ids = ReportFile("trip/IMG_0005.jpg", broken);
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_TRUE(ReportFile("trip/IMG_0006.jpg", fine).ok());
  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE(RunUntilCompleted(w->get()).ok());
  ASSERT_TRUE(RunUntilCompleted(w->get()).ok());
  // Corrupt a chunk behind the catalog's back (no scrub ran).
  {
    std::fstream f(BlobPath((*ids)[1]), std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekp(20);
    f.put('\x5a');
  }

  v1::ListVersionsRequest lv;
  lv.set_device(kDevice);
  v1::ListVersionsResponse vs;
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    ASSERT_TRUE(admin_->ListVersions(&ctx, lv, &vs).ok());
  }
  std::vector<v1::FileVersion> versions(vs.versions().begin(), vs.versions().end());
  ASSERT_EQ(versions.size(), 2u);
  cli::RestoreOptions ro;
  ro.target_dir = dir_->path() + "/restore";
  ro.progress = false;
  AdminFetcher fetcher(admin_.get());
  auto first = cli::RestoreVersions(versions, &fetcher, ro);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->files_restored, 1u);
  ASSERT_EQ(first->failures.size(), 1u);
  EXPECT_EQ(first->failures[0].path, "trip/IMG_0005.jpg");
  EXPECT_NE(first->failures[0].error.find(ToHex((*ids)[1])), std::string::npos)
      << first->failures[0].error;

  // The read recorded the damage and queued the repair; a worker runs it
  // while the restore waits, then the file is restored.
  std::thread runner([&] { (void)(*w)->Run(); });
  cli::ClientOptions co;
  co.coordinator = harness_->address();
  co.insecure_dev = true;
  cli::AdminClient client(co);
  ASSERT_TRUE(client.status().ok()) << client.status();
  auto done = cli::RestoreAfterRepair(client, versions, *first, &fetcher, ro, 60, stdout);
  (*w)->Stop();
  runner.join();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->files_restored, 2u);
  EXPECT_TRUE(done->failures.empty()) << done->failures[0].path << ": " << done->failures[0].error;
  EXPECT_TRUE(ReadFile(ro.target_dir + "/trip/IMG_0005.jpg") == broken);
  EXPECT_TRUE(ReadFile(ro.target_dir + "/trip/IMG_0006.jpg") == fine);
}

}  // namespace
}  // namespace shoebox::worker
