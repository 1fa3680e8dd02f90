// Integration tests of the coordinator against a real private PostgreSQL
// (one cluster per test binary, one fresh database per test) over gRPC.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "coordinator/store/store.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "tests/support/coordinator_fixture.h"
#include "tests/support/data_gen.h"

// libpqxx 6.4 leaks one libpq result when a connection breaks during COMMIT
// (the PostgreSQL restart tests provoke that on purpose).
extern "C" const char* __lsan_default_suppressions() { return "leak:libpq.so\n"; }

namespace shoebox {
namespace {

using testsupport::PseudoRandomBytes;

using coordinator::CoordinatorOptions;
using testsupport::AsAdmin;
using testsupport::AsDevice;
using testsupport::AsWorker;
using testsupport::CoordinatorHarness;
namespace pb = shoebox::v1;

const std::string kFolder = "/home/ana/Pictures";

// One file's content split into fixed pieces, with IDs under a chunk-ID key.
struct TestFile {
  std::string path;
  std::string data;
  std::vector<std::string> chunk_data;
  std::vector<std::string> chunk_ids;
  int64_t mtime_ns = 1700000000000000000;
};

TestFile MakeFile(const std::string& path, const std::string& data, const std::string& id_key,
                  size_t piece = 64 * 1024) {
  TestFile f;
  f.path = path;
  f.data = data;
  HmacSha256 h(AsBytes(id_key));
  for (size_t off = 0; off < data.size(); off += piece) {
    f.chunk_data.push_back(data.substr(off, piece));
    f.chunk_ids.push_back(DigestToString(h.Compute(f.chunk_data.back())));
  }
  return f;
}

pb::FileReport Report(const TestFile& f, const std::string& folder = kFolder) {
  pb::FileReport r;
  r.set_folder(folder);
  r.set_path(f.path);
  r.set_op(pb::FileReport::OP_UPSERT);
  r.set_size(f.data.size());
  r.set_mtime_ns(f.mtime_ns);
  r.set_sha256(DigestToString(Sha256::Of(f.data)));
  for (size_t i = 0; i < f.chunk_ids.size(); ++i) {
    auto* c = r.add_chunks();
    c->set_id(f.chunk_ids[i]);
    c->set_size(f.chunk_data[i].size());
  }
  r.set_mode(0644);
  return r;
}

// A gRPC client for one coordinator address.
class Client {
 public:
  explicit Client(const std::string& address)
      : ch_(testsupport::Channel(address)),
        agent_(pb::AgentService::NewStub(ch_)),
        worker_(pb::WorkerService::NewStub(ch_)),
        admin_(pb::AdminService::NewStub(ch_)) {}

  pb::HelloResponse Hello(const std::string& device, std::vector<std::string> folders = {kFolder}) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    pb::HelloRequest req;
    req.set_hostname(device + ".lan");
    for (auto& f : folders) req.add_folders(f);
    pb::HelloResponse resp;
    grpc::Status st = agent_->Hello(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  grpc::Status ReportFiles(const std::string& device, const pb::ReportFilesRequest& req,
                           pb::ReportFilesResponse* resp) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    return agent_->ReportFiles(&ctx, req, resp);
  }

  pb::ReportFilesResponse Report(const std::string& device, const std::vector<TestFile>& files) {
    pb::ReportFilesRequest req;
    for (const auto& f : files) *req.add_files() = shoebox::Report(f);
    pb::ReportFilesResponse resp;
    grpc::Status st = ReportFiles(device, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  // Sends chunks on one stream; returns the acks.
  std::vector<pb::PutChunkAck> Put(const std::string& device,
                                   const std::vector<std::pair<std::string, std::string>>& chunks) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    auto stream = agent_->PutChunks(&ctx);
    std::vector<pb::PutChunkAck> acks;
    for (const auto& [id, data] : chunks) {
      pb::PutChunkRequest req;
      req.set_id(id);
      req.set_data(data);
      EXPECT_TRUE(stream->Write(req));
      pb::PutChunkAck ack;
      EXPECT_TRUE(stream->Read(&ack));
      acks.push_back(ack);
    }
    stream->WritesDone();
    grpc::Status st = stream->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return acks;
  }

  // Answers the challenges of `r` from the file's content; returns the
  // version the proofs completed (0: none).
  int64_t Prove(const std::string& device, const TestFile& f, const pb::FileResult& r) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    auto stream = agent_->PutChunks(&ctx);
    int64_t completed = 0;
    for (const pb::ChunkChallenge& c : r.challenges()) {
      auto k = std::find(f.chunk_ids.begin(), f.chunk_ids.end(), c.id()) - f.chunk_ids.begin();
      pb::PutChunkRequest req;
      req.set_id(c.id());
      req.set_nonce(c.nonce());
      req.set_proof(DigestToString(HmacSha256(AsBytes(c.nonce())).Compute(f.chunk_data.at(k))));
      EXPECT_TRUE(stream->Write(req));
      pb::PutChunkAck ack;
      EXPECT_TRUE(stream->Read(&ack));
      EXPECT_EQ(ack.code(), 0) << ack.message();
      for (int64_t v : ack.completed_version_ids()) completed = v;
    }
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
    return completed;
  }

  std::vector<pb::PutChunkAck> PutFile(const std::string& device, const TestFile& f) {
    std::vector<std::pair<std::string, std::string>> chunks;
    for (size_t i = 0; i < f.chunk_ids.size(); ++i)
      chunks.emplace_back(f.chunk_ids[i], f.chunk_data[i]);
    return Put(device, chunks);
  }

  pb::Destination CreateDestination(const std::string& name, const std::string& kind = "local",
                                    uint32_t max_concurrency = 0) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::CreateDestinationRequest req;
    req.set_name(name);
    req.set_kind(kind);
    // Settings the kind declares (common/destination_kinds.h); the sealed
    // box is opaque to the coordinator, which only insists on one for s3.
    if (kind == "s3") {
      req.set_settings_json(R"({"bucket":"photos"})");
      req.set_sealed_credentials("sealed-box");
    } else {
      req.set_settings_json(R"({"root":"/srv/backup"})");
    }
    req.set_max_concurrency(max_concurrency);
    pb::Destination d;
    grpc::Status st = admin_->CreateDestination(&ctx, req, &d);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return d;
  }

  uint64_t Bind(const std::string& device, const std::string& folder, const std::string& dest,
                bool backfill = false) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::BindFolderRequest req;
    req.set_device(device);
    req.set_folder(folder);
    req.set_destination(dest);
    req.set_backfill(backfill);
    pb::BindFolderResponse resp;
    grpc::Status st = admin_->BindFolder(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.jobs_created();
  }

  pb::RegisterWorkerResponse Register(const std::string& worker,
                                      std::vector<std::string> kinds = {"local"},
                                      std::vector<std::string> dests = {}) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::RegisterWorkerRequest req;
    for (auto& k : kinds) req.add_kinds(k);
    for (auto& d : dests) req.add_destinations(d);
    req.set_max_concurrency(4);
    pb::RegisterWorkerResponse resp;
    grpc::Status st = worker_->RegisterWorker(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  std::vector<pb::Job> Lease(const std::string& worker, uint32_t max, uint32_t wait_ms = 0) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::LeaseJobsRequest req;
    req.set_max_jobs(max);
    req.set_wait_ms(wait_ms);
    pb::LeaseJobsResponse resp;
    grpc::Status st = worker_->LeaseJobs(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.jobs().begin(), resp.jobs().end()};
  }

  // Leases until one job arrives (bounded by `tries` waits of 2 s).
  std::vector<pb::Job> LeaseWait(const std::string& worker, uint32_t max, int tries = 10) {
    for (int i = 0; i < tries; ++i) {
      auto jobs = Lease(worker, max, 2000);
      if (!jobs.empty()) return jobs;
    }
    return {};
  }

  grpc::Status Complete(const std::string& worker, const pb::Job& j) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::CompleteJobRequest req;
    req.set_job_id(j.job_id());
    req.set_lease_token(j.lease_token());
    req.set_remote_ref("ref-" + std::to_string(j.job_id()));
    pb::CompleteJobResponse resp;
    return worker_->CompleteJob(&ctx, req, &resp);
  }

  grpc::Status Fail(const std::string& worker, const pb::Job& j, bool retryable,
                    const std::string& error, pb::FailJobResponse* resp, bool auth = false) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::FailJobRequest req;
    req.set_job_id(j.job_id());
    req.set_lease_token(j.lease_token());
    req.set_retryable(retryable);
    req.set_error(error);
    req.set_auth_failure(auth);
    return worker_->FailJob(&ctx, req, resp);
  }

  grpc::Status Renew(const std::string& worker, const pb::Job& j, pb::RenewLeaseResponse* resp) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::RenewLeaseRequest req;
    req.set_job_id(j.job_id());
    req.set_lease_token(j.lease_token());
    return worker_->RenewLease(&ctx, req, resp);
  }

  std::vector<pb::JobInfo> Jobs(std::vector<pb::JobState> states = {}) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::ListJobsRequest req;
    for (auto s : states) req.add_states(s);
    pb::ListJobsResponse resp;
    grpc::Status st = admin_->ListJobs(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.jobs().begin(), resp.jobs().end()};
  }

  pb::StatusResponse Status() {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::StatusResponse resp;
    grpc::Status st = admin_->GetStatus(&ctx, pb::GetStatusRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  grpc::Status Cancel(const pb::JobSelector& sel, uint64_t* affected) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::JobActionResponse resp;
    grpc::Status st = admin_->CancelJobs(&ctx, sel, &resp);
    *affected = resp.affected();
    return st;
  }

  uint64_t Retry(const pb::JobSelector& sel) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::JobActionResponse resp;
    grpc::Status st = admin_->RetryJobs(&ctx, sel, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.affected();
  }

  pb::ListVersionsResponse Versions(const std::string& device, const pb::ListVersionsRequest& req) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    pb::ListVersionsResponse resp;
    grpc::Status st = agent_->ListVersions(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  std::shared_ptr<grpc::Channel> ch_;
  std::unique_ptr<pb::AgentService::Stub> agent_;
  std::unique_ptr<pb::WorkerService::Stub> worker_;
  std::unique_ptr<pb::AdminService::Stub> admin_;
};

class CoordinatorTest : public testsupport::CoordinatorFixture {
 protected:
  // Starts the coordinator (options adjusted by `tweak`) and a client.
  void StartCoordinator(const Tweak& tweak = nullptr) {
    StartHarness(tweak);
    ASSERT_NE(harness_, nullptr);
    client_ = std::make_unique<Client>(harness_->address());
  }

  // Hello + one file of `size` bytes reported and uploaded; returns the file.
  TestFile StoreFile(const std::string& device, const std::string& path, size_t size,
                     uint32_t seed) {
    pb::HelloResponse hello = client_->Hello(device);
    TestFile f = MakeFile(path, PseudoRandomBytes(size, seed), hello.chunk_id_key());
    client_->Report(device, {f});
    client_->PutFile(device, f);
    return f;
  }

  // n empty files (complete at once) on `device`.
  void ReportEmptyFiles(const std::string& device, int n, const std::string& prefix = "empty") {
    client_->Hello(device);
    pb::ReportFilesRequest req;
    for (int i = 0; i < n; ++i) {
      TestFile f;
      f.path = absl::StrCat(prefix, "/", i, ".txt");
      *req.add_files() = Report(f);
    }
    pb::ReportFilesResponse resp;
    grpc::Status st = client_->ReportFiles(device, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    for (const auto& r : resp.results()) ASSERT_EQ(r.code(), 0) << r.message();
  }

  std::unique_ptr<Client> client_;
};

int CountBlobs(const std::string& dir, int* temp_files = nullptr) {
  int blobs = 0, temps = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    const std::string name = it->path().filename().string();
    if (name.size() == 62 && name.find_first_not_of("0123456789abcdef") == std::string::npos) {
      ++blobs;
    } else {
      ++temps;
    }
  }
  if (temp_files) *temp_files = temps;
  return blobs;
}

std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return "";
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
  close(fd);
  return out;
}

// ---------------------------------------------------------------------------

TEST_F(CoordinatorTest, SameContentFromTwoDevicesIsStoredOnce) {
  StartCoordinator();
  pb::HelloResponse hello = client_->Hello("laptop");
  client_->Hello("phone");
  TestFile a = MakeFile("2024/beach.jpg", PseudoRandomBytes(200 * 1024, 1), hello.chunk_id_key());
  pb::ReportFilesResponse r1 = client_->Report("laptop", {a});
  ASSERT_EQ(r1.results_size(), 1);
  EXPECT_EQ(r1.results(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
  EXPECT_EQ(r1.results(0).missing_chunk_ids_size(), 4);
  auto acks = client_->PutFile("laptop", a);
  for (const auto& ack : acks) EXPECT_EQ(ack.code(), 0) << ack.message();
  ASSERT_EQ(acks.back().completed_version_ids_size(), 1);
  EXPECT_EQ(acks.back().completed_version_ids(0), r1.results(0).version_id());

  TestFile b = a;
  b.path = "DCIM/IMG_0001.jpg";
  pb::ReportFilesResponse r2 = client_->Report("phone", {b});
  EXPECT_EQ(r2.results(0).code(), 0);
  EXPECT_EQ(r2.results(0).missing_chunk_ids_size(), 0);
  // Nothing to upload, but the phone proves it has the chunks
  // (docs/security.md, proof of ownership; tests/coordinator/chunk_ownership_test.cc).
  EXPECT_EQ(r2.results(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
  ASSERT_EQ(r2.results(0).challenges_size(), 4);
  EXPECT_EQ(client_->Prove("phone", b, r2.results(0)), r2.results(0).version_id());
  EXPECT_EQ(client_->Report("phone", {b}).results(0).state(), pb::VERSION_STATE_COMPLETE);

  pb::StatusResponse s = client_->Status();
  EXPECT_EQ(s.chunks_stored(), 4u);
  EXPECT_EQ(s.chunk_bytes(), 200u * 1024);
  EXPECT_EQ(s.duplicate_files(), 1u);
  EXPECT_EQ(CountBlobs(harness_->options().chunk_store), 4);
}

// Two devices back up the same photo at the same time: the chunks are asked
// of the first device only (coordinator/upload_claims.h); once they are
// stored, the second device proves it has them and its version completes.
TEST_F(CoordinatorTest, AChunkBeingSentByOneDeviceIsNotAskedOfAnother) {
  StartCoordinator();
  pb::HelloResponse hello = client_->Hello("laptop");
  client_->Hello("phone");
  TestFile a = MakeFile("2024/beach.jpg", PseudoRandomBytes(200 * 1024, 21), hello.chunk_id_key());
  TestFile b = a;
  b.path = "DCIM/IMG_0002.jpg";
  pb::ReportFilesResponse r1 = client_->Report("laptop", {a});
  EXPECT_EQ(r1.results(0).missing_chunk_ids_size(), 4);
  pb::ReportFilesResponse r2 = client_->Report("phone", {b});
  EXPECT_EQ(r2.results(0).code(), 0);
  EXPECT_EQ(r2.results(0).state(), pb::VERSION_STATE_PENDING_CHUNKS);
  EXPECT_EQ(r2.results(0).missing_chunk_ids_size(), 0);  // the laptop is sending them

  // The laptop's upload completes its version; the phone then proves it
  // has the chunks (proof of ownership) without sending them.
  auto acks = client_->PutFile("laptop", a);
  std::set<int64_t> completed;
  for (const auto& ack : acks) {
    EXPECT_EQ(ack.code(), 0) << ack.message();
    completed.insert(ack.completed_version_ids().begin(), ack.completed_version_ids().end());
  }
  EXPECT_EQ(completed, (std::set<int64_t>{r1.results(0).version_id()}));
  pb::ReportFilesResponse again = client_->Report("phone", {b});
  EXPECT_EQ(again.results(0).missing_chunk_ids_size(), 0);
  EXPECT_EQ(client_->Prove("phone", b, again.results(0)), r2.results(0).version_id());
  EXPECT_EQ(client_->Report("phone", {b}).results(0).state(), pb::VERSION_STATE_COMPLETE);
  EXPECT_EQ(CountBlobs(harness_->options().chunk_store), 4);
}

// A refused upload ends the claim: the next device to report the chunk is
// asked for it.
TEST_F(CoordinatorTest, AChunkWhoseUploadWasRefusedIsAskedOfTheNextDevice) {
  StartCoordinator();
  pb::HelloResponse hello = client_->Hello("laptop");
  client_->Hello("phone");
  TestFile a = MakeFile("clip.mov", PseudoRandomBytes(64 * 1024, 22), hello.chunk_id_key());
  ASSERT_EQ(a.chunk_ids.size(), 1u);
  TestFile b = a;
  b.path = "clip-copy.mov";
  ASSERT_EQ(client_->Report("laptop", {a}).results(0).missing_chunk_ids_size(), 1);
  // The laptop's file changed under it: the bytes do not match the ID.
  std::string changed = a.chunk_data[0];
  changed[0] ^= 1;
  auto acks = client_->Put("laptop", {{a.chunk_ids[0], changed}});
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  pb::ReportFilesResponse r2 = client_->Report("phone", {b});
  ASSERT_EQ(r2.results(0).missing_chunk_ids_size(), 1);
  auto ok = client_->Put("phone", {{a.chunk_ids[0], a.chunk_data[0]}});
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].code(), 0) << ok[0].message();
  // The laptop never sent the right bytes: it proves it has them now.
  pb::ReportFilesResponse again = client_->Report("laptop", {a});
  ASSERT_EQ(again.results(0).challenges_size(), 1);
  EXPECT_EQ(client_->Prove("laptop", a, again.results(0)), again.results(0).version_id());
  EXPECT_EQ(client_->Report("laptop", {a}).results(0).state(), pb::VERSION_STATE_COMPLETE);
}

TEST_F(CoordinatorTest, ChunksOnParallelStreamsCompleteTheVersionExactlyOnce) {
  StartCoordinator();
  client_->CreateDestination("nas");
  pb::HelloResponse hello = client_->Hello("laptop");
  client_->Bind("laptop", "", "nas");
  TestFile f =
      MakeFile("burst.mov", PseudoRandomBytes(32 * 16 * 1024, 11), hello.chunk_id_key(), 16 * 1024);
  ASSERT_EQ(f.chunk_ids.size(), 32u);
  client_->Report("laptop", {f});
  std::atomic<int> completions{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      Client c(harness_->address());
      std::vector<std::pair<std::string, std::string>> mine;
      for (size_t i = t; i < f.chunk_ids.size(); i += 4)
        mine.emplace_back(f.chunk_ids[i], f.chunk_data[i]);
      for (const auto& ack : c.Put("laptop", mine)) {
        EXPECT_EQ(ack.code(), 0) << ack.message();
        completions += ack.completed_version_ids_size();
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(completions.load(), 1);
  EXPECT_EQ(client_->Jobs().size(), 1u);
  EXPECT_EQ(client_->Report("laptop", {f}).results(0).state(), pb::VERSION_STATE_COMPLETE);
}

TEST_F(CoordinatorTest, AdminSeesDevicesDestinationsAndAgentCounters) {
  StartCoordinator();
  client_->Hello("laptop", {kFolder, "/home/ana/Videos"});
  {
    grpc::ClientContext ctx;
    AsDevice(&ctx, "laptop");
    pb::HeartbeatRequest hb;
    hb.set_files_pending(12);
    hb.set_bytes_pending(3400);
    hb.set_upload_rate_bps(1000);
    pb::HeartbeatResponse r;
    ASSERT_TRUE(client_->agent_->Heartbeat(&ctx, hb, &r).ok());
    EXPECT_GT(r.server_unix_ms(), 0);
  }
  client_->CreateDestination("nas");
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::CreateDestinationRequest req;
    req.set_name("nas");
    req.set_kind("local");
    req.set_settings_json(R"({"root":"/srv/other"})");
    pb::Destination d;
    EXPECT_EQ(client_->admin_->CreateDestination(&ctx, req, &d).error_code(),
              grpc::StatusCode::ALREADY_EXISTS);
  }
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::CreateDestinationRequest req;
    req.set_name("bad");
    req.set_kind("local");
    req.set_settings_json("[1,2]");
    pb::Destination d;
    grpc::Status st = client_->admin_->CreateDestination(&ctx, req, &d);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(st.error_message().find("settings_json"), std::string::npos);
  }
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::ListDestinationsResponse r;
    ASSERT_TRUE(client_->admin_->ListDestinations(&ctx, pb::ListDestinationsRequest(), &r).ok());
    ASSERT_EQ(r.destinations_size(), 1);
    EXPECT_EQ(r.destinations(0).settings_json(), R"({"root": "/srv/backup"})");
  }
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::ListDevicesResponse r;
    ASSERT_TRUE(client_->admin_->ListDevices(&ctx, pb::ListDevicesRequest(), &r).ok());
    ASSERT_EQ(r.devices_size(), 1);
    EXPECT_EQ(r.devices(0).name(), "laptop");
    EXPECT_EQ(r.devices(0).hostname(), "laptop.lan");
    EXPECT_EQ(r.devices(0).folders_size(), 2);
    EXPECT_GT(r.devices(0).last_seen_unix_ms(), 0);
  }
  // Binding an unknown folder or destination names the field.
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::BindFolderRequest req;
    req.set_device("laptop");
    req.set_folder("/not/announced");
    req.set_destination("nas");
    pb::BindFolderResponse r;
    grpc::Status st = client_->admin_->BindFolder(&ctx, req, &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(st.error_message().rfind("folder:", 0), 0u) << st.error_message();
  }
  TestFile f = StoreFile("laptop", "a.jpg", 1000, 5);
  pb::StatusResponse s = client_->Status();
  ASSERT_EQ(s.devices_size(), 1);
  EXPECT_EQ(s.devices(0).name(), "laptop");
  EXPECT_EQ(s.devices(0).files(), 1u);
  EXPECT_EQ(s.devices(0).bytes(), 1000u);
  EXPECT_EQ(s.devices(0).agent_files_pending(), 12u);
  EXPECT_EQ(s.devices(0).agent_bytes_pending(), 3400u);
  // An admin restores any device's chunk as plaintext.
  grpc::ClientContext ctx;
  AsAdmin(&ctx);
  pb::ReadChunksRequest req;
  req.add_ids(f.chunk_ids[0]);
  auto reader = client_->admin_->ReadChunks(&ctx, req);
  pb::ChunkData d;
  ASSERT_TRUE(reader->Read(&d));
  EXPECT_EQ(d.data(), f.data);
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(CoordinatorTest, ReportingTheSameFileTwiceCreatesOneVersion) {
  StartCoordinator();
  pb::HelloResponse hello = client_->Hello("laptop");
  TestFile a = MakeFile("a.jpg", PseudoRandomBytes(100000, 2), hello.chunk_id_key());
  auto r1 = client_->Report("laptop", {a});
  auto r2 = client_->Report("laptop", {a});
  EXPECT_EQ(r1.results(0).version_id(), r2.results(0).version_id());
  EXPECT_EQ(r2.results(0).missing_chunk_ids_size(), 2) << "still missing until uploaded";
  client_->PutFile("laptop", a);
  auto r3 = client_->Report("laptop", {a});
  EXPECT_EQ(r3.results(0).version_id(), r1.results(0).version_id());
  EXPECT_EQ(r3.results(0).state(), pb::VERSION_STATE_COMPLETE);
}

TEST_F(CoordinatorTest, NonUtf8PathsRoundTripExactly) {
  StartCoordinator();
  const std::string folder = "/media/\xc3\xa9t\xe9";  // mixed UTF-8 and Latin-1
  pb::HelloResponse hello = client_->Hello("laptop", {folder});
  TestFile f = MakeFile("caf\xe9/\xff\xfe photo #1.jpg", "tiny", hello.chunk_id_key());
  pb::ReportFilesRequest req;
  *req.add_files() = Report(f, folder);
  pb::ReportFilesResponse resp;
  ASSERT_TRUE(client_->ReportFiles("laptop", req, &resp).ok());
  ASSERT_EQ(resp.results(0).code(), 0) << resp.results(0).message();
  client_->PutFile("laptop", f);
  pb::ListVersionsResponse v = client_->Versions("laptop", pb::ListVersionsRequest());
  ASSERT_EQ(v.versions_size(), 1);
  EXPECT_EQ(v.versions(0).path(), f.path);
  EXPECT_EQ(v.versions(0).folder(), folder);
  EXPECT_EQ(v.versions(0).device(), "laptop");
  ASSERT_EQ(v.versions(0).chunks_size(), 1);
  EXPECT_EQ(v.versions(0).chunks(0).id(), f.chunk_ids[0]);
}

TEST_F(CoordinatorTest, BadInputIsRefusedNamingTheField) {
  StartCoordinator([](CoordinatorOptions& o) { o.limits.max_report_batch = 5; });
  pb::HelloResponse hello = client_->Hello("laptop");
  TestFile good = MakeFile("ok.jpg", "hello", hello.chunk_id_key());

  // Oversized batch: the whole call.
  pb::ReportFilesRequest big;
  for (int i = 0; i < 6; ++i) {
    TestFile f = good;
    f.path = absl::StrCat("f", i);
    *big.add_files() = Report(f);
  }
  pb::ReportFilesResponse resp;
  grpc::Status st = client_->ReportFiles("laptop", big, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("files:"), std::string::npos) << st.error_message();

  // Bad entries: each its own result naming the field; good ones recorded.
  pb::ReportFilesRequest req;
  *req.add_files() = Report(good);
  auto add = [&](auto mutate) {
    pb::FileReport r = Report(good);
    r.set_path(absl::StrCat("x", req.files_size()));
    mutate(r);
    *req.add_files() = r;
  };
  add([](pb::FileReport& r) { r.set_path("../etc/passwd"); });
  add([](pb::FileReport& r) { r.set_path("/abs/path"); });
  add([](pb::FileReport& r) { r.mutable_chunks(0)->set_id("short"); });
  add([](pb::FileReport& r) { r.set_size(r.size() + 1); });
  pb::ReportFilesResponse r2;
  ASSERT_TRUE(client_->ReportFiles("laptop", req, &r2).ok());
  ASSERT_EQ(r2.results_size(), 5);
  EXPECT_EQ(r2.results(0).code(), 0);
  EXPECT_GT(r2.results(0).version_id(), 0);
  const char* fields[] = {"", "files[1].path", "files[2].path", "files[3].chunks[0].id",
                          "files[4].chunks"};
  for (int i = 1; i < 5; ++i) {
    EXPECT_EQ(r2.results(i).code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_NE(r2.results(i).message().find(fields[i]), std::string::npos)
        << r2.results(i).message();
  }

  // A folder the device never announced.
  pb::ReportFilesRequest other;
  *other.add_files() = Report(good, "/somewhere/else");
  pb::ReportFilesResponse r3;
  ASSERT_TRUE(client_->ReportFiles("laptop", other, &r3).ok());
  EXPECT_NE(r3.results(0).message().find("files[0].folder"), std::string::npos);

  // Unknown device.
  pb::ReportFilesResponse r4;
  st = client_->ReportFiles("never-said-hello", req, &r4);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("Hello"), std::string::npos);

  // A chunk whose bytes do not match its ID.
  auto acks = client_->Put("laptop", {{good.chunk_ids[0], "hellO"}});
  EXPECT_EQ(acks[0].code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_NE(acks[0].message().find("do not match"), std::string::npos);
  EXPECT_EQ(CountBlobs(harness_->options().chunk_store), 0);
}

TEST_F(CoordinatorTest, CallsOutsideTheCallersRoleAreRefusedAndAudited) {
  StartCoordinator();
  auto ch = testsupport::Channel(harness_->address());
  auto agent = pb::AgentService::NewStub(ch);
  auto worker = pb::WorkerService::NewStub(ch);
  auto admin = pb::AdminService::NewStub(ch);
  {
    grpc::ClientContext ctx;
    pb::HelloResponse r;
    EXPECT_EQ(agent->Hello(&ctx, pb::HelloRequest(), &r).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    AsDevice(&ctx, "laptop");
    pb::LeaseJobsResponse r;
    grpc::Status st = worker->LeaseJobs(&ctx, pb::LeaseJobsRequest(), &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_NE(st.error_message().find("workers only"), std::string::npos) << st.error_message();
  }
  {
    grpc::ClientContext ctx;
    AsWorker(&ctx, "w1");
    pb::ReportFilesResponse r;
    EXPECT_EQ(agent->ReportFiles(&ctx, pb::ReportFilesRequest(), &r).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    AsDevice(&ctx, "laptop");
    pb::StatusResponse r;
    EXPECT_EQ(admin->GetStatus(&ctx, pb::GetStatusRequest(), &r).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::HelloResponse r;
    EXPECT_EQ(agent->Hello(&ctx, pb::HelloRequest(), &r).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    AsWorker(&ctx, "w1");
    AsDevice(&ctx, "laptop");
    pb::HelloResponse r;
    EXPECT_EQ(agent->Hello(&ctx, pb::HelloRequest(), &r).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // A device lists only its own versions.
  client_->Hello("laptop");
  {
    grpc::ClientContext ctx;
    AsDevice(&ctx, "laptop");
    pb::ListVersionsRequest req;
    req.set_device("phone");
    pb::ListVersionsResponse r;
    EXPECT_EQ(agent->ListVersions(&ctx, req, &r).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  auto audit = harness_->coordinator().store().RecentAudit(20);
  ASSERT_TRUE(audit.ok());
  int refused = 0;
  for (const auto& e : *audit) refused += e.allowed ? 0 : 1;
  EXPECT_EQ(refused, 6);
}

TEST_F(CoordinatorTest, CompletedVersionGetsOneDeliveryPerBoundDestination) {
  StartCoordinator();
  client_->Hello("laptop");
  client_->CreateDestination("nas");
  client_->CreateDestination("s3-offsite", "s3");
  client_->Bind("laptop", kFolder, "nas");
  client_->Bind("laptop", "", "nas");  // whole device, same destination: still one job
  client_->Bind("laptop", kFolder, "s3-offsite");
  TestFile f = StoreFile("laptop", "img.jpg", 70000, 3);
  auto jobs = client_->Jobs();
  ASSERT_EQ(jobs.size(), 2u);
  std::set<std::string> dests;
  for (const auto& j : jobs) {
    dests.insert(j.destination());
    EXPECT_EQ(j.state(), pb::JOB_STATE_QUEUED);
    EXPECT_EQ(j.path(), "img.jpg");
    EXPECT_EQ(j.device(), "laptop");
  }
  EXPECT_EQ(dests, (std::set<std::string>{"nas", "s3-offsite"}));
  // Binding another destination with backfill creates the missing delivery.
  client_->CreateDestination("usb");
  EXPECT_EQ(client_->Bind("laptop", kFolder, "usb", /*backfill=*/true), 1u);
  EXPECT_EQ(client_->Jobs().size(), 3u);

  // The job carries the version and its chunk list.
  client_->Register("w1", {"local"});
  auto leased = client_->Lease("w1", 10);
  ASSERT_EQ(leased.size(), 2u);
  EXPECT_EQ(leased[0].file().chunks_size(), 2);
  EXPECT_EQ(leased[0].file().size(), 70000u);
  EXPECT_EQ(leased[0].destination().kind(), "local");
  EXPECT_EQ(leased[0].attempt(), 1u);
}

TEST_F(CoordinatorTest, BindingWhileVersionsCompleteLosesNoDelivery) {
  // A bind with backfill racing with versions that complete must leave every
  // complete version with exactly one delivery per bound destination.
  StartCoordinator();
  client_->Hello("cam");
  constexpr int kDests = 6;
  for (int d = 0; d < kDests; ++d) client_->CreateDestination(absl::StrCat("d", d));
  std::thread reporter([&] {
    for (int b = 0; b < 40; ++b) ReportEmptyFiles("cam", 25, absl::StrCat("batch", b));
  });
  std::thread binder([&] {
    Client c(harness_->address());
    for (int d = 0; d < kDests; ++d) {
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
      c.Bind("cam", kFolder, absl::StrCat("d", d), /*backfill=*/true);
    }
  });
  reporter.join();
  binder.join();
  auto versions = pg()->Query("SELECT count(*) FROM file_versions WHERE state = 2", db_);
  auto jobs = pg()->Query("SELECT count(*) FROM jobs WHERE kind = 1", db_);
  auto pairs = pg()->Query(
      "SELECT count(*) FROM (SELECT version_id, destination_id FROM jobs WHERE kind = 1 "
      "GROUP BY 1, 2 HAVING count(*) > 1) x",
      db_);
  ASSERT_TRUE(versions.ok() && jobs.ok() && pairs.ok());
  EXPECT_EQ(std::stoll(*versions), 1000);
  EXPECT_EQ(std::stoll(*jobs), 1000 * kDests);
  EXPECT_EQ(std::stoll(*pairs), 0);
}

TEST_F(CoordinatorTest, ManyConcurrentWorkersNeverHoldTheSameJob) {
  StartCoordinator([](CoordinatorOptions& o) { o.limits.lease_ms = 60000; });
  client_->CreateDestination("nas");
  client_->Hello("laptop");
  client_->Bind("laptop", "", "nas");
  const int kJobs = 400;
  ReportEmptyFiles("laptop", kJobs);
  std::mutex mu;
  std::map<int64_t, int> leased_count;
  std::atomic<int> complete_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Client c(harness_->address());
      const std::string name = absl::StrCat("w", t);
      c.Register(name);
      for (;;) {
        auto jobs = c.Lease(name, 7);
        if (jobs.empty()) break;
        for (const auto& j : jobs) {
          {
            std::lock_guard<std::mutex> l(mu);
            ++leased_count[j.job_id()];
          }
          if (!c.Complete(name, j).ok()) ++complete_errors;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(leased_count.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, n] : leased_count) EXPECT_EQ(n, 1) << "job " << id;
  EXPECT_EQ(complete_errors.load(), 0);
  pb::StatusResponse s = client_->Status();
  ASSERT_EQ(s.destinations_size(), 1);
  EXPECT_EQ(s.destinations(0).deliveries().delivered_files(), static_cast<uint64_t>(kJobs));
  EXPECT_EQ(s.destinations(0).deliveries().pending_files(), 0u);
}

TEST_F(CoordinatorTest, ExpiredLeaseReturnsJobToQueueAndOldHolderIsRefused) {
  StartCoordinator([](CoordinatorOptions& o) { o.limits.lease_ms = 1000; });
  client_->CreateDestination("nas");
  client_->Hello("laptop");
  client_->Bind("laptop", "", "nas");
  ReportEmptyFiles("laptop", 1);
  client_->Register("slow");
  client_->Register("fast");
  auto first = client_->Lease("slow", 1);
  ASSERT_EQ(first.size(), 1u);
  // "fast" gets it once the lease has expired.
  auto second = client_->LeaseWait("fast", 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].job_id(), first[0].job_id());
  EXPECT_EQ(second[0].attempt(), 2u);
  EXPECT_NE(second[0].lease_token(), first[0].lease_token());

  grpc::Status late = client_->Complete("slow", first[0]);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  pb::FailJobResponse late_fail;
  EXPECT_EQ(client_->Fail("slow", first[0], true, "late", &late_fail).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  pb::RenewLeaseResponse renew;
  EXPECT_EQ(client_->Renew("slow", first[0], &renew).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(client_->Renew("fast", second[0], &renew).ok());
  EXPECT_FALSE(renew.cancelled());
  EXPECT_TRUE(client_->Complete("fast", second[0]).ok());
  EXPECT_TRUE(client_->Complete("fast", second[0]).ok()) << "completing twice is fine";
  auto jobs = client_->Jobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].state(), pb::JOB_STATE_DONE);
}

TEST_F(CoordinatorTest, RetryableFailureWaitsWithBackoffThenRunsAgain) {
  StartCoordinator([](CoordinatorOptions& o) {
    o.limits.backoff_base_ms = 1000;
    o.limits.max_attempts = 5;
  });
  client_->CreateDestination("nas");
  client_->Hello("laptop");
  client_->Bind("laptop", "", "nas");
  ReportEmptyFiles("laptop", 1);
  client_->Register("w1");
  auto jobs = client_->Lease("w1", 1);
  ASSERT_EQ(jobs.size(), 1u);
  const int64_t before = absl::ToUnixMillis(absl::Now());
  pb::FailJobResponse fail;
  ASSERT_TRUE(client_->Fail("w1", jobs[0], true, "503 Service Unavailable", &fail).ok());
  EXPECT_EQ(fail.state(), pb::JOB_STATE_RETRY_WAIT);
  EXPECT_GE(fail.next_attempt_unix_ms(), before + 500);  // base 1000 ms, jitter >= 0.5
  auto waiting = client_->Jobs({pb::JOB_STATE_RETRY_WAIT});
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_NE(waiting[0].waiting_reason().find("backoff until"), std::string::npos);
  EXPECT_NE(waiting[0].waiting_reason().find("503 Service Unavailable"), std::string::npos);
  EXPECT_EQ(waiting[0].last_error(), "503 Service Unavailable");

  auto again = client_->LeaseWait("w1", 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt(), 2u);
  EXPECT_GE(absl::ToUnixMillis(absl::Now()), fail.next_attempt_unix_ms());
}

TEST_F(CoordinatorTest, JobIsDeadLetteredAfterMaxAttemptsAndAdminCanRetryIt) {
  StartCoordinator([](CoordinatorOptions& o) {
    o.limits.backoff_base_ms = 50;
    o.limits.backoff_max_ms = 100;
    o.limits.max_attempts = 2;
  });
  client_->CreateDestination("nas");
  client_->Hello("laptop");
  client_->Bind("laptop", "", "nas");
  ReportEmptyFiles("laptop", 2);
  client_->Register("w1");
  auto jobs = client_->Lease("w1", 1);
  ASSERT_EQ(jobs.size(), 1u);
  const int64_t id = jobs[0].job_id();
  pb::FailJobResponse fail;
  ASSERT_TRUE(client_->Fail("w1", jobs[0], true, "timeout 1", &fail).ok());
  EXPECT_EQ(fail.state(), pb::JOB_STATE_RETRY_WAIT);
  std::vector<pb::Job> again;
  for (int i = 0; i < 20 && again.empty(); ++i) {
    for (auto& j : client_->LeaseWait("w1", 1)) {
      if (j.job_id() == id) {
        again.push_back(j);
      } else {
        ASSERT_TRUE(client_->Complete("w1", j).ok());
      }
    }
  }
  ASSERT_EQ(again.size(), 1u);
  ASSERT_TRUE(client_->Fail("w1", again[0], true, "timeout 2", &fail).ok());
  EXPECT_EQ(fail.state(), pb::JOB_STATE_DEAD);
  auto dead = client_->Jobs({pb::JOB_STATE_DEAD});
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].last_error(), "timeout 2");
  EXPECT_NE(dead[0].waiting_reason().find("dead after 2 attempts"), std::string::npos);
  // The hint names a command that exists (issue 16: it said `shoebox jobs retry`).
  EXPECT_NE(dead[0].waiting_reason().find(absl::StrCat("`shoebox retry --job ", id, "`")),
            std::string::npos)
      << dead[0].waiting_reason();
  pb::StatusResponse s = client_->Status();
  EXPECT_EQ(s.destinations(0).deliveries().dead_files(), 1u);
  EXPECT_EQ(s.devices(0).deliveries().dead_files(), 1u);

  EXPECT_EQ(client_->Retry(pb::JobSelector()), 1u);  // default: dead jobs
  auto retried = client_->LeaseWait("w1", 1);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].job_id(), id);
  EXPECT_EQ(retried[0].attempt(), 1u);
  EXPECT_TRUE(client_->Complete("w1", retried[0]).ok());
}

// A worker stopped or restarted while its long poll waits: the coordinator
// must not lease jobs to the poll it left behind (they would sit leased to
// nobody until the lease expired, a minute by default).
TEST_F(CoordinatorTest, AWorkerThatHungUpWhileWaitingLeasesNothing) {
  StartCoordinator();
  client_->CreateDestination("nas");
  client_->Hello("laptop");
  client_->Bind("laptop", "", "nas");
  client_->Register("w1");
  client_->Register("w2");
  grpc::ClientContext ctx;
  AsWorker(&ctx, "w1");
  pb::LeaseJobsRequest req;
  req.set_max_jobs(5);
  req.set_wait_ms(8000);
  pb::LeaseJobsResponse resp;
  grpc::Status poll_status;
  std::thread poll([&] { poll_status = client_->worker_->LeaseJobs(&ctx, req, &resp); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ctx.TryCancel();  // w1 goes away mid-wait
  poll.join();
  EXPECT_EQ(poll_status.error_code(), grpc::StatusCode::CANCELLED);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server sees it
  ReportEmptyFiles("laptop", 1);  // a job appears while w1's wait would still run
  // Time for w1's abandoned wait, were it still polling, to take the job.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto jobs = client_->Lease("w2", 5);
  ASSERT_EQ(jobs.size(), 1u) << "the job is held by the abandoned poll";
  EXPECT_EQ(jobs[0].attempt(), 1u);
}

TEST_F(CoordinatorTest, PermanentFailureIsDeadAtOnce) {
  StartCoordinator();
  client_->CreateDestination("nas");
  client_->Hello("laptop");
  client_->Bind("laptop", "", "nas");
  ReportEmptyFiles("laptop", 1);
  client_->Register("w1");
  auto jobs = client_->Lease("w1", 1);
  ASSERT_EQ(jobs.size(), 1u);
  pb::FailJobResponse fail;
  ASSERT_TRUE(client_->Fail("w1", jobs[0], false, "413 too large", &fail).ok());
  EXPECT_EQ(fail.state(), pb::JOB_STATE_DEAD);
  EXPECT_TRUE(client_->Lease("w1", 1).empty());
}

TEST_F(CoordinatorTest, HigherPriorityJobsAreLeasedFirst) {
  StartCoordinator();
  client_->Hello("cam");
  client_->CreateDestination("slow");
  client_->CreateDestination("urgent");
  client_->Bind("cam", kFolder, "slow");
  client_->Bind("cam", kFolder, "urgent");
  ReportEmptyFiles("cam", 5);
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::SetJobPriorityRequest req;
    req.mutable_selector()->set_destination("urgent");
    req.set_priority(10);
    pb::JobActionResponse resp;
    grpc::Status st = client_->admin_->SetJobPriority(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.affected(), 5u);
  }
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::SetJobPriorityRequest req;  // no selector: refused, not "every job"
    req.set_priority(1);
    pb::JobActionResponse resp;
    EXPECT_EQ(client_->admin_->SetJobPriority(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  client_->Register("w1", {"local"});
  auto first = client_->Lease("w1", 5);
  ASSERT_EQ(first.size(), 5u);
  for (const auto& j : first) EXPECT_EQ(j.destination().name(), "urgent");
  auto next = client_->Lease("w1", 5);
  ASSERT_EQ(next.size(), 5u);
  for (const auto& j : next) EXPECT_EQ(j.destination().name(), "slow");
}

TEST_F(CoordinatorTest, ListVersionsShowsWhereEachCopyIs) {
  StartCoordinator();
  client_->Hello("cam");
  client_->CreateDestination("nas");
  client_->CreateDestination("usb");
  client_->Bind("cam", kFolder, "nas");
  client_->Bind("cam", kFolder, "usb");
  StoreFile("cam", "img.jpg", 70000, 9);
  client_->Register("w1", {"local"}, {"nas"});
  auto jobs = client_->Lease("w1", 10);
  ASSERT_EQ(jobs.size(), 1u);
  ASSERT_TRUE(client_->Complete("w1", jobs[0]).ok());
  grpc::ClientContext ctx;
  AsAdmin(&ctx);
  pb::ListVersionsRequest req;
  req.set_device("cam");
  pb::ListVersionsResponse resp;
  ASSERT_TRUE(client_->admin_->ListVersions(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.versions_size(), 1);
  const auto& v = resp.versions(0);
  ASSERT_EQ(v.copies_size(), 2);
  EXPECT_EQ(v.copies(0).destination(), "nas");
  EXPECT_EQ(v.copies(0).state(), "delivered");
  EXPECT_EQ(v.copies(0).remote_ref(), absl::StrCat("ref-", jobs[0].job_id()));
  EXPECT_GT(v.copies(0).finished_unix_ms(), 0);
  EXPECT_EQ(v.copies(1).destination(), "usb");
  EXPECT_EQ(v.copies(1).state(), "pending");
}

TEST_F(CoordinatorTest, CancelStopsQueuedAndLeasedJobs) {
  StartCoordinator();
  client_->CreateDestination("nas");
  client_->Hello("laptop");
  client_->Bind("laptop", "", "nas");
  ReportEmptyFiles("laptop", 2);
  client_->Register("w1");
  auto jobs = client_->Lease("w1", 1);
  ASSERT_EQ(jobs.size(), 1u);
  uint64_t affected = 0;
  EXPECT_EQ(client_->Cancel(pb::JobSelector(), &affected).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  pb::JobSelector sel;
  sel.set_destination("nas");
  ASSERT_TRUE(client_->Cancel(sel, &affected).ok());
  EXPECT_EQ(affected, 2u);  // one leased, one queued
  pb::RenewLeaseResponse renew;
  ASSERT_TRUE(client_->Renew("w1", jobs[0], &renew).ok());
  EXPECT_TRUE(renew.cancelled());
  EXPECT_EQ(client_->Complete("w1", jobs[0]).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(client_->Lease("w1", 5).empty());
  for (const auto& j : client_->Jobs()) {
    EXPECT_EQ(j.state(), pb::JOB_STATE_CANCELLED);
    EXPECT_NE(j.waiting_reason().find("cancelled"), std::string::npos);
  }
  pb::JobSelector unknown;
  unknown.set_destination("nope");
  EXPECT_EQ(client_->Cancel(unknown, &affected).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(CoordinatorTest, DestinationConcurrencyLimitHoldsAndIsTheWaitingReason) {
  StartCoordinator();
  client_->CreateDestination("flickr", "local", /*max_concurrency=*/2);
  client_->Hello("laptop");
  client_->Bind("laptop", "", "flickr");
  ReportEmptyFiles("laptop", 5);
  client_->Register("w1");
  client_->Register("w2");
  EXPECT_EQ(client_->Lease("w1", 5).size(), 2u);
  EXPECT_EQ(client_->Lease("w2", 5).size(), 0u);
  auto queued = client_->Jobs({pb::JOB_STATE_QUEUED});
  ASSERT_EQ(queued.size(), 3u);
  EXPECT_NE(queued[0].waiting_reason().find("concurrency limit (2"), std::string::npos)
      << queued[0].waiting_reason();
  pb::StatusResponse s = client_->Status();
  EXPECT_EQ(s.destinations(0).deliveries().in_flight_files(), 2u);
  EXPECT_EQ(s.destinations(0).deliveries().pending_files(), 3u);
  EXPECT_NE(s.destinations(0).oldest_pending_reason(), "");
}

TEST_F(CoordinatorTest, WorkersLeaseOnlyTheKindsAndDestinationsTheyServe) {
  StartCoordinator();
  client_->CreateDestination("bucket", "s3");
  client_->CreateDestination("nas", "local");
  client_->Hello("laptop");
  client_->Bind("laptop", "", "bucket");
  ReportEmptyFiles("laptop", 1);
  auto queued = client_->Jobs();
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_NE(queued[0].waiting_reason().find("no worker serves destination bucket"),
            std::string::npos)
      << queued[0].waiting_reason();
  client_->Register("local-only", {"local"});
  EXPECT_TRUE(client_->Lease("local-only", 5).empty());
  client_->Register("s3-other", {"s3"}, {"another-bucket"});
  EXPECT_TRUE(client_->Lease("s3-other", 5).empty());
  client_->Register("s3-worker", {"s3"});
  EXPECT_EQ(client_->Lease("s3-worker", 5).size(), 1u);
  // LeaseJobs before RegisterWorker is refused.
  grpc::ClientContext ctx;
  AsWorker(&ctx, "stranger");
  pb::LeaseJobsResponse r;
  EXPECT_EQ(client_->worker_->LeaseJobs(&ctx, pb::LeaseJobsRequest(), &r).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(CoordinatorTest, AuthFailurePausesDestinationUntilAdminRetries) {
  StartCoordinator([](CoordinatorOptions& o) { o.limits.auth_probe_interval_ms = 600000; });
  client_->CreateDestination("gphotos");
  client_->Hello("laptop");
  client_->Bind("laptop", "", "gphotos");
  ReportEmptyFiles("laptop", 3);
  client_->Register("w1");
  auto jobs = client_->Lease("w1", 1);
  ASSERT_EQ(jobs.size(), 1u);
  pb::FailJobResponse fail;
  ASSERT_TRUE(client_->Fail("w1", jobs[0], true, "401 Unauthorized", &fail, /*auth=*/true).ok());
  pb::StatusResponse s = client_->Status();
  EXPECT_NE(s.destinations(0).health().find("401 Unauthorized"), std::string::npos);
  EXPECT_TRUE(client_->Lease("w1", 5).empty());
  auto queued = client_->Jobs({pb::JOB_STATE_QUEUED});
  ASSERT_EQ(queued.size(), 3u);
  EXPECT_NE(queued[0].waiting_reason().find("failing authentication"), std::string::npos);
  pb::JobSelector sel;
  sel.set_destination("gphotos");
  client_->Retry(sel);
  EXPECT_EQ(client_->Status().destinations(0).health(), "");
  auto after = client_->Lease("w1", 5);
  ASSERT_EQ(after.size(), 3u);
  for (const auto& j : after) EXPECT_EQ(j.attempt(), 1u) << "an auth failure is no attempt";
}

TEST_F(CoordinatorTest, ListVersionsAnswersForAPointInTime) {
  StartCoordinator();
  pb::HelloResponse hello = client_->Hello("laptop");
  TestFile v1 = MakeFile("doc.jpg", "version one", hello.chunk_id_key());
  client_->Report("laptop", {v1});
  client_->PutFile("laptop", v1);
  absl::SleepFor(absl::Milliseconds(20));
  const int64_t t1 = absl::ToUnixMillis(absl::Now());
  absl::SleepFor(absl::Milliseconds(20));
  TestFile v2 = MakeFile("doc.jpg", "version two!", hello.chunk_id_key());
  v2.mtime_ns += 1000;
  client_->Report("laptop", {v2});
  client_->PutFile("laptop", v2);
  absl::SleepFor(absl::Milliseconds(20));
  const int64_t t2 = absl::ToUnixMillis(absl::Now());
  absl::SleepFor(absl::Milliseconds(20));
  pb::ReportFilesRequest del;
  pb::FileReport d;
  d.set_folder(kFolder);
  d.set_path("doc.jpg");
  d.set_op(pb::FileReport::OP_DELETE);
  *del.add_files() = d;
  pb::ReportFilesResponse dr;
  ASSERT_TRUE(client_->ReportFiles("laptop", del, &dr).ok());
  ASSERT_EQ(dr.results(0).code(), 0) << dr.results(0).message();

  pb::ListVersionsRequest at1;
  at1.set_at_unix_ms(t1);
  auto r1 = client_->Versions("laptop", at1);
  ASSERT_EQ(r1.versions_size(), 1);
  EXPECT_EQ(r1.versions(0).size(), v1.data.size());
  pb::ListVersionsRequest at2;
  at2.set_at_unix_ms(t2);
  auto r2 = client_->Versions("laptop", at2);
  ASSERT_EQ(r2.versions_size(), 1);
  EXPECT_EQ(r2.versions(0).size(), v2.data.size());
  EXPECT_TRUE(client_->Versions("laptop", pb::ListVersionsRequest()).versions().empty())
      << "deleted now";
  pb::ListVersionsRequest all;
  all.set_all_versions(true);
  auto ra = client_->Versions("laptop", all);
  ASSERT_EQ(ra.versions_size(), 2);
  EXPECT_NE(ra.versions(1).deleted_unix_ms(), 0);
  pb::ListVersionsRequest prefix;
  prefix.set_all_versions(true);
  prefix.set_path("doc");
  EXPECT_EQ(client_->Versions("laptop", prefix).versions_size(), 0) << "prefix is per component";
}

TEST_F(CoordinatorTest, RestoreReadsOnlyTheCallersOwnChunks) {
  StartCoordinator();
  TestFile f = StoreFile("laptop", "secret.jpg", 70000, 9);
  client_->Hello("phone");
  auto read = [&](const std::string& device, std::vector<pb::ChunkData>* out) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    pb::ReadChunksRequest req;
    for (const auto& id : f.chunk_ids) req.add_ids(id);
    auto reader = client_->agent_->ReadChunks(&ctx, req);
    pb::ChunkData d;
    while (reader->Read(&d)) out->push_back(d);
    return reader->Finish();
  };
  std::vector<pb::ChunkData> mine, theirs;
  ASSERT_TRUE(read("laptop", &mine).ok());
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].data() + mine[1].data(), f.data);
  EXPECT_FALSE(mine[0].sealed());
  EXPECT_EQ(read("phone", &theirs).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(theirs.empty());

  // A worker reads only chunks of jobs it holds a lease on (issue 17); w1
  // has none, so it gets nothing (worker_lease_test.cc reads with a lease).
  client_->Register("w1");
  grpc::ClientContext ctx;
  AsWorker(&ctx, "w1");
  pb::WorkerReadChunksRequest req;
  req.add_ids(f.chunk_ids[0]);
  auto reader = client_->worker_->ReadChunks(&ctx, req);
  pb::ChunkData d;
  EXPECT_FALSE(reader->Read(&d));
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_NE(st.error_message().find("live lease"), std::string::npos) << st.error_message();
}

TEST_F(CoordinatorTest, CutChunkStreamLeavesNoHalfChunkAndLosesNoAckedChunk) {
  StartCoordinator();
  pb::HelloResponse hello = client_->Hello("laptop");
  TestFile f = MakeFile("video.mp4", PseudoRandomBytes(24 * 1024 * 1024, 7), hello.chunk_id_key(),
                        1024 * 1024);
  client_->Report("laptop", {f});
  std::vector<std::string> acked;
  {
    grpc::ClientContext ctx;
    AsDevice(&ctx, "laptop");
    auto stream = client_->agent_->PutChunks(&ctx);
    for (size_t i = 0; i < f.chunk_ids.size(); ++i) {
      pb::PutChunkRequest req;
      req.set_id(f.chunk_ids[i]);
      req.set_data(f.chunk_data[i]);
      if (!stream->Write(req)) break;
      if (i == 3) {
        pb::PutChunkAck ack;
        while (acked.size() < 2 && stream->Read(&ack)) {
          if (ack.code() == 0) acked.push_back(ack.id());
        }
        ctx.TryCancel();  // the connection is cut with chunks in flight
        break;
      }
    }
    stream->Finish();
  }
  ASSERT_GE(acked.size(), 1u);
  // Give the server's handler a moment to notice the cut; in-flight chunks
  // may finish or not, but nothing half-written may remain.
  int temps = 0;
  for (int i = 0; i < 100; ++i) {
    CountBlobs(harness_->options().chunk_store, &temps);
    if (temps == 0) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(temps, 0);
  auto& cat = harness_->coordinator().catalog();
  google::protobuf::RepeatedPtrField<std::string> ids;
  for (const auto& id : acked) *ids.Add() = id;
  std::vector<std::string> got;
  ASSERT_TRUE(cat.ReadChunksPlain("laptop", ids,
                                  [&](pb::ChunkData&& d) {
                                    got.push_back(d.data());
                                    return true;
                                  })
                  .ok());
  // Acks name their chunk and may come in any order (chunks of one stream
  // are stored concurrently).
  ASSERT_EQ(got.size(), acked.size());
  for (size_t i = 0; i < got.size(); ++i) {
    size_t k = std::find(f.chunk_ids.begin(), f.chunk_ids.end(), acked[i]) - f.chunk_ids.begin();
    ASSERT_LT(k, f.chunk_ids.size());
    EXPECT_EQ(got[i], f.chunk_data[k]);
  }
  // Whatever blob is in the store opens cleanly (no torn blob), whether or
  // not it was recorded and acknowledged before the cut.
  auto master = LoadOrCreateMasterKey(harness_->options().key_file, false);
  ASSERT_TRUE(master.ok());
  auto dir_store = OpenDirChunkStore(harness_->options().chunk_store);
  ASSERT_TRUE(dir_store.ok());
  SealedChunkStore sealed(dir_store->get(), DeriveKeys(*master).data_key);
  int present = 0;
  for (size_t i = 0; i < f.chunk_ids.size(); ++i) {
    ChunkId id;
    DigestFromString(f.chunk_ids[i], &id);
    auto has = (*dir_store)->Has(id);
    ASSERT_TRUE(has.ok());
    if (!*has) continue;
    ++present;
    auto plain = sealed.GetPlain(id);
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ(*plain, f.chunk_data[i]);
  }
  EXPECT_GE(present, static_cast<int>(acked.size()));
  // The agent resends the rest; the version completes.
  auto r = client_->Report("laptop", {f});
  EXPECT_LT(r.results(0).missing_chunk_ids_size(), 24);
  std::vector<std::pair<std::string, std::string>> rest;
  for (const auto& id : r.results(0).missing_chunk_ids()) {
    for (size_t i = 0; i < f.chunk_ids.size(); ++i) {
      if (f.chunk_ids[i] == id) rest.emplace_back(id, f.chunk_data[i]);
    }
  }
  auto acks = client_->Put("laptop", rest);
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.back().completed_version_ids_size(), 1);
}

TEST_F(CoordinatorTest, PostgresRestartMidRunIsSurvived) {
  StartCoordinator();
  client_->CreateDestination("nas");
  pb::HelloResponse hello = client_->Hello("laptop");
  client_->Bind("laptop", "", "nas");
  client_->Register("w1");
  std::atomic<bool> stop{false};
  std::atomic<int> ok_reports{0}, failed_reports{0};
  std::thread reporter([&] {
    Client c(harness_->address());
    for (int i = 0; !stop; ++i) {
      TestFile f = MakeFile(absl::StrCat("burst/", i, ".jpg"), PseudoRandomBytes(1000, 100 + i),
                            hello.chunk_id_key());
      pb::ReportFilesRequest req;
      *req.add_files() = Report(f);
      pb::ReportFilesResponse resp;
      grpc::Status st = c.ReportFiles("laptop", req, &resp);
      if (st.ok()) {
        ++ok_reports;
      } else {
        ++failed_reports;
        ADD_FAILURE() << "report failed across the restart: " << st.error_message();
      }
    }
  });
  while (ok_reports < 5) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_TRUE(pg()->Restart().ok());
  const int after_restart = ok_reports;
  while (ok_reports < after_restart + 5) absl::SleepFor(absl::Milliseconds(10));
  stop = true;
  reporter.join();
  EXPECT_EQ(failed_reports.load(), 0);
  // Every other path works on fresh connections too.
  TestFile f = StoreFile("laptop", "after.jpg", 5000, 42);
  auto jobs = client_->LeaseWait("w1", 1);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_TRUE(client_->Complete("w1", jobs[0]).ok());
}

TEST_F(CoordinatorTest, StartWaitsForTheDatabaseToComeUp) {
  ASSERT_TRUE(pg()->Stop().ok());
  std::thread starter(
      [&] { StartCoordinator([](CoordinatorOptions& o) { o.db_connect_timeout_ms = 60000; }); });
  absl::SleepFor(absl::Milliseconds(700));
  ASSERT_TRUE(pg()->StartAgain().ok());
  starter.join();
  ASSERT_NE(client_, nullptr);
  client_->Hello("laptop");
}

TEST_F(CoordinatorTest, DatabaseDownAtStartGivesUpWithAClearError) {
  ASSERT_TRUE(pg()->Stop().ok());
  CoordinatorOptions o = testsupport::TestCoordinatorOptions(url_);
  o.db_connect_timeout_ms = 300;
  auto h = CoordinatorHarness::Start(o);
  ASSERT_TRUE(pg()->StartAgain().ok());
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(h.status().message().find("database.url"), std::string::npos) << h.status();
}

TEST_F(CoordinatorTest, NewerSchemaThanTheBinaryIsRefused) {
  StartCoordinator();
  auto applied = harness_->coordinator().store().AppliedMigrations();
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(applied->back(), coordinator::SchemaVersion());
  harness_.reset();
  ASSERT_TRUE(
      pg()->Query("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')", db_)
          .ok());
  CoordinatorOptions o = testsupport::TestCoordinatorOptions(url_);
  auto h = CoordinatorHarness::Start(o);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(h.status().message().find("999"), std::string::npos) << h.status();
}

TEST_F(CoordinatorTest, TwoCoordinatorsServeOneDatabaseSideBySide) {
  StartCoordinator([](CoordinatorOptions& o) { o.limits.lease_ms = 60000; });
  CoordinatorOptions o2 = harness_->options();  // same database, chunk store and key
  auto proc = testsupport::CoordinatorProcess::Start(o2);
  ASSERT_TRUE(proc.ok()) << proc.status();
  Client a(harness_->address()), b((*proc)->address());
  a.CreateDestination("nas");
  pb::HelloResponse ha = a.Hello("laptop");
  pb::HelloResponse hb = b.Hello("laptop");
  EXPECT_EQ(ha.chunk_id_key(), hb.chunk_id_key());
  EXPECT_EQ(ha.device_id(), hb.device_id());
  b.Bind("laptop", "", "nas");
  // Report through A, upload through B.
  std::vector<TestFile> files;
  for (int i = 0; i < 20; ++i) {
    files.push_back(MakeFile(absl::StrCat("p", i, ".jpg"), PseudoRandomBytes(3000, 200 + i),
                             ha.chunk_id_key()));
  }
  auto r = a.Report("laptop", files);
  for (const auto& f : files) {
    auto acks = b.PutFile("laptop", f);
    EXPECT_EQ(acks.back().code(), 0) << acks.back().message();
  }
  // Workers on both coordinators drain the queue without sharing a job.
  std::mutex mu;
  std::map<int64_t, int> count;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      Client c(t % 2 ? harness_->address() : (*proc)->address());
      const std::string name = absl::StrCat("w", t);
      c.Register(name);
      for (;;) {
        auto jobs = c.Lease(name, 3);
        if (jobs.empty()) break;
        for (const auto& j : jobs) {
          {
            std::lock_guard<std::mutex> l(mu);
            ++count[j.job_id()];
          }
          // Complete through the other coordinator.
          Client other(t % 2 ? (*proc)->address() : harness_->address());
          EXPECT_TRUE(other.Complete(name, j).ok());
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(count.size(), 20u);
  for (const auto& [id, n] : count) EXPECT_EQ(n, 1);
  pb::StatusResponse s = b.Status();
  EXPECT_EQ(s.destinations(0).deliveries().delivered_files(), 20u);
  EXPECT_EQ(s.devices(0).files(), 20u);
}

TEST_F(CoordinatorTest, HealthServiceAndMetricsAreServed) {
  StartCoordinator([](CoordinatorOptions& o) { o.metrics_listen = "127.0.0.1:0"; });
  client_->Hello("laptop");
  EXPECT_GT(harness_->coordinator().metrics().exposed_port(), 0);
  // The health service answers SERVING for the whole server.
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::ByteBuffer req, resp;
  // Empty HealthCheckRequest (service "") is an empty message.
  grpc::GenericStub stub(client_->ch_);
  grpc::CompletionQueue cq;
  grpc::Slice empty("", 0);
  req = grpc::ByteBuffer(&empty, 1);
  auto call = stub.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check", req, &cq);
  call->StartCall();
  grpc::Status st;
  call->Finish(&resp, &st, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_TRUE(st.ok()) << st.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(resp.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // status: SERVING
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  // Prometheus text on /metrics counts the Hello above.
  // The queue depth gauges appear with the first housekeeping round.
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text = HttpGet(harness_->coordinator().metrics().exposed_port(), "/metrics");
    if (text.find("shoebox_coordinator_jobs{") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_NE(text.find("shoebox_coordinator_requests_total{code=\"OK\",method=\"Hello\"} 1"),
            std::string::npos)
      << text.substr(0, 3000);
  EXPECT_NE(text.find("shoebox_coordinator_jobs"), std::string::npos) << text;
}

// Issue 16: each trouble is one line in `shoebox status` (StatusProblems),
// from what PostgreSQL holds: a device bound nowhere, a watched folder its
// agent reported missing, dead deliveries with the last error; an agent's
// next heartbeat without the folder problem clears it.
TEST_F(CoordinatorTest, StatusNamesEachTroubleOnOneLine) {
  StartCoordinator();
  client_->Hello("laptop");
  client_->Hello("phone");
  client_->CreateDestination("nas");
  client_->Bind("phone", "", "nas");
  auto heartbeat = [&](bool missing) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, "laptop");
    pb::HeartbeatRequest hb;
    if (missing) {
      pb::FolderProblem* p = hb.add_folder_problems();
      p->set_path(kFolder);
      p->set_reason("is missing (No such file or directory)");
    }
    pb::HeartbeatResponse r;
    ASSERT_TRUE(client_->agent_->Heartbeat(&ctx, hb, &r).ok());
  };
  heartbeat(true);
  ReportEmptyFiles("phone", 2);
  client_->Register("w1");
  auto jobs = client_->Lease("w1", 2);
  ASSERT_EQ(jobs.size(), 2u);
  pb::FailJobResponse fail;
  ASSERT_TRUE(client_->Fail("w1", jobs[0], false, "413 too large", &fail).ok());
  ASSERT_TRUE(client_->Fail("w1", jobs[1], false, "disk on fire", &fail).ok());

  std::map<std::string, std::string> got;  // kind -> message
  pb::StatusResponse st = client_->Status();
  for (const auto& p : st.problems()) got[p.kind()] = p.message();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_NE(got["device_unbound"].find("device 'laptop' is bound to no destination"),
            std::string::npos);
  EXPECT_NE(got["folder_unavailable"].find(kFolder + ": is missing (No such file"),
            std::string::npos);
  EXPECT_NE(got["destination_dead"].find("'nas': 2 deliveries gave up, last error: disk on fire"),
            std::string::npos)
      << got["destination_dead"];

  heartbeat(false);
  client_->Bind("laptop", "", "nas");
  got.clear();
  st = client_->Status();
  for (const auto& p : st.problems()) got[p.kind()] = p.message();
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(got.count("destination_dead"), 1u);
}

}  // namespace
}  // namespace shoebox
