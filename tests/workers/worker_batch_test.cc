// Issue 23: a running worker completes finished jobs in batches
// (CompleteJobs); a worker killed with completions still unsent loses no
// work and causes no second upload: the jobs are leased again after their
// leases expire and the delivery's Stat-first rule finds each copy in place.
// In-process coordinator (real PostgreSQL) and workers, a local destination.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/support/data_gen.h"
#include "tests/support/pipeline_fixture.h"
#include "workers/worker.h"

namespace shoebox::worker {
namespace {

using testsupport::PseudoRandomBytes;
namespace fs = std::filesystem;

constexpr int kFiles = 12;

class WorkerBatchE2E : public testsupport::PipelineFixture {
 protected:
  static std::vector<std::string> FilesUnder(const std::string& root) {
    std::vector<std::string> out;
    if (!fs::exists(root)) return out;
    for (auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string ReadFile(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // Delivery job states by job ID.
  std::map<int64_t, v1::JobState> Deliveries() {
    std::map<int64_t, v1::JobState> out;
    auto jobs = ListJobs();
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    if (!jobs.ok()) return out;
    for (const auto& j : jobs->jobs()) {
      if (j.kind() == v1::JOB_KIND_DELIVER) out[j.job_id()] = j.state();
    }
    return out;
  }
  int CountIn(const std::map<int64_t, v1::JobState>& m, v1::JobState s) {
    return static_cast<int>(
        std::count_if(m.begin(), m.end(), [&](auto& e) { return e.second == s; }));
  }
  // Runs `w` on a thread until `done()` or 60 s, then stops it.
  void RunUntil(Worker* w, const std::function<bool()>& done) {
    absl::Status run;
    std::thread t([&] { run = w->Run(); });
    for (int i = 0; i < 600 && !done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    w->Stop();
    t.join();
    EXPECT_TRUE(run.ok()) << run;
  }
  std::map<std::string, std::string> ReportAll() {
    std::map<std::string, std::string> content;
    for (int i = 0; i < kFiles; ++i) {
      const std::string name = absl::StrCat("IMG_", 100 + i, ".jpg");
      content[name] = PseudoRandomBytes(50000 + 1000 * i, 40 + i);
      EXPECT_TRUE(ReportFile(name, content[name]).ok());
    }
    return content;
  }
};

TEST_F(WorkerBatchE2E, RunningWorkerCompletesEveryJobExactlyOnceInBatches) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}, "{name}").ok());
  auto content = ReportAll();
  auto w = MakeWorker("w-batch", nullptr, nullptr, [](WorkerOptions& o) { o.concurrency = 2; });
  ASSERT_TRUE(w.ok()) << w.status();
  RunUntil(w->get(), [&] { return CountIn(Deliveries(), v1::JOB_STATE_DONE) == kFiles; });
  auto states = Deliveries();
  EXPECT_EQ(static_cast<int>(states.size()), kFiles);
  EXPECT_EQ(CountIn(states, v1::JOB_STATE_DONE), kFiles);
  EXPECT_EQ((*w)->jobs_done(), static_cast<uint64_t>(kFiles));
  EXPECT_EQ((*w)->jobs_failed(), 0u);
  EXPECT_GE((*w)->completion_batches(), 1u);
  EXPECT_LE((*w)->completion_batches(), static_cast<uint64_t>(kFiles));
  ASSERT_EQ(FilesUnder(nas).size(), static_cast<size_t>(kFiles));
  for (const auto& [name, bytes] : content)
    EXPECT_TRUE(ReadFile(nas + "/" + name) == bytes) << name;
}

TEST_F(WorkerBatchE2E, KilledWorkersUnsentCompletionsAreRedoneWithoutASecondUpload) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}, "{name}").ok());
  auto content = ReportAll();

  // The first worker delivers everything but its completions are never
  // sent (held, then dropped at Stop: what SIGKILL would lose).
  auto dead = MakeWorker("w-killed", nullptr, nullptr, [](WorkerOptions& o) { o.concurrency = 2; });
  ASSERT_TRUE(dead.ok()) << dead.status();
  (*dead)->HoldCompletionsForTest();
  (*dead)->DropUnsentCompletionsOnStopForTest();
  RunUntil(dead->get(), [&] { return FilesUnder(nas).size() == static_cast<size_t>(kFiles); });
  ASSERT_EQ(FilesUnder(nas).size(), static_cast<size_t>(kFiles));
  EXPECT_EQ((*dead)->jobs_done(), 0u) << "no completion reached the coordinator";
  EXPECT_EQ((*dead)->completion_batches(), 0u);
  auto states = Deliveries();
  EXPECT_EQ(CountIn(states, v1::JOB_STATE_DONE), 0);
  std::map<std::string, fs::file_time_type> mtimes;
  for (const auto& [name, bytes] : content) mtimes[name] = fs::last_write_time(nas + "/" + name);

  // Their leases expire (2 s in the harness); another worker leases the
  // jobs again, finds every copy in place and uploads nothing.
  auto w = MakeWorker("w-next", nullptr, nullptr, [](WorkerOptions& o) { o.concurrency = 2; });
  ASSERT_TRUE(w.ok()) << w.status();
  int completed = 0;
  for (int i = 0; i < 200 && completed < kFiles; ++i) {
    auto r = (*w)->RunOnce(absl::Seconds(2));
    if (!r.ok()) continue;
    if (r->completed) {
      ++completed;
      EXPECT_FALSE(r->uploaded) << "job delivered twice: " << r->remote_ref;
    }
  }
  EXPECT_EQ(completed, kFiles);
  EXPECT_EQ((*w)->bytes_uploaded(), 0u);
  states = Deliveries();
  EXPECT_EQ(CountIn(states, v1::JOB_STATE_DONE), kFiles);
  // Exactly one copy each, untouched.
  ASSERT_EQ(FilesUnder(nas).size(), static_cast<size_t>(kFiles));
  for (const auto& [name, bytes] : content) {
    EXPECT_TRUE(ReadFile(nas + "/" + name) == bytes) << name;
    EXPECT_TRUE(fs::last_write_time(nas + "/" + name) == mtimes[name]) << name << " rewritten";
  }
}

}  // namespace
}  // namespace shoebox::worker
