// Chunk stream handling: feeding the input in any two pieces gives the same
// cut points as feeding it whole, and every chunk is within min..max.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/chunker/fastcdc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static const shoebox::GearTable gear = shoebox::MakeGearTable(shoebox::Key256{});
  shoebox::ChunkerParams p;
  p.min_size = 64;
  p.avg_size = 256;
  p.max_size = 1024;
  const size_t split = data[0] % size;
  shoebox::ByteSpan in(data + 1, size - 1);
  auto run = [&](size_t at) {
    shoebox::Chunker c(p, gear);
    std::vector<uint64_t> cuts;
    at = at > in.size() ? in.size() : at;
    c.Feed(in.subspan(0, at), &cuts);
    c.Feed(in.subspan(at), &cuts);
    if (auto last = c.Finish()) cuts.push_back(*last);
    return cuts;
  };
  auto whole = run(in.size());
  if (run(split) != whole) abort();
  uint64_t prev = 0;
  for (size_t i = 0; i < whole.size(); ++i) {
    uint64_t len = whole[i] - prev;
    if (len == 0 || len > p.max_size) abort();
    if (len < p.min_size && i + 1 != whole.size()) abort();
    prev = whole[i];
  }
  if (prev != in.size()) abort();
  return 0;
}
