// Delivery benchmark: a generated photo/video library is put into a sealed
// directory chunk store, then delivered to a local destination by the
// worker's data path (ChunkSource: read + AES-GCM open + SHA-256 verify,
// local connector: temp file + fsync + rename) with W parallel jobs, side by
// side with `rclone copy` of the same tree from plain files (Debian's rclone,
// --transfers W). Runs alternate (shoebox, shoebox without fsync, rclone) and
// the medians and ratios are printed.
//
//   shoebox_deliver_bench [--mb 400] [--files 160] [--runs 3] [--workers 2] [--tmp /tmp]
//
// Not measured here: the coordinator (lease/complete round trips, ~ms per
// job; see the coordinator bench) - this is the bytes path.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "workers/chunk_source.h"
#include "workers/connectors/local.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using shoebox::worker::ChunkSpan;

struct FileEntry {
  std::string path;
  uint64_t size = 0;
  std::string sha256;
  std::vector<ChunkSpan> chunks;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int RunRclone(const std::string& src, const std::string& dst, int workers,
              const std::string& conf) {
  std::vector<std::string> args = {"rclone",      "copy",
                                   src,           dst,
                                   "--transfers", std::to_string(workers),
                                   "--checkers",  std::to_string(workers),
                                   "--config",    conf,
                                   "-q"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, "rclone", nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t mb = 400;
  int files = 160, runs = 3, workers = 2;
  std::string tmp = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--mb")
      mb = std::stoull(v);
    else if (k == "--files")
      files = std::stoi(v);
    else if (k == "--runs")
      runs = std::stoi(v);
    else if (k == "--workers")
      workers = std::stoi(v);
    else if (k == "--tmp")
      tmp = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  std::string root = tmp + "/shoebox-deliver-bench-XXXXXX";
  if (mkdtemp(root.data()) == nullptr) return 1;
  const std::string src = root + "/src", store_dir = root + "/chunks";
  fs::create_directories(src);
  std::ofstream(root + "/rclone.conf") << "";

  // Generate the library: sizes spread around the mean (photos and a few
  // videos), incompressible bytes, 1 MiB chunks, sealed with a data key.
  auto store = shoebox::OpenDirChunkStore(store_dir);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  shoebox::Key256 key{};
  shoebox::SecureRandom(key.data(), key.size());
  shoebox::SealedChunkStore sealed(store->get(), key);
  shoebox::HmacSha256 idkey(shoebox::ByteSpan(key.data(), key.size()));
  std::vector<FileEntry> entries;
  const uint64_t total = mb * 1000 * 1000, mean = total / static_cast<uint64_t>(files);
  uint64_t written = 0, x = 88172645463325252ull;
  for (int i = 0; i < files && written < total; ++i) {
    uint64_t size =
        (i % 20 == 19) ? mean * 6 : mean / 2 + (mean * static_cast<uint64_t>(i % 7)) / 14;
    size = std::min(size, total - written);
    FileEntry e;
    e.path = "Camera/" + std::to_string(2020 + i % 5) + "/IMG_" + std::to_string(1000 + i) + ".jpg";
    e.size = size;
    fs::create_directories(fs::path(src + "/" + e.path).parent_path());
    std::ofstream out(src + "/" + e.path, std::ios::binary);
    shoebox::Sha256 h;
    std::string piece;
    for (uint64_t off = 0; off < size; off += piece.size()) {
      piece.resize(std::min<uint64_t>(1 << 20, size - off));
      for (size_t j = 0; j + 8 <= piece.size(); j += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::memcpy(piece.data() + j, &x, 8);
      }
      out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
      h.Update(piece);
      ChunkSpan c;
      c.id = idkey.Compute(piece);
      c.size = static_cast<uint32_t>(piece.size());
      if (!sealed.PutPlain(c.id, shoebox::AsBytes(piece), shoebox::Compression::kNever).ok())
        return 1;
      e.chunks.push_back(c);
    }
    e.sha256 = shoebox::DigestToString(h.Final());
    written += size;
    entries.push_back(std::move(e));
  }
  std::printf("library: %zu files, %.1f MB, %d parallel jobs, %d runs\n", entries.size(),
              written / 1e6, workers, runs);

  auto fetcher = shoebox::worker::MakeStoreFetcher(&sealed);
  auto deliver = [&](const std::string& dst, bool fsync) -> double {
    fs::remove_all(dst);
    auto t0 = std::chrono::steady_clock::now();
    std::atomic<size_t> next{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> ts;
    for (int w = 0; w < workers; ++w) {
      ts.emplace_back([&] {
        auto conn = shoebox::worker::MakeLocalConnector({{"root", dst}, {"fsync", fsync}},
                                                        nlohmann::json::object());
        if (!conn.ok()) {
          ++errors;
          return;
        }
        for (size_t i; (i = next++) < entries.size();) {
          const FileEntry& e = entries[i];
          shoebox::worker::ChunkSource source(fetcher.get(), e.chunks, e.size, e.sha256);
          shoebox::worker::PutRequest req;
          req.remote_path = e.path;
          req.size = e.size;
          req.sha256 = e.sha256;
          req.mtime_ns = 1700000000ll * 1000000000ll;
          if (!(*conn)->Put(req, &source, nullptr).ok()) ++errors;
        }
      });
    }
    for (auto& t : ts) t.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (errors) std::fprintf(stderr, "%d deliveries failed\n", errors.load());
    return s;
  };

  std::vector<double> sb, sb_nofsync, rc;
  for (int r = 0; r < runs; ++r) {
    sb.push_back(deliver(root + "/dst-shoebox", true));
    sb_nofsync.push_back(deliver(root + "/dst-shoebox-nofsync", false));
    fs::remove_all(root + "/dst-rclone");
    auto t0 = std::chrono::steady_clock::now();
    int rcode = RunRclone(src, root + "/dst-rclone", workers, root + "/rclone.conf");
    rc.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (rcode != 0) std::fprintf(stderr, "rclone exited with %d\n", rcode);
    std::printf("run %d: shoebox %.2f s, shoebox (no fsync) %.2f s, rclone copy %.2f s\n", r + 1,
                sb.back(), sb_nofsync.back(), rc.back());
    std::fflush(stdout);
  }
  double a = Median(sb), b = Median(sb_nofsync), c = Median(rc);
  std::printf(
      "median: shoebox %.2f s (%.0f MB/s), shoebox no-fsync %.2f s (%.0f MB/s), rclone %.2f s "
      "(%.0f MB/s)\n",
      a, written / 1e6 / a, b, written / 1e6 / b, c, written / 1e6 / c);
  std::printf("ratio rclone/shoebox (>1: shoebox faster): %.2f with fsync, %.2f without\n", c / a,
              c / b);
  fs::remove_all(root);
  return 0;
}
