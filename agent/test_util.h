// Helpers for the agent's unit tests: temp directories and files.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "agent/hasher.h"

namespace shoebox::agent::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/shoebox-agent-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

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

// Deterministic pseudo-random bytes.
inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x & 0xff);
  }
  return s;
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
