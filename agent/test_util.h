// Helpers for the agent's unit tests: temp directories (the shared
// tests/support/temp_dir.h), files and deterministic data.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "agent/hasher.h"
#include "tests/support/data_gen.h"
#include "tests/support/temp_dir.h"

namespace shoebox::agent::testing {

using TempDir = testsupport::TempDir;

inline void WriteFile(const std::string& path, const std::string& data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) abort();
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) abort();
    off += static_cast<size_t>(n);
  }
  ::close(fd);
}

// Deterministic pseudo-random bytes: the shared xorshift generator from the
// state these tests have always used (seed * gamma + 1), so the chunk
// boundaries they expect stay where they are.
inline std::string RandomBytes(size_t n, uint64_t seed) {
  return testsupport::XorShift64(seed * testsupport::kGoldenGamma + 1).Bytes(n);
}

inline SessionKeys TestKeys() {
  SessionKeys k;
  for (int i = 0; i < 32; ++i) {
    k.chunk_id_key[i] = static_cast<uint8_t>(i);
    k.chunker_key[i] = static_cast<uint8_t>(100 + i);
  }
  k.params.min_size = 16 * 1024;
  k.params.avg_size = 64 * 1024;
  k.params.max_size = 256 * 1024;
  return k;
}

}  // namespace shoebox::agent::testing
