// The fixture of the tests that drive the real `shoebox` binary (dest add,
// dest connect, ...) against an in-process coordinator (CoordinatorFixture)
// and, when a test asks for one, an in-process worker running in a thread:
// a pool key made with `shoebox pool-key`, a cli.toml pointing at the
// coordinator (--insecure-dev), and Cli() to run a command with stdin.
//
// List ${SHOEBOX_TESTS_DIR}/support/cli_fixture.cc among the test's SOURCES
// with DEFINES SHOEBOX_CLI_BINARY="$<TARGET_FILE:shoebox>" and LIBS
// shoebox_worker_lib shoebox_test_support (the worker library is an OBJECT
// library: it cannot sit inside a static one).
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/chunkstore/chunkstore.h"
#include "common/crypto/keys.h"
#include "tests/support/coordinator_fixture.h"
#include "tests/support/temp_dir.h"
#include "workers/chunk_source.h"
#include "workers/worker.h"

namespace shoebox::testsupport {

struct CliRun {
  int code = -1;
  std::string out, err;
};

// The whole file (empty when missing).
std::string ReadWholeFile(const std::string& path);
// `s` quoted for sh.
std::string ShellQuote(const std::string& s);

class CliFixture : public CoordinatorFixture {
 protected:
  // CoordinatorFixture::SetUp, StartHarness(), a temp dir, pool.key /
  // pool.pub and cli.toml in it.
  void SetUp() override;
  void TearDown() override { StopWorker(); }

  std::string Path(const std::string& name) const { return dir_->path() + "/" + name; }

  // Runs the real CLI with cli.toml, `stdin_text` on its stdin; output kept
  // in `tag`.out / `tag`.err.
  CliRun Cli(const std::vector<std::string>& args, const std::string& stdin_text = "",
             const std::string& tag = "cli");

  // A worker "w1" (pool.key, lease_wait 1 s) running in a thread until
  // StopWorker (TearDown stops it too).
  void StartWorker();
  void StopWorker();

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ChunkStore> store_;
  DerivedKeys keys_;
  std::unique_ptr<SealedChunkStore> sealed_;
  std::unique_ptr<worker::ChunkFetcher> fetcher_;
  std::unique_ptr<worker::Worker> worker_;
  std::thread thread_;
};

}  // namespace shoebox::testsupport
