// Retention and pruning (issue 7, docs/retention.md): the policy's bucket
// logic as a pure function with fixed timestamps, and prune against a real
// private PostgreSQL over gRPC: expired versions and orphaned chunks go, the
// rest stays, a dry run changes nothing, pruning in a loop while clients
// back up loses no chunk, pass-through folders drop chunks only after every
// destination confirmed delivery.
#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "coordinator/retention_policy.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "tests/support/coordinator_fixture.h"
#include "tests/support/data_gen.h"

extern "C" const char* __lsan_default_suppressions() { return "leak:libpq.so\n"; }

namespace shoebox {
namespace {

using coordinator::DecideRetention;
using coordinator::FileFacts;
using coordinator::RetentionPolicy;
using coordinator::VersionFacts;
using testsupport::AsAdmin;
using testsupport::AsDevice;
using testsupport::AsWorker;
using testsupport::CoordinatorHarness;
namespace pb = shoebox::v1;

// ---------------------------------------------------------------------------
// The policy as a pure function.

int64_t Ms(int y, int m, int d, int hh = 12) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(y, m, d, hh, 0, 0), absl::UTCTimeZone()));
}

RetentionPolicy Policy(uint32_t all, uint32_t daily, uint32_t weekly, uint32_t monthly,
                       uint32_t yearly, uint32_t deleted = 90) {
  RetentionPolicy p;
  p.keep_all_days = all;
  p.keep_daily = daily;
  p.keep_weekly = weekly;
  p.keep_monthly = monthly;
  p.keep_yearly = yearly;
  p.deleted_keep_days = deleted;
  return p;
}

TEST(RetentionPolicy, IsoWeekBucketsFollowTheThursdayRule) {
  EXPECT_EQ(coordinator::WeekBucket(Ms(2020, 12, 31)), 202053);  // Thursday
  EXPECT_EQ(coordinator::WeekBucket(Ms(2021, 1, 3)), 202053);    // Sunday, same week
  EXPECT_EQ(coordinator::WeekBucket(Ms(2021, 1, 4)), 202101);    // Monday
  EXPECT_EQ(coordinator::WeekBucket(Ms(2024, 12, 30)), 202501);  // Monday of 2025-W01
  EXPECT_EQ(coordinator::MonthBucket(Ms(2026, 2, 28, 23)), 202602);
  EXPECT_EQ(coordinator::YearBucket(Ms(1999, 12, 31, 23)), 1999);
  EXPECT_EQ(coordinator::DayBucket(Ms(2026, 11, 26, 0)),
            coordinator::DayBucket(Ms(2026, 11, 26, 23)));
  EXPECT_NE(coordinator::DayBucket(Ms(2026, 11, 26, 23)),
            coordinator::DayBucket(Ms(2026, 11, 27, 0)));
}

TEST(RetentionPolicy, EverythingInsideTheKeepAllWindowIsKept) {
  const int64_t now = Ms(2026, 11, 26);
  FileFacts f;
  for (int i = 1; i <= 10; ++i) f.versions.push_back({i, now - i * 3600 * 1000LL, true});
  f.current_version_id = 1;
  auto d = DecideRetention(Policy(1, 0, 0, 0, 0), f, now);
  EXPECT_EQ(d.remove, (std::vector<int64_t>{}));
  // 0 days and no buckets: only the current version.
  d = DecideRetention(Policy(0, 0, 0, 0, 0), f, now);
  EXPECT_EQ(d.keep, (std::vector<int64_t>{1}));
  EXPECT_EQ(d.remove.size(), 9u);
  EXPECT_FALSE(d.forget_file);
}

TEST(RetentionPolicy, BucketsKeepTheNewestVersionOfEachDayWeekMonthYear) {
  const int64_t now = Ms(2026, 11, 26);
  FileFacts f;
  // Two versions a day on 2026-11-10 .. 11-12 (ids 1..6, the later of each
  // day has the higher id), one on 2026-10-05 (7), 2026-09-20 (8),
  // 2025-06-01 (9), 2024-03-03 (10), plus the current version today (11).
  int64_t id = 0;
  for (int day = 10; day <= 12; ++day) {
    f.versions.push_back({++id, Ms(2026, 11, day, 8), true});
    f.versions.push_back({++id, Ms(2026, 11, day, 20), true});
  }
  f.versions.push_back({7, Ms(2026, 10, 5), true});
  f.versions.push_back({8, Ms(2026, 9, 20), true});
  f.versions.push_back({9, Ms(2025, 6, 1), true});
  f.versions.push_back({10, Ms(2024, 3, 3), true});
  f.versions.push_back({11, now, true});
  f.current_version_id = 11;

  // keep_all_days 0: the window is empty, but the current version was
  // created exactly `now`, so it counts as inside it and fills no bucket.
  // 2 daily: the last version of 11-12 and of 11-11.
  auto d = DecideRetention(Policy(0, 2, 0, 0, 0), f, now);
  EXPECT_EQ(d.keep, (std::vector<int64_t>{4, 6, 11}));
  // 3 weekly (2026-11-09 is a Monday): 11-10..12 (6), 10-05 (7), 09-20 (8).
  d = DecideRetention(Policy(0, 0, 3, 0, 0), f, now);
  EXPECT_EQ(d.keep, (std::vector<int64_t>{6, 7, 8, 11}));
  // 3 monthly: 2026-11 (6), 2026-10 (7), 2026-09 (8).
  d = DecideRetention(Policy(0, 0, 0, 3, 0), f, now);
  EXPECT_EQ(d.keep, (std::vector<int64_t>{6, 7, 8, 11}));
  // 3 yearly: 2026 (6), 2025 (9), 2024 (10).
  d = DecideRetention(Policy(0, 0, 0, 0, 3), f, now);
  EXPECT_EQ(d.keep, (std::vector<int64_t>{6, 9, 10, 11}));
  // A 20-day keep-all window covers 11-10 .. 11-12 (all six); buckets then
  // count only older versions: 1 monthly keeps 2026-10 (7), 1 yearly keeps
  // 2026 too (7 again) — so 8, 9, 10 go.
  d = DecideRetention(Policy(20, 0, 0, 1, 1), f, now);
  EXPECT_EQ(d.keep, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 11}));
  EXPECT_EQ(d.remove, (std::vector<int64_t>{8, 9, 10}));
  // Rules combine: a version kept by any rule stays (6 is both the daily
  // and the 2026 yearly one).
  d = DecideRetention(Policy(0, 1, 0, 0, 3), f, now);
  EXPECT_EQ(d.keep, (std::vector<int64_t>{6, 9, 10, 11}));
}

TEST(RetentionPolicy, CurrentAndNewestCompleteVersionsAreAlwaysKept) {
  const int64_t now = Ms(2026, 11, 26);
  FileFacts f;
  f.versions = {{1, Ms(2020, 1, 1), true}, {2, Ms(2021, 1, 1), true}, {3, Ms(2022, 1, 1), false}};
  f.current_version_id = 3;  // still waiting for chunks
  auto d = DecideRetention(Policy(0, 0, 0, 0, 0), f, now);
  EXPECT_EQ(d.keep, (std::vector<int64_t>{2, 3}));
  // Pending versions never fill a bucket: 2 yearly keep 2023 (4, current)
  // and 2021 (2), not the pending 2022 (3).
  f.versions.push_back({4, Ms(2023, 1, 1), true});
  f.current_version_id = 4;
  d = DecideRetention(Policy(0, 0, 0, 0, 2), f, now);
  EXPECT_EQ(d.keep, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(d.remove, (std::vector<int64_t>{1, 3}));
}

TEST(RetentionPolicy, DeletedFileIsForgottenAfterDeletedKeepDays) {
  const int64_t now = Ms(2026, 11, 26);
  FileFacts f;
  f.versions = {{1, Ms(2026, 1, 1), true}, {2, Ms(2026, 2, 1), true}};
  f.current_version_id = 2;
  f.deleted_unix_ms = Ms(2026, 11, 1);  // 25 days ago
  auto d = DecideRetention(Policy(0, 0, 0, 0, 0, 30), f, now);
  EXPECT_EQ(d.keep, (std::vector<int64_t>{2}));
  EXPECT_FALSE(d.forget_file);
  d = DecideRetention(Policy(0, 0, 0, 0, 0, 20), f, now);
  EXPECT_EQ(d.remove, (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(d.forget_file);
}

TEST(RetentionPolicy, OutOfRangeValuesAreRefusedNamingTheField) {
  RetentionPolicy p;
  p.keep_weekly = 100001;
  absl::Status st = coordinator::ValidateRetentionPolicy(p);
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_NE(st.message().find("keep_weekly"), std::string::npos) << st;
  EXPECT_TRUE(coordinator::ValidateRetentionPolicy(RetentionPolicy{}).ok());
}

// ---------------------------------------------------------------------------
// Against PostgreSQL and a coordinator.

const std::string kFolder = "/home/ana/Pictures";
const std::string kOther = "/home/ana/Documents";

// A file made of pieces; the same piece gives the same chunk everywhere.
struct TestFile {
  std::string folder = kFolder;
  std::string path;
  std::vector<std::string> pieces;
  int64_t mtime_ns = 1700000000000000000;
  std::string Data() const {
    std::string d;
    for (const auto& p : pieces) d += p;
    return d;
  }
};

std::string Piece(uint32_t seed, size_t n = 4096) {
  return testsupport::PseudoRandomBytes(n, seed);
}

class Client {
 public:
  explicit Client(const std::string& address)
      : ch_(testsupport::Channel(address)),
        agent_(pb::AgentService::NewStub(ch_)),
        worker_(pb::WorkerService::NewStub(ch_)),
        admin_(pb::AdminService::NewStub(ch_)) {}

  std::string Hello(const std::string& device,
                    std::vector<std::string> folders = {kFolder, kOther}) {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    pb::HelloRequest req;
    for (auto& f : folders) req.add_folders(f);
    pb::HelloResponse resp;
    grpc::Status st = agent_->Hello(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    id_key_ = resp.chunk_id_key();
    return id_key_;
  }

  std::string Id(const std::string& piece) const {
    HmacSha256 h(AsBytes(id_key_));
    return DigestToString(h.Compute(piece));
  }

  pb::FileReport ReportOf(const TestFile& f) const {
    pb::FileReport r;
    r.set_folder(f.folder);
    r.set_path(f.path);
    r.set_op(pb::FileReport::OP_UPSERT);
    const std::string data = f.Data();
    r.set_size(data.size());
    r.set_mtime_ns(f.mtime_ns);
    r.set_sha256(DigestToString(Sha256::Of(data)));
    for (const auto& p : f.pieces) {
      auto* c = r.add_chunks();
      c->set_id(Id(p));
      c->set_size(p.size());
    }
    r.set_mode(0644);
    return r;
  }

  // Reports the files and uploads whatever the coordinator lacks; returns
  // the version IDs (in order). Fails the test on any per-file error.
  // Reports the files and sends what the coordinator asks for, like the
  // agent: a version whose chunks another device is sending (the coordinator
  // does not ask twice) is reported again until it is complete.
  std::vector<int64_t> Backup(const std::string& device, const std::vector<TestFile>& files) {
    pb::ReportFilesRequest req;
    std::map<std::string, std::string> pieces;
    for (const auto& f : files) {
      *req.add_files() = ReportOf(f);
      for (const auto& p : f.pieces) pieces[Id(p)] = p;
    }
    std::vector<int64_t> ids;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    for (int attempt = 0;; ++attempt) {
      pb::ReportFilesResponse resp;
      {
        grpc::ClientContext ctx;
        AsDevice(&ctx, device);
        grpc::Status st = agent_->ReportFiles(&ctx, req, &resp);
        EXPECT_TRUE(st.ok()) << st.error_message();
        if (!st.ok()) return ids;
      }
      ids.clear();
      std::set<std::string> missing;
      std::map<std::string, std::string> challenges;  // stored elsewhere: prove (issue 17)
      bool pending = false;
      for (const auto& r : resp.results()) {
        EXPECT_EQ(r.code(), 0) << r.message();
        ids.push_back(r.version_id());
        for (const auto& m : r.missing_chunk_ids()) missing.insert(m);
        for (const auto& c : r.challenges()) challenges[c.id()] = c.nonce();
        pending |= r.state() == pb::VERSION_STATE_PENDING_CHUNKS;
      }
      if (!pending || absl::Now() > deadline) return ids;
      for (const auto& m : missing) challenges.erase(m);
      if (missing.empty() && challenges.empty()) {
        absl::SleepFor(absl::Milliseconds(10));
        continue;
      }
      grpc::ClientContext ctx;
      AsDevice(&ctx, device);
      auto stream = agent_->PutChunks(&ctx);
      for (const auto& id : missing) {
        pb::PutChunkRequest p;
        p.set_id(id);
        p.set_data(pieces[id]);
        EXPECT_TRUE(stream->Write(p));
        pb::PutChunkAck ack;
        EXPECT_TRUE(stream->Read(&ack));
        EXPECT_EQ(ack.code(), 0) << ack.message();
      }
      for (const auto& [id, nonce] : challenges) {
        pb::PutChunkRequest p;
        p.set_id(id);
        p.set_nonce(nonce);
        p.set_proof(DigestToString(HmacSha256(AsBytes(nonce)).Compute(pieces[id])));
        EXPECT_TRUE(stream->Write(p));
        pb::PutChunkAck ack;
        EXPECT_TRUE(stream->Read(&ack));
        // A chunk pruned since the report is not stored any more: the next
        // report asks for its data.
        EXPECT_TRUE(ack.code() == 0 ||
                    ack.code() == static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION) ||
                    ack.code() == static_cast<int>(grpc::StatusCode::NOT_FOUND))
            << ack.message();
      }
      stream->WritesDone();
      grpc::Status st = stream->Finish();
      EXPECT_TRUE(st.ok()) << st.error_message();
    }
  }

  void Delete(const std::string& device, const std::string& folder, const std::string& path) {
    pb::ReportFilesRequest req;
    auto* r = req.add_files();
    r->set_folder(folder);
    r->set_path(path);
    r->set_op(pb::FileReport::OP_DELETE);
    pb::ReportFilesResponse resp;
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    grpc::Status st = agent_->ReportFiles(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(resp.results(0).code(), 0) << resp.results(0).message();
  }

  std::vector<pb::FileVersion> Versions(const std::string& device, bool all = true) {
    std::vector<pb::FileVersion> out;
    pb::ListVersionsRequest req;
    req.set_device(device);
    req.set_all_versions(all);
    for (;;) {
      grpc::ClientContext ctx;
      AsAdmin(&ctx);
      pb::ListVersionsResponse resp;
      grpc::Status st = admin_->ListVersions(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      for (auto& v : resp.versions()) out.push_back(v);
      if (resp.next_after_version_id() == 0) break;
      req.set_after_version_id(resp.next_after_version_id());
    }
    return out;
  }

  // Reads the chunks through AdminService.ReadChunks (the chunk store,
  // opened and checked); returns the concatenation or the error.
  grpc::Status Read(const std::vector<std::string>& ids, std::string* data) {
    data->clear();
    for (size_t i = 0; i < ids.size(); i += 64) {
      pb::ReadChunksRequest req;
      for (size_t j = i; j < std::min(ids.size(), i + 64); ++j) req.add_ids(ids[j]);
      grpc::ClientContext ctx;
      AsAdmin(&ctx);
      auto reader = admin_->ReadChunks(&ctx, req);
      pb::ChunkData d;
      while (reader->Read(&d)) *data += d.data();
      grpc::Status st = reader->Finish();
      if (!st.ok()) return st;
    }
    return grpc::Status::OK;
  }

  // The version's bytes from the chunk store match its SHA-256.
  ::testing::AssertionResult Restorable(const pb::FileVersion& v) {
    std::vector<std::string> ids;
    for (const auto& c : v.chunks()) ids.push_back(c.id());
    std::string data;
    grpc::Status st = Read(ids, &data);
    if (!st.ok()) {
      return ::testing::AssertionFailure()
             << "version " << v.version_id() << " " << v.path() << ": " << st.error_message();
    }
    if (DigestToString(Sha256::Of(data)) != v.sha256()) {
      return ::testing::AssertionFailure() << "version " << v.version_id() << ": hash differs";
    }
    return ::testing::AssertionSuccess();
  }

  grpc::Status SetRetention(const pb::SetRetentionRequest& req, pb::RetentionPolicies* out) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    return admin_->SetRetention(&ctx, req, out);
  }

  // Keep only what the policy cannot remove (the current version), delete
  // deleted files at once.
  void KeepNothing(const std::string& device, const std::string& folder = "") {
    pb::SetRetentionRequest req;
    req.set_device(device);
    req.set_folder(folder);
    req.set_keep_all_days(0);
    req.set_keep_daily(0);
    req.set_keep_weekly(0);
    req.set_keep_monthly(0);
    req.set_keep_yearly(0);
    req.set_deleted_keep_days(0);
    pb::RetentionPolicies out;
    grpc::Status st = SetRetention(req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  pb::PruneResponse Prune(bool dry_run = false) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
    pb::PruneRequest req;
    req.set_dry_run(dry_run);
    pb::PruneResponse resp;
    grpc::Status st = admin_->Prune(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  void CreateDestination(const std::string& name) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::CreateDestinationRequest req;
    req.set_name(name);
    req.set_kind("local");
    req.set_settings_json(R"({"root":"/srv/backup"})");
    pb::Destination d;
    grpc::Status st = admin_->CreateDestination(&ctx, req, &d);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  void Bind(const std::string& device, const std::string& folder, const std::string& dest) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::BindFolderRequest req;
    req.set_device(device);
    req.set_folder(folder);
    req.set_destination(dest);
    req.set_backfill(true);
    pb::BindFolderResponse resp;
    grpc::Status st = admin_->BindFolder(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  void Register(const std::string& worker, const std::string& dest) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::RegisterWorkerRequest req;
    req.add_kinds("local");
    req.add_destinations(dest);
    pb::RegisterWorkerResponse resp;
    grpc::Status st = worker_->RegisterWorker(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  std::vector<pb::Job> Lease(const std::string& worker, uint32_t max) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::LeaseJobsRequest req;
    req.set_max_jobs(max);
    req.set_wait_ms(0);
    pb::LeaseJobsResponse resp;
    grpc::Status st = worker_->LeaseJobs(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.jobs().begin(), resp.jobs().end()};
  }

  void Complete(const std::string& worker, const pb::Job& j) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::CompleteJobRequest req;
    req.set_job_id(j.job_id());
    req.set_lease_token(j.lease_token());
    req.set_remote_ref("ref");
    pb::CompleteJobResponse resp;
    grpc::Status st = worker_->CompleteJob(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  void Fail(const std::string& worker, const pb::Job& j) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::FailJobRequest req;
    req.set_job_id(j.job_id());
    req.set_lease_token(j.lease_token());
    req.set_retryable(false);
    req.set_error("refused");
    pb::FailJobResponse resp;
    grpc::Status st = worker_->FailJob(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  pb::StatusResponse Status() {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::StatusResponse resp;
    grpc::Status st = admin_->GetStatus(&ctx, pb::GetStatusRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  std::shared_ptr<grpc::Channel> ch_;
  std::unique_ptr<pb::AgentService::Stub> agent_;
  std::unique_ptr<pb::WorkerService::Stub> worker_;
  std::unique_ptr<pb::AdminService::Stub> admin_;
  std::string id_key_;
};

int CountBlobs(const std::string& dir) {
  int blobs = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    const std::string name = it->path().filename().string();
    if (name.size() == 62 && name.find_first_not_of("0123456789abcdef") == std::string::npos)
      ++blobs;
  }
  return blobs;
}

class RetentionTest : public testsupport::CoordinatorFixture {
 protected:
  void Start(uint32_t grace_s = 0, uint32_t interval_s = 0) {
    StartHarness([&](coordinator::CoordinatorOptions& o) {
      o.prune_grace_s = grace_s;
      o.prune_interval_s = interval_s;
    });
    ASSERT_NE(harness_, nullptr);
    client_ = std::make_unique<Client>(harness_->address());
  }

  int Blobs() { return CountBlobs(harness_->dir() + "/chunks"); }

  std::unique_ptr<Client> client_;
};

TEST_F(RetentionTest, PoliciesAreStoredPerFolderShownWithDefaultsAndValidated) {
  Start();
  client_->Hello("laptop");
  pb::SetRetentionRequest req;
  req.set_device("laptop");
  req.set_folder(kFolder);
  req.set_keep_all_days(7);
  req.set_keep_monthly(3);
  pb::RetentionPolicies out;
  grpc::Status st = client_->SetRetention(req, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(out.policies_size(), 1);
  EXPECT_EQ(out.policies(0).keep_all_days(), 7u);
  EXPECT_EQ(out.policies(0).keep_monthly(), 3u);
  EXPECT_EQ(out.policies(0).keep_daily(), 7u);  // default kept
  EXPECT_FALSE(out.policies(0).is_default());

  // A second set changes only what it names.
  pb::SetRetentionRequest pt;
  pt.set_device("laptop");
  pt.set_folder(kFolder);
  pt.set_pass_through(true);
  ASSERT_TRUE(client_->SetRetention(pt, &out).ok());
  EXPECT_EQ(out.policies(0).keep_all_days(), 7u);
  EXPECT_TRUE(out.policies(0).pass_through());

  grpc::ClientContext ctx;
  AsAdmin(&ctx);
  pb::GetRetentionRequest get;
  get.set_device("laptop");
  pb::RetentionPolicies all;
  ASSERT_TRUE(client_->admin_->GetRetention(&ctx, get, &all).ok());
  ASSERT_EQ(all.policies_size(), 2);
  std::map<std::string, pb::RetentionPolicy> by_folder;
  for (const auto& p : all.policies()) by_folder[p.folder()] = p;
  EXPECT_TRUE(by_folder[kOther].is_default());
  EXPECT_EQ(by_folder[kOther].keep_all_days(), 30u);
  EXPECT_EQ(by_folder[kOther].keep_yearly(), 10u);
  EXPECT_EQ(by_folder[kOther].deleted_keep_days(), 90u);
  EXPECT_FALSE(by_folder[kOther].pass_through());
  EXPECT_TRUE(by_folder[kFolder].pass_through());

  pb::SetRetentionRequest bad = req;
  bad.set_keep_all_days(99999);
  st = client_->SetRetention(bad, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("keep_all_days"), std::string::npos) << st.error_message();
  bad = req;
  bad.set_device("nosuch");
  EXPECT_EQ(client_->SetRetention(bad, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  bad = req;
  bad.set_folder("/not/announced");
  st = client_->SetRetention(bad, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("/not/announced"), std::string::npos) << st.error_message();

  // Devices may not prune.
  grpc::ClientContext dctx;
  AsDevice(&dctx, "laptop");
  pb::PruneResponse pr;
  EXPECT_EQ(client_->admin_->Prune(&dctx, pb::PruneRequest(), &pr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// a.jpg: v1 = [A1 A2 A3], v2 = [A1 B2] (current); b.jpg = [A2]. With
// "keep nothing", pruning removes v1 and the chunk only v1 had (A3).
struct Scenario {
  TestFile a1, a2, b, doc1, doc2;
};

Scenario MakeScenario() {
  Scenario s;
  s.a1.path = "a.jpg";
  s.a1.pieces = {Piece(1), Piece(2), Piece(3)};
  s.a2.path = "a.jpg";
  s.a2.pieces = {Piece(1), Piece(20)};
  s.a2.mtime_ns += 1;
  s.b.path = "b.jpg";
  s.b.pieces = {Piece(2)};
  // In the other folder (default policy): two versions, both kept.
  s.doc1.folder = s.doc2.folder = kOther;
  s.doc1.path = s.doc2.path = "notes.txt";
  s.doc1.pieces = {Piece(30)};
  s.doc2.pieces = {Piece(31)};
  s.doc2.mtime_ns += 1;
  return s;
}

TEST_F(RetentionTest, PruneRemovesExpiredVersionsAndOrphanedChunksAndKeepsTheRest) {
  Start();
  client_->Hello("laptop");
  Scenario s = MakeScenario();
  const int64_t v1 = client_->Backup("laptop", {s.a1, s.b, s.doc1})[0];
  const int64_t v2 = client_->Backup("laptop", {s.a2, s.doc2})[0];
  ASSERT_NE(v1, v2);
  ASSERT_EQ(Blobs(), 6);  // 1 2 3 20 30 31
  client_->KeepNothing("laptop", kFolder);

  pb::PruneResponse r = client_->Prune();
  EXPECT_FALSE(r.dry_run());
  EXPECT_EQ(r.versions_removed(), 1u);
  EXPECT_EQ(r.version_bytes_removed(), 3u * 4096);
  EXPECT_EQ(r.files_forgotten(), 0u);
  EXPECT_EQ(r.chunks_removed(), 1u);
  EXPECT_EQ(r.chunk_bytes_removed(), 4096u);
  EXPECT_GT(r.stored_bytes_removed(), 4096u);  // sealed: nonce, tag, header
  EXPECT_EQ(r.chunks_in_grace(), 0u);
  EXPECT_EQ(Blobs(), 5);

  std::map<std::string, int> versions_of;
  for (const auto& v : client_->Versions("laptop")) {
    versions_of[v.folder() + "/" + v.path()]++;
    EXPECT_NE(v.version_id(), v1);
    EXPECT_TRUE(client_->Restorable(v));
  }
  EXPECT_EQ(versions_of[kFolder + "/a.jpg"], 1);
  EXPECT_EQ(versions_of[kFolder + "/b.jpg"], 1);
  EXPECT_EQ(versions_of[kOther + "/notes.txt"], 2);  // default policy keeps both
  std::string data;
  EXPECT_EQ(client_->Read({client_->Id(Piece(3))}, &data).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(client_->Status().chunks_stored(), 5u);

  // Nothing left to do.
  r = client_->Prune();
  EXPECT_EQ(r.versions_removed(), 0u);
  EXPECT_EQ(r.chunks_removed(), 0u);

  // The removed chunk comes back when a file needs it again.
  TestFile c;
  c.path = "c.jpg";
  c.pieces = {Piece(3)};
  client_->Backup("laptop", {c});
  for (const auto& v : client_->Versions("laptop", false)) EXPECT_TRUE(client_->Restorable(v));
  EXPECT_EQ(Blobs(), 6);
}

TEST_F(RetentionTest, DryRunCountsTheSameAndChangesNothing) {
  Start();
  client_->Hello("laptop");
  Scenario s = MakeScenario();
  client_->Backup("laptop", {s.a1, s.b, s.doc1});
  client_->Backup("laptop", {s.a2, s.doc2});
  client_->KeepNothing("laptop");
  client_->Delete("laptop", kFolder, "b.jpg");
  const auto before = client_->Versions("laptop");
  const int blobs = Blobs();

  pb::PruneResponse dry = client_->Prune(/*dry_run=*/true);
  EXPECT_TRUE(dry.dry_run());
  EXPECT_EQ(client_->Versions("laptop").size(), before.size());
  EXPECT_EQ(Blobs(), blobs);
  pb::PruneResponse dry2 = client_->Prune(/*dry_run=*/true);
  EXPECT_EQ(dry2.versions_removed(), dry.versions_removed());
  EXPECT_EQ(dry2.chunks_removed(), dry.chunks_removed());

  pb::PruneResponse real = client_->Prune();
  EXPECT_EQ(dry.versions_removed(), real.versions_removed());
  EXPECT_EQ(dry.version_bytes_removed(), real.version_bytes_removed());
  EXPECT_EQ(dry.files_forgotten(), real.files_forgotten());
  EXPECT_EQ(dry.chunks_removed(), real.chunks_removed());
  EXPECT_EQ(dry.chunk_bytes_removed(), real.chunk_bytes_removed());
  EXPECT_EQ(dry.stored_bytes_removed(), real.stored_bytes_removed());
  // a.jpg v1, notes v1, and b.jpg (deleted, deleted_keep_days 0).
  EXPECT_EQ(real.versions_removed(), 3u);
  EXPECT_EQ(real.files_forgotten(), 1u);
  // 3 (a v1 only), 30 (notes v1); 2 was shared by a v1 and b: both gone.
  EXPECT_EQ(real.chunks_removed(), 3u);
  EXPECT_EQ(Blobs(), blobs - 3);
}

TEST_F(RetentionTest, GracePeriodKeepsUnreferencedChunksUntilItIsOver) {
  Start(/*grace_s=*/3600);
  client_->Hello("laptop");
  Scenario s = MakeScenario();
  client_->Backup("laptop", {s.a1, s.b});
  client_->Backup("laptop", {s.a2});
  client_->KeepNothing("laptop");
  pb::PruneResponse dry = client_->Prune(true);
  EXPECT_EQ(dry.chunks_removed(), 0u);
  EXPECT_EQ(dry.chunks_in_grace(), 1u);
  pb::PruneResponse r = client_->Prune();
  EXPECT_EQ(r.versions_removed(), 1u);
  EXPECT_EQ(r.chunks_removed(), 0u);
  EXPECT_EQ(r.chunks_in_grace(), 1u);
  EXPECT_EQ(r.grace_seconds(), 3600u);
  EXPECT_EQ(Blobs(), 4);
  // Referenced again inside the grace period: not a candidate any more,
  // and stored already (nothing to upload).
  TestFile c;
  c.path = "c.jpg";
  c.pieces = {Piece(3)};
  pb::ReportFilesRequest req;
  *req.add_files() = client_->ReportOf(c);
  pb::ReportFilesResponse resp;
  grpc::ClientContext ctx;
  AsDevice(&ctx, "laptop");
  ASSERT_TRUE(client_->agent_->ReportFiles(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.results(0).missing_chunk_ids_size(), 0);
  EXPECT_EQ(client_->Prune().chunks_in_grace(), 0u);
}

TEST_F(RetentionTest, DeletedFilesAreForgottenOnlyAfterDeletedKeepDays) {
  Start();
  client_->Hello("laptop");
  TestFile f;
  f.path = "gone.jpg";
  f.pieces = {Piece(5), Piece(6)};
  client_->Backup("laptop", {f});
  client_->Delete("laptop", kFolder, "gone.jpg");
  pb::PruneResponse r = client_->Prune();  // defaults: 90 days
  EXPECT_EQ(r.versions_removed(), 0u);
  EXPECT_EQ(client_->Versions("laptop").size(), 1u);

  pb::SetRetentionRequest req;
  req.set_device("laptop");
  req.set_deleted_keep_days(0);
  pb::RetentionPolicies out;
  ASSERT_TRUE(client_->SetRetention(req, &out).ok());
  r = client_->Prune();
  EXPECT_EQ(r.versions_removed(), 1u);
  EXPECT_EQ(r.files_forgotten(), 1u);
  EXPECT_EQ(r.chunks_removed(), 2u);
  EXPECT_TRUE(client_->Versions("laptop").empty());
  EXPECT_EQ(Blobs(), 0);
  // The same path again is a new file.
  client_->Backup("laptop", {f});
  auto vs = client_->Versions("laptop");
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(vs[0].state(), pb::VERSION_STATE_COMPLETE);
  EXPECT_TRUE(client_->Restorable(vs[0]));
}

TEST_F(RetentionTest, LeasedDeliveryKeepsItsVersionQueuedOnesGoWithIt) {
  Start();
  client_->Hello("laptop");
  client_->CreateDestination("nas");
  client_->Bind("laptop", kFolder, "nas");
  client_->Register("w1", "nas");
  TestFile a, b;
  a.path = "a.jpg";
  a.pieces = {Piece(1)};
  b.path = "b.jpg";
  b.pieces = {Piece(2)};
  const int64_t a1 = client_->Backup("laptop", {a})[0];
  auto jobs = client_->Lease("w1", 1);  // a v1 is being delivered
  ASSERT_EQ(jobs.size(), 1u);
  ASSERT_EQ(jobs[0].file().version_id(), a1);
  client_->Backup("laptop", {b});  // b v1: queued
  a.pieces = {Piece(11)};
  b.pieces = {Piece(12)};
  a.mtime_ns = b.mtime_ns = 1700000000000000001;
  client_->Backup("laptop", {a, b});
  client_->KeepNothing("laptop");

  pb::PruneResponse r = client_->Prune();
  EXPECT_EQ(r.versions_in_use(), 1u);   // a v1
  EXPECT_EQ(r.versions_removed(), 1u);  // b v1 with its queued delivery
  EXPECT_EQ(r.jobs_removed(), 1u);
  client_->Complete("w1", jobs[0]);
  r = client_->Prune();
  EXPECT_EQ(r.versions_in_use(), 0u);
  EXPECT_EQ(r.versions_removed(), 1u);
  EXPECT_EQ(r.jobs_removed(), 1u);
  for (const auto& v : client_->Versions("laptop")) {
    EXPECT_NE(v.version_id(), a1);
    EXPECT_TRUE(client_->Restorable(v));
  }
}

// Clients back up in rounds — each round rewrites every file with a new mix
// of shared pieces, so chunks lose their last reference and gain a new one
// all the time — while a thread prunes in a loop with no grace period and
// a policy that keeps only current versions. After every round the client
// reads every file back from the chunk store; at the end every version left
// is complete and restorable.
TEST_F(RetentionTest, PruneInALoopWhileClientsBackUpLosesNothing) {
  Start(/*grace_s=*/0);
  // 2 devices x 10 files x 3 pieces out of a pool of 64: a piece is in a
  // given round with probability ~0.6, so most chunks lose their last
  // reference and regain one every few rounds, often on the other device.
  constexpr int kDevices = 2, kFiles = 10, kRounds = 40, kPool = 64, kPieces = 3;
  std::vector<std::unique_ptr<Client>> clients;
  for (int d = 0; d < kDevices; ++d) {
    clients.push_back(std::make_unique<Client>(harness_->address()));
    clients.back()->Hello(absl::StrCat("dev", d));
    client_->KeepNothing(absl::StrCat("dev", d));
  }
  std::atomic<bool> done{false};
  std::atomic<int> prunes{0};
  std::atomic<uint64_t> chunks_removed{0}, versions_removed{0};
  std::thread pruner([&] {
    Client c(harness_->address());
    while (!done.load()) {
      pb::PruneResponse r = c.Prune();
      chunks_removed += r.chunks_removed();
      versions_removed += r.versions_removed();
      ++prunes;
    }
  });
  std::atomic<int> failures{0};
  std::vector<std::thread> backups;
  for (int d = 0; d < kDevices; ++d) {
    backups.emplace_back([&, d] {
      Client& c = *clients[d];
      const std::string device = absl::StrCat("dev", d);
      uint64_t x = 12345 + d;
      for (int round = 0; round < kRounds && failures.load() == 0; ++round) {
        std::vector<TestFile> files(kFiles);
        for (int i = 0; i < kFiles; ++i) {
          files[i].path = absl::StrCat("f", i, ".jpg");
          files[i].mtime_ns += round;
          for (int p = 0; p < kPieces; ++p) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            files[i].pieces.push_back(Piece(static_cast<uint32_t>((x >> 33) % kPool)));
          }
        }
        c.Backup(device, files);
        for (const auto& v : c.Versions(device, /*all=*/false)) {
          if (v.state() != pb::VERSION_STATE_COMPLETE) {
            ADD_FAILURE() << device << " round " << round << ": " << v.path() << " not complete";
            ++failures;
          } else if (!c.Restorable(v)) {
            ADD_FAILURE() << device << " round " << round << ": " << c.Restorable(v).message();
            ++failures;
          }
        }
      }
    });
  }
  for (auto& t : backups) t.join();
  done = true;
  pruner.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(prunes.load(), 2);
  EXPECT_GT(versions_removed.load(), 0u);
  EXPECT_GT(chunks_removed.load(), 0u);
  std::printf("prunes=%d versions_removed=%llu chunks_removed=%llu\n", prunes.load(),
              (unsigned long long)versions_removed.load(),
              (unsigned long long)chunks_removed.load());

  // One more prune after the dust settled; then everything left is current,
  // complete and restorable, and the store holds exactly the chunks they use.
  client_->Prune();
  std::set<std::string> used;
  size_t total = 0;
  for (int d = 0; d < kDevices; ++d) {
    auto vs = client_->Versions(absl::StrCat("dev", d));
    total += vs.size();
    for (const auto& v : vs) {
      EXPECT_EQ(v.state(), pb::VERSION_STATE_COMPLETE) << v.path();
      EXPECT_TRUE(client_->Restorable(v));
      for (const auto& c : v.chunks()) used.insert(c.id());
    }
  }
  EXPECT_EQ(total, static_cast<size_t>(kDevices * kFiles));
  EXPECT_EQ(static_cast<size_t>(Blobs()), used.size());
  EXPECT_EQ(client_->Status().chunks_stored(), used.size());
}

TEST_F(RetentionTest, PassThroughDropsChunksOnlyAfterEveryDestinationConfirmed) {
  Start();
  client_->Hello("relay");
  client_->CreateDestination("photos");
  client_->CreateDestination("nas");
  client_->Bind("relay", kFolder, "photos");  // the folder
  client_->Bind("relay", "", "nas");          // the whole device
  client_->Register("w-photos", "photos");
  client_->Register("w-nas", "nas");
  pb::SetRetentionRequest req;
  req.set_device("relay");
  req.set_folder(kFolder);
  req.set_pass_through(true);
  pb::RetentionPolicies out;
  ASSERT_TRUE(client_->SetRetention(req, &out).ok());

  // p.jpg = [P1 P2] in the pass-through folder; doc = [P2] in a normal one.
  TestFile p, doc;
  p.path = "p.jpg";
  p.pieces = {Piece(41), Piece(42)};
  doc.folder = kOther;
  doc.path = "doc.txt";
  doc.pieces = {Piece(42)};
  const int64_t pv = client_->Backup("relay", {p})[0];
  client_->Backup("relay", {doc});
  ASSERT_EQ(Blobs(), 2);

  EXPECT_EQ(client_->Prune().versions_released(), 0u);  // nothing delivered yet
  auto photos = client_->Lease("w-photos", 10);
  ASSERT_EQ(photos.size(), 1u);
  client_->Complete("w-photos", photos[0]);
  EXPECT_EQ(client_->Prune().versions_released(), 0u);  // nas still lacks it
  auto nas = client_->Lease("w-nas", 10);
  ASSERT_EQ(nas.size(), 2u);  // p and doc
  for (const auto& j : nas) client_->Complete("w-nas", j);

  pb::PruneResponse dry = client_->Prune(true);
  EXPECT_EQ(dry.versions_released(), 1u);
  EXPECT_EQ(dry.chunks_removed(), 1u);
  EXPECT_EQ(Blobs(), 2);
  pb::PruneResponse r = client_->Prune();
  EXPECT_EQ(r.versions_released(), 1u);
  EXPECT_EQ(r.versions_removed(), 0u);
  EXPECT_EQ(r.chunks_removed(), 1u);  // P1; P2 is still doc's
  EXPECT_EQ(Blobs(), 1);
  EXPECT_EQ(client_->Prune().versions_released(), 0u);  // once

  // The metadata stays, marked as not restorable from the chunk store.
  bool seen = false;
  for (const auto& v : client_->Versions("relay")) {
    if (v.version_id() == pv) {
      seen = true;
      EXPECT_TRUE(v.chunks_dropped());
      EXPECT_EQ(v.state(), pb::VERSION_STATE_COMPLETE);
      EXPECT_EQ(v.copies_size(), 2);
    } else {
      EXPECT_FALSE(v.chunks_dropped());
      EXPECT_TRUE(client_->Restorable(v));
    }
  }
  EXPECT_TRUE(seen);
  std::string data;
  EXPECT_EQ(client_->Read({client_->Id(Piece(41))}, &data).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Reporting the unchanged file again asks for nothing (no re-upload).
  pb::ReportFilesRequest again;
  *again.add_files() = client_->ReportOf(p);
  pb::ReportFilesResponse resp;
  grpc::ClientContext ctx;
  AsDevice(&ctx, "relay");
  ASSERT_TRUE(client_->agent_->ReportFiles(&ctx, again, &resp).ok());
  EXPECT_EQ(resp.results(0).version_id(), pv);
  EXPECT_EQ(resp.results(0).missing_chunk_ids_size(), 0);

  // A version whose delivery failed for good keeps its chunks.
  TestFile q;
  q.path = "q.jpg";
  q.pieces = {Piece(43)};
  client_->Backup("relay", {q});
  for (const auto& j : client_->Lease("w-photos", 10)) client_->Complete("w-photos", j);
  for (const auto& j : client_->Lease("w-nas", 10)) client_->Fail("w-nas", j);
  EXPECT_EQ(client_->Prune().versions_released(), 0u);
  EXPECT_EQ(Blobs(), 2);

  // A destination bound later gets no delivery of a released version (its
  // chunks are gone), but does of q, which still has its chunks.
  client_->CreateDestination("late");
  client_->Bind("relay", kFolder, "late");
  client_->Register("w-late", "late");
  auto late = client_->Lease("w-late", 10);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].file().path(), "q.jpg");

  // Pruning a released version later does not drop its references twice:
  // P2 stays (doc still uses it) although p v1 goes.
  p.pieces = {Piece(44)};
  p.mtime_ns += 1;
  client_->Backup("relay", {p});
  client_->KeepNothing("relay", kFolder);
  r = client_->Prune();
  EXPECT_EQ(r.versions_removed(), 1u);  // p v1
  EXPECT_EQ(r.chunks_removed(), 0u);
  EXPECT_EQ(Blobs(), 3);  // P2 (doc), q, p v2
  for (const auto& v : client_->Versions("relay")) {
    EXPECT_NE(v.version_id(), pv);
    EXPECT_TRUE(client_->Restorable(v)) << v.path();
  }
}

// More files, versions and chunks than one batch of each step holds.
TEST_F(RetentionTest, PruneWorksThroughManyBatches) {
  Start();
  client_->Hello("laptop");
  constexpr int kFiles = 600, kVersions = 3;  // 3 file batches, 5 chunk batches
  for (int v = 0; v < kVersions; ++v) {
    std::vector<TestFile> files(kFiles);
    for (int i = 0; i < kFiles; ++i) {
      files[i].path = absl::StrCat("dir/", i, ".jpg");
      files[i].mtime_ns += v;
      files[i].pieces = {Piece(100000 + v * kFiles + i, 64)};
    }
    client_->Backup("laptop", files);
  }
  ASSERT_EQ(Blobs(), kFiles * kVersions);
  client_->KeepNothing("laptop");
  pb::PruneResponse dry = client_->Prune(true);
  EXPECT_EQ(dry.versions_removed(), static_cast<uint64_t>(kFiles * (kVersions - 1)));
  EXPECT_EQ(dry.chunks_removed(), static_cast<uint64_t>(kFiles * (kVersions - 1)));
  const absl::Time start = absl::Now();
  pb::PruneResponse r = client_->Prune();
  std::printf("pruned %llu versions and %llu chunks in %lld ms (server: %lld ms)\n",
              (unsigned long long)r.versions_removed(), (unsigned long long)r.chunks_removed(),
              (long long)absl::ToInt64Milliseconds(absl::Now() - start),
              (long long)r.duration_ms());
  EXPECT_EQ(r.versions_removed(), static_cast<uint64_t>(kFiles * (kVersions - 1)));
  EXPECT_EQ(r.chunks_removed(), static_cast<uint64_t>(kFiles * (kVersions - 1)));
  EXPECT_EQ(r.chunk_bytes_removed(), static_cast<uint64_t>(kFiles * (kVersions - 1) * 64));
  EXPECT_EQ(Blobs(), kFiles);
  auto vs = client_->Versions("laptop");
  ASSERT_EQ(vs.size(), static_cast<size_t>(kFiles));
  for (size_t i = 0; i < vs.size(); i += 97) EXPECT_TRUE(client_->Restorable(vs[i]));
  EXPECT_EQ(client_->Prune().versions_removed(), 0u);
}

TEST_F(RetentionTest, ScheduledPruneRunsOnItsOwn) {
  Start(/*grace_s=*/0, /*interval_s=*/1);
  client_->Hello("laptop");
  TestFile f;
  f.path = "a.jpg";
  f.pieces = {Piece(1)};
  const int64_t v1 = client_->Backup("laptop", {f})[0];
  f.pieces = {Piece(2)};
  f.mtime_ns += 1;
  client_->Backup("laptop", {f});
  client_->KeepNothing("laptop");
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {  // up to 30 s; the schedule checks every second
    gone = true;
    for (const auto& v : client_->Versions("laptop")) gone &= v.version_id() != v1;
    if (!gone) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(gone) << "the scheduled prune did not remove the old version";
  for (int i = 0; i < 300 && Blobs() != 1; ++i) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(Blobs(), 1);
}

}  // namespace
}  // namespace shoebox
