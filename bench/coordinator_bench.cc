// Coordinator throughput against a real private PostgreSQL 15 started with
// the defaults of a real installation (fsync and synchronous_commit on):
//   1. file records ingested per second through Catalog::ReportFiles
//      (new files, each with two chunks nobody stored yet; then the same
//      batch re-reported unchanged, the rescan case);
//   2. jobs leased + completed per second through JobQueue with several
//      worker threads (one LeaseJobs per batch, one CompleteJob per job).
// The domain classes are called directly: this measures the store and SQL,
// not gRPC. Ingest runs once with one reporting device and once with
// `reporters` devices reporting at the same time (distinct files), as several
// agents do. Usage: shoebox_coordinator_bench [files=100000] [batch=5000]
//                  [jobs=20000] [threads=4] [reporters=2]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/hash.h"
#include "common/log.h"
#include "coordinator/coordinator.h"
#include "tests/support/coordinator_harness.h"
#include "tests/support/pg_cluster.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace pb = shoebox::v1;

double Seconds(Clock::time_point a) {
  return std::chrono::duration<double>(Clock::now() - a).count();
}

void Die(const absl::Status& st, const char* what) {
  if (st.ok()) return;
  fprintf(stderr, "%s: %s\n", what, std::string(st.message()).c_str());
  exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const int files = argc > 1 ? atoi(argv[1]) : 100000;
  const int batch = argc > 2 ? atoi(argv[2]) : 5000;
  const int jobs = argc > 3 ? atoi(argv[3]) : 20000;
  const int threads = argc > 4 ? atoi(argv[4]) : 4;
  const int reporters = argc > 5 ? atoi(argv[5]) : 2;
  spdlog::set_level(spdlog::level::warn);

  shoebox::testsupport::PgClusterOptions po;
  po.durable = true;
  auto pg = shoebox::testsupport::PgCluster::Start(po);
  Die(pg.status(), "postgres");
  // SHOEBOX_BENCH_SLOW_MS=N logs statements slower than N ms to stderr at the end.
  const char* slow = getenv("SHOEBOX_BENCH_SLOW_MS");
  if (slow != nullptr) {
    Die((*pg)
            ->Query(absl::StrCat("ALTER SYSTEM SET log_min_duration_statement = ", atoi(slow)))
            .status(),
        "alter system");
    Die((*pg)->Query("SELECT pg_reload_conf()").status(), "reload");
  }
  char dir[] = "/tmp/shoebox-bench-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  shoebox::coordinator::CoordinatorOptions o =
      shoebox::testsupport::TestCoordinatorOptions((*pg)->url());
  o.chunk_store = std::string(dir) + "/chunks";
  o.key_file = std::string(dir) + "/master.key";
  o.limits.max_report_batch = batch;
  o.limits.lease_ms = 60000;
  o.db_pool_size = threads + 4;
  auto c = shoebox::coordinator::Coordinator::Open(o);
  Die(c.status(), "coordinator");
  auto& cat = (*c)->catalog();
  const std::string folder = "/home/bench/Pictures";
  pb::HelloRequest hello;
  hello.add_folders(folder);
  Die(cat.Hello("bench", hello).status(), "hello");
  for (int r = 0; r < reporters; ++r) {
    Die(cat.Hello(absl::StrCat("dev", r), hello).status(), "hello");
  }

  // 1. Ingest.
  uint64_t counter = 0;
  auto make_batch = [&](int first, int n) {
    pb::ReportFilesRequest req;
    for (int i = first; i < first + n; ++i) {
      auto* f = req.add_files();
      f->set_folder(folder);
      f->set_path(absl::StrCat("2024/", i / 1000, "/IMG_", i, ".jpg"));
      f->set_op(pb::FileReport::OP_UPSERT);
      f->set_size(3 * 1024 * 1024);
      f->set_mtime_ns(1700000000000000000 + i);
      f->set_sha256(shoebox::DigestToString(shoebox::Sha256::Of(absl::StrCat("file", i))));
      for (int k = 0; k < 2; ++k) {
        auto* ch = f->add_chunks();
        ch->set_id(shoebox::DigestToString(shoebox::Sha256::Of(absl::StrCat("chunk", ++counter))));
        ch->set_size(k == 0 ? 2 * 1024 * 1024 : 1024 * 1024);
      }
    }
    return req;
  };
  std::vector<pb::ReportFilesRequest> batches;
  for (int first = 0; first < files; first += batch) {
    batches.push_back(make_batch(first, std::min(batch, files - first)));
  }
  auto t0 = Clock::now();
  for (const auto& b : batches) {
    auto r = cat.ReportFiles("bench", b);
    Die(r.status(), "report");
    if (r->results(0).missing_chunk_ids_size() != 2)
      Die(absl::InternalError("no missing"), "check");
  }
  const double ingest_s = Seconds(t0);
  t0 = Clock::now();
  for (const auto& b : batches) Die(cat.ReportFiles("bench", b).status(), "re-report");
  const double rescan_s = Seconds(t0);
  printf("ingest: %d new files (2 new chunks each) in batches of %d: %.2f s, %.0f files/s\n", files,
         batch, ingest_s, files / ingest_s);
  // The same volume again, from `reporters` devices at once.
  {
    std::vector<pb::ReportFilesRequest> more;
    for (int first = 0; first < files; first += batch) {
      more.push_back(make_batch(files + first, std::min(batch, files - first)));
    }
    std::atomic<size_t> next{0};
    auto t1 = Clock::now();
    std::vector<std::thread> rs;
    for (int r = 0; r < reporters; ++r) {
      rs.emplace_back([&, r] {
        const std::string dev = absl::StrCat("dev", r);
        for (size_t k = next++; k < more.size(); k = next++) {
          Die(cat.ReportFiles(dev, more[k]).status(), "parallel report");
        }
      });
    }
    for (auto& t : rs) t.join();
    const double par_s = Seconds(t1);
    printf("ingest: %d new files from %d devices at once: %.2f s, %.0f files/s\n", files, reporters,
           par_s, files / par_s);
  }
  printf("rescan: %d unchanged files re-reported: %.2f s, %.0f files/s\n", files, rescan_s,
         files / rescan_s);

  // 2. Queue: `jobs` deliveries of empty files.
  pb::CreateDestinationRequest dest;
  dest.set_name("nas");
  dest.set_kind("local");
  dest.set_settings_json(R"({"root":"/srv/nas"})");
  Die((*c)->admin().CreateDestination("bench", dest).status(), "destination");
  pb::BindFolderRequest bind;
  bind.set_device("bench");
  bind.set_destination("nas");
  Die((*c)->admin().BindFolder("bench", bind).status(), "bind");
  for (int first = 0; first < jobs; first += batch) {
    pb::ReportFilesRequest req;
    for (int i = first; i < std::min(jobs, first + batch); ++i) {
      auto* f = req.add_files();
      f->set_folder(folder);
      f->set_path(absl::StrCat("empty/", i));
      f->set_op(pb::FileReport::OP_UPSERT);
      f->set_sha256(shoebox::DigestToString(shoebox::Sha256::Of(std::string())));
    }
    Die(cat.ReportFiles("bench", req).status(), "report empty");
  }
  // SHOEBOX_BENCH_QUEUE_SQL='...' runs before the queue phase (diagnostics,
  // e.g. 'ALTER TABLE jobs DISABLE TRIGGER jobs_status_upd' for what the
  // status counters cost a completion).
  if (const char* sql = getenv("SHOEBOX_BENCH_QUEUE_SQL"); sql != nullptr) {
    Die((*pg)->Query(sql).status(), "SHOEBOX_BENCH_QUEUE_SQL");
  }
  auto& q = (*c)->queue();
  std::atomic<int> done{0}, errors{0};
  t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      const std::string name = absl::StrCat("w", t);
      pb::RegisterWorkerRequest reg;
      reg.add_kinds("local");
      if (!q.Register(name, reg).ok()) ++errors;
      pb::LeaseJobsRequest lr;
      lr.set_max_jobs(32);
      for (;;) {
        auto leased = q.Lease(name, lr);
        if (!leased.ok()) {
          ++errors;
          break;
        }
        if (leased->jobs().empty()) break;
        for (const auto& j : leased->jobs()) {
          pb::CompleteJobRequest cr;
          cr.set_job_id(j.job_id());
          cr.set_lease_token(j.lease_token());
          cr.set_remote_ref("x");
          if (q.Complete(name, cr).ok()) {
            ++done;
          } else {
            ++errors;
          }
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  const double queue_s = Seconds(t0);
  printf(
      "queue: %d jobs leased (batches of 32) and completed by %d workers: %.2f s, "
      "%.0f jobs/s (errors %d)\n",
      done.load(), threads, queue_s, done.load() / queue_s, errors.load());
  c->reset();
  if (slow != nullptr) {
    std::ifstream log((*pg)->dir() + "/postgres.log");
    std::string line;
    while (std::getline(log, line)) {
      if (line.find("duration:") != std::string::npos)
        fprintf(stderr, "%s\n", line.substr(0, 300).c_str());
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return errors.load() == 0 && done.load() == jobs ? 0 : 1;
}
