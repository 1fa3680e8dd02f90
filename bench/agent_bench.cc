// Agent benchmarks, side by side with `restic backup` (Debian restic) on the
// same tree in the same run (docs/performance.md, "Agent"):
//   1. first backup of a generated photo library: bytes per second from disk
//      to chunks acknowledged by the coordinator (shoebox-agent run --once
//      against an in-process coordinator with a durable private PostgreSQL
//      and a directory chunk store) vs `restic backup` to a local repository;
//   2. rescan of N unchanged files: `shoebox-agent run --once` with a
//      populated index vs an incremental `restic backup` with no changes.
// Peak RSS of the agent and restic processes is reported (VmHWM, sampled
// every 10 ms while they run).
//
//   agent_bench --agent build/release/agent/shoebox-agent [--library-mb 1024]
//               [--small-files 100000] [--rounds 3]
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/hasher.h"
#include "agent/scanner.h"
#include "agent/state_db.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "tests/support/coordinator_harness.h"
#include "tests/support/pg_cluster.h"

namespace {

using namespace shoebox;  // NOLINT: a benchmark main

struct RunResult {
  double seconds = 0;
  long max_rss_kb = 0;
  double cpu_seconds = 0;  // user + system of the child
  int exit_code = -1;
};

RunResult RunProcess(const std::vector<std::string>& args, const std::string& log,
                     const std::vector<std::string>& env = {}) {
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  // Peak RSS from /proc/<pid>/status VmHWM (the exec'd image's own high-water
  // mark; wait4's ru_maxrss would include the pages of this process at fork).
  long hwm_kb = 0;
  int status = 0;
  struct rusage ru {};
  // Until the child has exec'd, its VmHWM is this process's (inherited at
  // fork): skip samples while it still runs our own executable.
  static const std::string self_exe = std::filesystem::read_symlink("/proc/self/exe").string();
  while (true) {
    pid_t w = ::wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) break;
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
    if (ec || exe.string() == self_exe) {
      ::usleep(1000);
      continue;
    }
    std::ifstream st("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(st, line)) {
      if (line.rfind("VmHWM:", 0) == 0) hwm_kb = std::max(hwm_kb, std::atol(line.c_str() + 6));
    }
    ::usleep(10000);
  }
  RunResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.max_rss_kb = hwm_kb;
  r.cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                  ru.ru_stime.tv_usec / 1e6;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void FillRandom(std::string* s, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  auto* p = reinterpret_cast<uint64_t*>(s->data());
  for (size_t i = 0; i < s->size() / 8; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = x;
  }
}

void WriteFile(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  ::close(fd);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0
                   : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
}

std::string AgentConfig(const std::string& address, const std::string& device,
                        const std::string& state, const std::string& folder) {
  return "[coordinator]\ninsecure_dev = true\naddress = \"" + address +
         "\"\n[agent]\ndevice_name = \"" + device + "\"\nstate_dir = \"" + state +
         "\"\nsettle_seconds = 0\nlog_level = \"info\"\n[[folder]]\npath = \"" + folder + "\"\n";
}

// Fills the agent's index for `folder` as a completed first backup would
// (keys from Hello, every file read and acknowledged), without sending the
// files through the coordinator (which would take minutes for 100k rows).
void PopulateIndex(const std::string& address, const std::string& device, const std::string& state,
                   const std::string& folder) {
  auto stub = v1::AgentService::NewStub(testsupport::Channel(address));
  grpc::ClientContext ctx;
  testsupport::AsDevice(&ctx, device);
  v1::HelloRequest req;
  req.add_folders(folder);
  v1::HelloResponse resp;
  grpc::Status gs = stub->Hello(&ctx, req, &resp);
  if (!gs.ok()) {
    std::fprintf(stderr, "Hello failed: %s\n", gs.error_message().c_str());
    std::exit(1);
  }
  agent::SessionKeys keys;
  std::memcpy(keys.chunk_id_key.data(), resp.chunk_id_key().data(), 32);
  std::memcpy(keys.chunker_key.data(), resp.chunker_key().data(), 32);
  keys.params = ChunkerParams{resp.chunk_min_size(), resp.chunk_avg_size(), resp.chunk_max_size()};
  auto db = agent::StateDb::Open(state);
  if (!db.ok()) std::exit(1);
  (void)(*db)->PutMeta("session_keys", keys.Serialize());
  auto id = (*db)->FolderId(folder);
  struct Sink : agent::ChangeSink {
    agent::StateDb* db;
    agent::ChunkHasher* h;
    void OnCandidate(agent::Folder* f, const std::string& dir, const std::string& name,
                     const agent::FileStat&) override {
      auto r = agent::HashFile(f->cfg.path, agent::JoinRel(dir, name), *h, nullptr);
      if (!r.ok()) return;
      auto g = db->RecordUpsert(f->id, dir, name, r->stat, r->sha256, r->chunks);
      if (g.ok()) (void)db->Acknowledge(agent::MakeKey(f->id, dir, name), *g);
    }
    void OnDirectory(agent::Folder*, const std::string&, int) override {}
  } sink;
  agent::ChunkHasher h(keys);
  sink.db = db->get();
  sink.h = &h;
  agent::FolderConfig fc;
  fc.path = folder;
  agent::Folder f(fc, *id);
  agent::Scanner scanner(db->get(), &sink);
  agent::ScanStats st;
  (void)scanner.CheckRoot(&f);
  (void)scanner.ScanDir(&f, "", true, &st);
}

}  // namespace

int main(int argc, char** argv) {
  std::string agent_bin = "shoebox-agent";
  uint64_t library_mb = 1024;
  int small_files = 100000;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--agent")
      agent_bin = argv[i + 1];
    else if (a == "--library-mb")
      library_mb = std::stoull(argv[i + 1]);
    else if (a == "--small-files")
      small_files = std::stoi(argv[i + 1]);
    else if (a == "--rounds")
      rounds = std::stoi(argv[i + 1]);
  }
  char tmpl[] = "/tmp/shoebox-agent-bench-XXXXXX";
  std::string work = ::mkdtemp(tmpl);
  std::string lib = work + "/library", small = work + "/small";
  std::filesystem::create_directories(lib);
  std::filesystem::create_directories(small);

  testsupport::PgClusterOptions po;
  po.durable = true;
  auto pg = testsupport::PgCluster::Start(po);
  if (!pg.ok()) {
    std::fprintf(stderr, "%s\n", std::string(pg.status().message()).c_str());
    return 1;
  }
  auto co = testsupport::TestCoordinatorOptions((*pg)->url());
  co.chunk_store = work + "/chunks";
  co.key_file = work + "/master.key";
  co.log_level = "warn";
  auto coord = testsupport::CoordinatorHarness::Start(co);
  if (!coord.ok()) {
    std::fprintf(stderr, "%s\n", std::string(coord.status().message()).c_str());
    return 1;
  }
  std::string address = (*coord)->address();

  // A photo library: incompressible files of 2..6 MB (JPEG/HEIC-like).
  uint64_t total = 0;
  std::string buf;
  for (int i = 0; total < library_mb << 20; ++i) {
    size_t size = (2u << 20) + (static_cast<size_t>(i) * 7919u * 4096u) % (4u << 20);
    buf.resize(size);
    FillRandom(&buf, 1000 + i);
    std::string dir = lib + "/" + std::to_string(2000 + i / 100);
    std::filesystem::create_directories(dir);
    WriteFile(dir + "/IMG_" + std::to_string(i) + ".jpg", buf);
    total += size;
  }
  std::printf("library: %.0f MB\n", total / 1e6);

  std::vector<std::string> env = {"RESTIC_PASSWORD=bench"};
  std::vector<double> agent_s, restic_s, agent_cpu, restic_cpu;
  long agent_rss = 0, restic_rss = 0;
  for (int r = 0; r < rounds; ++r) {
    for (int side = 0; side < 2; ++side) {
      bool agent_first = (r % 2 == 0);
      bool run_agent = (side == 0) == agent_first;
      if (run_agent) {
        std::string device = "bench-first-" + std::to_string(r);
        std::string state = work + "/state-" + device;
        std::string cfg = work + "/" + device + ".toml";
        std::ofstream(cfg) << AgentConfig(address, device, state, lib);
        RunResult res = RunProcess({agent_bin, "--config", cfg, "run", "--once", "--no-progress"},
                                   work + "/agent.log");
        if (res.exit_code != 0)
          std::fprintf(stderr, "agent exited %d (see %s/agent.log)\n", res.exit_code, work.c_str());
        agent_s.push_back(res.seconds);
        agent_cpu.push_back(res.cpu_seconds);
        agent_rss = std::max(agent_rss, res.max_rss_kb);
      } else {
        std::string repo = work + "/restic-" + std::to_string(r);
        RunProcess({"restic", "init", "--repo", repo}, work + "/restic.log", env);
        RunResult res =
            RunProcess({"restic", "backup", "--repo", repo, lib}, work + "/restic.log", env);
        if (res.exit_code != 0) std::fprintf(stderr, "restic exited %d\n", res.exit_code);
        restic_s.push_back(res.seconds);
        restic_cpu.push_back(res.cpu_seconds);
        restic_rss = std::max(restic_rss, res.max_rss_kb);
      }
    }
    if (r + 1 < rounds) {
      // The next agent round must find an empty chunk store: restart the
      // coordinator on a fresh store and key (same database is fine: new key,
      // new chunk IDs).
      coord->reset();
      std::filesystem::remove_all(work + "/chunks");
      co.chunk_store = work + "/chunks-" + std::to_string(r + 1);
      co.key_file = work + "/master-" + std::to_string(r + 1) + ".key";
      coord = testsupport::CoordinatorHarness::Start(co);
      if (!coord.ok()) return 1;
      address = (*coord)->address();
    }
  }
  double a = Median(agent_s), b = Median(restic_s);
  std::printf(
      "first backup: shoebox-agent %.2f s (%.0f MB/s, peak RSS %ld MB), restic %.2f s (%.0f MB/s, "
      "peak RSS %ld MB), "
      "throughput ratio %.2fx\n",
      a, total / 1e6 / a, agent_rss / 1024, b, total / 1e6 / b, restic_rss / 1024, b / a);
  for (size_t i = 0; i < agent_s.size(); ++i) {
    std::printf(
        "  round %zu: agent %.2f s (%.2f s CPU in the agent process), restic %.2f s (%.2f s CPU)\n",
        i, agent_s[i], agent_cpu[i], restic_s[i], restic_cpu[i]);
  }

  if (small_files > 0) {
    std::string tiny(256, 'x');
    for (int i = 0; i < small_files; ++i) {
      std::string dir = small + "/d" + std::to_string(i / 1000);
      if (i % 1000 == 0) std::filesystem::create_directories(dir);
      FillRandom(&tiny, 77 + i);
      WriteFile(dir + "/IMG_" + std::to_string(i) + ".jpg", tiny);
    }
    std::string device = "bench-rescan";
    std::string state = work + "/state-rescan";
    std::string cfg = work + "/rescan.toml";
    std::ofstream(cfg) << AgentConfig(address, device, state, small);
    PopulateIndex(address, device, state, small);
    std::string repo = work + "/restic-small";
    RunProcess({"restic", "init", "--repo", repo}, work + "/restic.log", env);
    RunProcess({"restic", "backup", "--repo", repo, small}, work + "/restic.log", env);
    std::vector<double> ar, rr;
    long arss = 0, rrss = 0;
    for (int r = 0; r < rounds; ++r) {
      RunResult x = RunProcess({agent_bin, "--config", cfg, "run", "--once", "--no-progress"},
                               work + "/agent.log");
      RunResult y =
          RunProcess({"restic", "backup", "--repo", repo, small}, work + "/restic.log", env);
      ar.push_back(x.seconds);
      rr.push_back(y.seconds);
      arss = std::max(arss, x.max_rss_kb);
      rrss = std::max(rrss, y.max_rss_kb);
      std::printf("  rescan round %d: agent %.2f s (exit %d), restic %.2f s\n", r, x.seconds,
                  x.exit_code, y.seconds);
    }
    std::printf(
        "unchanged rescan of %d files: shoebox-agent %.2f s (peak RSS %ld MB), restic %.2f s (peak "
        "RSS %ld MB), "
        "ratio %.2fx\n",
        small_files, Median(ar), arss / 1024, Median(rr), rrss / 1024, Median(rr) / Median(ar));
  }
  coord->reset();
  if (std::getenv("SHOEBOX_BENCH_KEEP") == nullptr) {
    std::filesystem::remove_all(work);
  } else {
    std::printf("kept %s\n", work.c_str());
  }
  return 0;
}
