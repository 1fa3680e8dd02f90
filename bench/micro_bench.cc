// Micro-benchmarks of the core: chunker, HMAC, SHA-256, seal/open, directory
// store, and the single-core pipeline chunk + ID + seal. Results and how to
// read them: docs/performance.md.
//
//   shoebox_micro_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// SHOEBOX_BENCH_DIR picks the directory for the store benchmarks (default
// /tmp); the disk under it is what BM_DirStorePut measures.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/chunker/fastcdc.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/blob.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"

namespace shoebox {
namespace {

const std::string& RandomData() {
  static const std::string* data = [] {
    auto* s = new std::string(64 << 20, '\0');
    std::mt19937_64 rng(1);
    for (size_t i = 0; i + 8 <= s->size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(s->data() + i, &v, 8);
    }
    return s;
  }();
  return *data;
}

const DerivedKeys& Keys() {
  static const DerivedKeys k = [] {
    Key256 m;
    for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<uint8_t>(i);
    return DeriveKeys(m);
  }();
  return k;
}

std::string TextData(size_t n) {
  std::string s;
  int i = 0;
  while (s.size() < n)
    s += "line " + std::to_string(i++) + ": the quick brown fox jumps over the lazy dog\n";
  s.resize(n);
  return s;
}

void BM_Chunker(benchmark::State& state) {
  const std::string& data = RandomData();
  const GearTable gear = MakeGearTable(Keys().chunker_key);
  std::vector<uint64_t> cuts;
  for (auto _ : state) {
    Chunker c(ChunkerParams{}, gear);
    cuts.clear();
    c.Feed(AsBytes(data), &cuts);
    benchmark::DoNotOptimize(c.Finish());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["chunks"] = static_cast<double>(cuts.size() + 1);
}
BENCHMARK(BM_Chunker)->Unit(benchmark::kMillisecond);

// The chunker alone on cache-resident input: one 256 KiB buffer fed over
// and over (cuts continue across feeds), so memory bandwidth is out of it.
void BM_ChunkerHot(benchmark::State& state) {
  const std::string_view buf = std::string_view(RandomData()).substr(0, 256 << 10);
  const GearTable gear = MakeGearTable(Keys().chunker_key);
  Chunker c(ChunkerParams{}, gear);
  std::vector<uint64_t> cuts;
  for (auto _ : state) {
    c.Feed(AsBytes(buf), &cuts);
    cuts.clear();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_ChunkerHot);

void BM_Sha256(benchmark::State& state) {
  const std::string_view data = std::string_view(RandomData()).substr(0, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(Sha256::Of(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Sha256)->Arg(64)->Arg(4096)->Arg(1 << 20);

void BM_Sha256Stream(benchmark::State& state) {
  // Whole-file hashing: 64 MiB fed in 1 MiB pieces.
  const std::string& data = RandomData();
  Sha256 h;
  for (auto _ : state) {
    for (size_t off = 0; off < data.size(); off += 1 << 20) {
      h.Update(std::string_view(data).substr(off, 1 << 20));
    }
    benchmark::DoNotOptimize(h.Final());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Sha256Stream)->Unit(benchmark::kMillisecond);

void BM_HmacSha256(benchmark::State& state) {
  const std::string_view data = std::string_view(RandomData()).substr(0, state.range(0));
  HmacSha256 h(ByteSpan(Keys().chunk_id_key.data(), 32));
  for (auto _ : state) benchmark::DoNotOptimize(h.Compute(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_HmacSha256)->Arg(64)->Arg(4096)->Arg(1 << 20);

void BM_SealRandom(benchmark::State& state) {
  const std::string_view data = std::string_view(RandomData()).substr(0, state.range(0));
  BlobSealer s(Keys().data_key);
  const ChunkId id = Sha256::Of(data);
  const Compression c = state.range(1) ? Compression::kAuto : Compression::kNever;
  for (auto _ : state) benchmark::DoNotOptimize(s.Seal(id, AsBytes(data), c));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetLabel(state.range(1) ? "auto (sampled, stays raw)" : "never compress");
}
BENCHMARK(BM_SealRandom)->Args({1 << 20, 1})->Args({1 << 20, 0});

void BM_SealText(benchmark::State& state) {
  const std::string data = TextData(1 << 20);
  BlobSealer s(Keys().data_key);
  const ChunkId id = Sha256::Of(data);
  size_t out = 0;
  for (auto _ : state) {
    std::string b = s.Seal(id, AsBytes(data));
    out = b.size();
    benchmark::DoNotOptimize(b);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["ratio"] = static_cast<double>(out) / static_cast<double>(data.size());
}
BENCHMARK(BM_SealText);

void BM_Open(benchmark::State& state) {
  const std::string data = state.range(0)
                               ? TextData(1 << 20)
                               : std::string(std::string_view(RandomData()).substr(0, 1 << 20));
  BlobSealer s(Keys().data_key);
  const ChunkId id = Sha256::Of(data);
  const std::string blob = s.Seal(id, AsBytes(data));
  for (auto _ : state) benchmark::DoNotOptimize(s.Open(id, blob));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetLabel(state.range(0) ? "zstd text" : "raw random");
}
BENCHMARK(BM_Open)->Arg(0)->Arg(1);

// The agent/coordinator hot path on one core: cut, compute the chunk ID,
// seal. Incompressible input (the worst case for the compression check).
void BM_PipelineChunkIdSeal(benchmark::State& state) {
  const std::string& data = RandomData();
  const GearTable gear = MakeGearTable(Keys().chunker_key);
  HmacSha256 hmac(ByteSpan(Keys().chunk_id_key.data(), 32));
  BlobSealer sealer(Keys().data_key);
  const int stages = static_cast<int>(state.range(0));
  std::vector<uint64_t> cuts;
  for (auto _ : state) {
    // Chunk by chunk, as the agent does: cut, then ID and seal the chunk
    // while it is still in cache.
    Chunker c(ChunkerParams{}, gear);
    uint64_t prev = 0;
    size_t off = 0;
    constexpr size_t kRead = 1 << 20;  // read buffer size
    auto consume = [&](uint64_t cut) {
      const ByteSpan chunk = AsBytes(std::string_view(data).substr(prev, cut - prev));
      if (stages >= 2) {
        const ChunkId id = hmac.Compute(chunk);
        if (stages >= 3) benchmark::DoNotOptimize(sealer.Seal(id, chunk));
      }
      prev = cut;
    };
    while (off < data.size()) {
      cuts.clear();
      c.Feed(AsBytes(std::string_view(data).substr(off, kRead)), &cuts);
      off += kRead;
      for (uint64_t cut : cuts) consume(cut);
    }
    if (auto last = c.Finish()) consume(*last);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetLabel(stages == 1 ? "chunk" : stages == 2 ? "chunk+id" : "chunk+id+seal");
}
BENCHMARK(BM_PipelineChunkIdSeal)->Arg(1)->Arg(2)->Arg(3)->Unit(benchmark::kMillisecond);

// The same work, fused: the stream is fed in 64 KiB slices; each slice is
// cut and HMAC-updated while it is in L1/L2, and a chunk is sealed as soon as
// its last slice is through.
void BM_PipelineFused(benchmark::State& state) {
  const std::string& data = RandomData();
  const GearTable gear = MakeGearTable(Keys().chunker_key);
  HmacSha256 hmac(ByteSpan(Keys().chunk_id_key.data(), 32));
  BlobSealer sealer(Keys().data_key);
  const size_t slice = static_cast<size_t>(state.range(0));
  std::vector<uint64_t> cuts;
  for (auto _ : state) {
    Chunker c(ChunkerParams{}, gear);
    HmacSha256Stream id_stream(hmac);
    uint64_t chunk_start = 0;
    auto finish_chunk = [&](uint64_t end) {
      const ChunkId id = id_stream.Final();
      benchmark::DoNotOptimize(
          sealer.Seal(id, AsBytes(std::string_view(data).substr(chunk_start, end - chunk_start))));
      chunk_start = end;
    };
    for (size_t off = 0; off < data.size(); off += slice) {
      const std::string_view piece = std::string_view(data).substr(off, slice);
      cuts.clear();
      c.Feed(AsBytes(piece), &cuts);
      uint64_t hashed = off;
      for (uint64_t cut : cuts) {
        id_stream.Update(std::string_view(data).substr(hashed, cut - hashed));
        hashed = cut;
        finish_chunk(cut);
      }
      id_stream.Update(std::string_view(data).substr(hashed, off + piece.size() - hashed));
    }
    if (auto last = c.Finish()) finish_chunk(*last);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_PipelineFused)->Arg(64 << 10)->Arg(256 << 10)->Unit(benchmark::kMillisecond);

std::string BenchDir() {
  const char* env = ::getenv("SHOEBOX_BENCH_DIR");
  std::string tmpl = std::string(env ? env : "/tmp") + "/shoebox_bench_XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return "/tmp/shoebox_bench_fallback";
  return tmpl;
}

void BM_DirStorePut(benchmark::State& state) {
  const std::string dir = BenchDir();
  auto store = OpenDirChunkStore(dir + "/s");
  if (!store.ok()) {
    state.SkipWithError(std::string(store.status().message()).c_str());
    return;
  }
  const std::string_view blob = std::string_view(RandomData()).substr(0, 1 << 20);
  uint64_t n = 0;
  for (auto _ : state) {
    const std::string key = std::to_string(n++);
    absl::Status st = (*store)->Put(Sha256::Of(key), blob);
    if (!st.ok()) state.SkipWithError(std::string(st.message()).c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * blob.size()));
  store->reset();
  std::filesystem::remove_all(dir);
}
// Threads(8): eight puts in flight (each thread its own store directory on
// the same disk), as the coordinator does; fsync latency overlaps.
BENCHMARK(BM_DirStorePut)->Unit(benchmark::kMillisecond)->UseRealTime()->Threads(1)->Threads(8);

void BM_DirStoreGet(benchmark::State& state) {
  const std::string dir = BenchDir();
  auto store = OpenDirChunkStore(dir + "/s");
  if (!store.ok()) {
    state.SkipWithError(std::string(store.status().message()).c_str());
    return;
  }
  const std::string_view blob = std::string_view(RandomData()).substr(0, 1 << 20);
  constexpr int kObjects = 32;
  for (int i = 0; i < kObjects; ++i) {
    if (!(*store)->Put(Sha256::Of(std::to_string(i)), blob).ok()) {
      state.SkipWithError("put failed");
      return;
    }
  }
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*store)->Get(Sha256::Of(std::to_string(i++ % kObjects))));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * blob.size()));
  state.SetLabel("page cache warm");
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_DirStoreGet)->UseRealTime();

}  // namespace
}  // namespace shoebox

BENCHMARK_MAIN();
