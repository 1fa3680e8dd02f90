// What `shoebox setup` (cli/setup_cmd.cc) needs from the operating system:
// system users, files written once with an owner and mode, and programs run
// as another user (psql as postgres, enrollment and the coordinator as the
// shoebox user). POSIX only; setup runs as root.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox::cli::setup {

struct SystemUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// NOT_FOUND naming the user when it does not exist.
absl::StatusOr<SystemUser> LookupUser(const std::string& name);

struct RunResult {
  int exit_code = 0;  // 128+N when killed by signal N
  std::string out;    // stdout
  std::string err;    // stderr
};

// Runs argv[0] (looked up in PATH when it has no '/') as `as` (root's own
// identity when as.name is empty) in "/" with `input` on its stdin, and
// waits. Not OK only when the program could not be started.
absl::StatusOr<RunResult> Run(const std::vector<std::string>& argv, const SystemUser& as,
                              const std::string& input = "");

// Starts argv in the background as `as`, in its own session, stdout and
// stderr appended to `log_path`; returns its process id.
absl::StatusOr<pid_t> StartBackground(const std::vector<std::string>& argv, const SystemUser& as,
                                      const std::string& log_path);
// True while `pid` (a child started above) runs; reaps it once it exited.
bool StillRunning(pid_t pid);
// SIGTERM, then SIGKILL after `grace`; reaps the child.
void Stop(pid_t pid, std::chrono::seconds grace);

// True when something accepts TCP connections on host:port.
bool TcpReachable(const std::string& host_port);

// Creates `path` (and missing parents, root-owned 0755) unless it exists;
// when it creates it, sets owner and mode. Returns true when created.
absl::StatusOr<bool> EnsureDir(const std::string& path, mode_t mode, uid_t uid, gid_t gid);

// Writes `content` to `path` (through a temporary file and rename) with the
// owner and mode given, unless `path` exists. Returns true when written.
absl::StatusOr<bool> WriteFileOnce(const std::string& path, const std::string& content, mode_t mode,
                                   uid_t uid, gid_t gid);

// Sets the owner of an existing file or directory.
absl::Status Chown(const std::string& path, uid_t uid, gid_t gid);

// `s` as a TOML basic string, quotes included.
std::string TomlString(const std::string& s);

// The full path of program `name`: beside this executable, in the build
// tree's sibling directory `build_subdir` (../coordinator/ for a CLI in
// build/release/cli/), then in PATH. "" when not found.
std::string FindProgram(const std::string& name, const std::string& build_subdir);

// Whether systemd runs this machine (/run/systemd/system exists).
bool SystemdRunning();

}  // namespace shoebox::cli::setup
