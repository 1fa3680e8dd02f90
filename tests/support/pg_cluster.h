// A private PostgreSQL 15 cluster for tests and benchmarks: initdb in a fresh
// directory under /tmp (owned by the `postgres` user when running as root),
// the server on a free 127.0.0.1 port with its socket in that directory, one
// database created. The destructor stops the server and removes the
// directory.
//
//   auto pg = PgCluster::Start();            // ASSERT_TRUE(pg.ok())
//   std::string url = (*pg)->url();          // postgresql://shoebox@127.0.0.1:P/shoebox
//   (*pg)->Restart();                        // fast shutdown + start, same port
//
// Not thread-safe: one thread drives a cluster.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/support/temp_dir.h"

namespace shoebox::testsupport {

struct PgClusterOptions {
  // false (tests): fsync, synchronous_commit and full_page_writes off, which
  // is faster and loses nothing a test cares about. true (benchmarks): the
  // defaults of a real installation.
  bool durable = false;
  // Database created at start.
  std::string database = "shoebox";
};

class PgCluster {
 public:
  static absl::StatusOr<std::unique_ptr<PgCluster>> Start(const PgClusterOptions& o = {});
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Connection URL of the database created at start (user "shoebox", trust
  // authentication, TCP on loopback).
  std::string url() const { return UrlFor(options_.database); }
  std::string UrlFor(const std::string& database) const;
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }

  // Creates another database; returns its URL.
  absl::StatusOr<std::string> CreateDatabase(const std::string& name);
  // Runs SQL through psql (-At: unaligned, tuples only) and returns its
  // output, e.g. Query("SELECT count(*) FROM jobs") == "12\n". Empty
  // `database`: the one created at start.
  absl::StatusOr<std::string> Query(const std::string& sql, const std::string& database = "");
  // Fast shutdown (clients are disconnected). Idempotent.
  absl::Status Stop();
  // Starts the stopped server again on the same port.
  absl::Status StartAgain();
  // Stop() + StartAgain().
  absl::Status Restart();
  bool running() const { return running_; }

 private:
  PgCluster() = default;
  // Runs a PostgreSQL tool (as the postgres user when we are root).
  absl::Status Tool(const std::string& tool, const std::vector<std::string>& args);

  PgClusterOptions options_;
  std::unique_ptr<TempDir> tmp_;  // removed at the end
  std::string dir_;               // tmp_'s path
  std::string data_;              // data directory (also the socket directory)
  std::string log_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace shoebox::testsupport
