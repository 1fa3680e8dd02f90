// Real servers for integration tests, started on free loopback ports in
// private temporary directories (see ../shared/TESTING.md for the recipes).
// Every handle stops its server (SIGTERM, then SIGKILL after 10 s) and removes
// its temporary directory when destroyed. Nothing listens on anything but
// 127.0.0.1.
#pragma once

#include <cstdio>
#include <cstdlib>

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/support/temp_dir.h"

namespace shoebox::testsupport {

// A child process this test started; the destructor stops it and reaps it.
class ScopedProcess {
 public:
  // Starts argv[0] (searched in PATH) with stdout and stderr appended to
  // `log_path`.
  static absl::StatusOr<std::unique_ptr<ScopedProcess>> Start(const std::vector<std::string>& argv,
                                                              const std::string& log_path);
  ~ScopedProcess();
  pid_t pid() const { return pid_; }
  // True while the child has not exited.
  bool Running();
  // Waits until 127.0.0.1:port accepts connections. FAILED_PRECONDITION with
  // the log's tail when the process exits first, DEADLINE_EXCEEDED after
  // `timeout_s`.
  absl::Status WaitForPort(int port, int timeout_s = 20);
  // SIGTERM, wait (SIGKILL after 10 s). Idempotent.
  void Stop();

 private:
  ScopedProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  bool reaped_ = false;
  const std::string log_path_;
};

// The value of a server start that a test binary keeps for the rest of the
// process (a static std::unique_ptr), so that it is destroyed at exit: the
// server stopped and its temporary directory removed. A failed start aborts
// the process with the status on stderr (no test can run without it).
//   static std::unique_ptr<DropboxFake> f = OrAbort(StartDropboxFake(65), "dropbox fake");
template <typename T>
std::unique_ptr<T> OrAbort(absl::StatusOr<std::unique_ptr<T>> started, const char* what) {
  if (!started.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, started.status().ToString().c_str());
    std::abort();
  }
  return std::move(*started);
}

// A currently free TCP port on 127.0.0.1 (bind to port 0, read it, close).
absl::StatusOr<int> FreeLoopbackPort();

// Writes `contents` to `path` (creating or truncating it).
absl::Status WriteTextFile(const std::string& path, const std::string& contents);

// Runs a command to completion; its stdout in `out` (optional). Non-zero exit
// is an error with the output in the message.
absl::Status RunCommand(const std::vector<std::string>& argv, std::string* out = nullptr);

// --- WebDAV: Apache httpd + mod_dav -------------------------------------
struct ApacheDav {
  // Collection URL that exists and is empty at start, e.g.
  // "http://127.0.0.1:PORT/dav". Basic auth with user/password.
  std::string url;
  std::string user;
  std::string password;
  // The local directory behind `url` (read uploaded files back from here).
  std::string root_dir;
  // One line per request: "METHOD /decoded/path STATUS".
  std::string access_log;
  // With TLS: the self-signed certificate (PEM) clients must trust.
  std::string ca_file;
  int port = 0;
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScopedProcess> process;
};
// With `tls`, https with a fresh self-signed certificate for 127.0.0.1.
// Each of `denied` (a folder under the collection, created) answers every
// request with 403 (`Require all denied`): a path the server refuses while
// the credentials are good.
absl::StatusOr<std::unique_ptr<ApacheDav>> StartApacheDav(
    bool tls = false, const std::vector<std::string>& denied = {});

// --- SFTP: OpenSSH sshd ---------------------------------------------------
struct Sshd {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string user;              // the current user (key login only)
  std::string client_key_path;   // OpenSSH private key accepted by the server
  std::string client_key_pem;    // its contents
  std::string other_key_path;    // a valid key the server does NOT accept
  std::string known_hosts_path;  // "[127.0.0.1]:PORT ssh-ed25519 ..." for the server
  std::string host_key_line;     // that line
  std::string root_dir;          // an empty directory to upload into
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScopedProcess> process;
};
absl::StatusOr<std::unique_ptr<Sshd>> StartSshd();

// --- rclone -----------------------------------------------------------------
struct RcloneWebdav {
  std::string url;  // "http://127.0.0.1:PORT/"
  std::string user;
  std::string password;
  std::string root_dir;  // served directory
  int port = 0;
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScopedProcess> process;
};
// `rclone serve webdav` of an empty directory, Basic auth.
absl::StatusOr<std::unique_ptr<RcloneWebdav>> StartRcloneServeWebdav();

struct RcloneRcd {
  std::string url;  // "http://127.0.0.1:PORT/"
  std::string user;
  std::string password;
  std::string config_path;
  std::string local_dir;  // an empty local directory usable as an fs
  int port = 0;
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScopedProcess> process;
};
// `rclone rcd --rc-serve` with Basic auth and `config_text` as its rclone.conf
// (remotes the test wants, e.g. from RcloneWebdavRemoteConfig()). Without
// `serve_objects` the --rc-serve flag is left out.
absl::StatusOr<std::unique_ptr<RcloneRcd>> StartRcloneRcd(const std::string& config_text = "",
                                                          bool serve_objects = true);
// An rclone.conf section "[name]" for a webdav remote pointing at `dav`
// (password obscured with `rclone obscure`).
absl::StatusOr<std::string> RcloneWebdavRemoteConfig(const std::string& name,
                                                     const RcloneWebdav& dav);

// --- S3: s3rver and moto (see ../shared/TESTING.md) --------------------------
struct S3Server {
  std::string endpoint;  // "http://127.0.0.1:PORT"
  std::string region = "us-east-1";
  std::string bucket;  // exists and is empty at start
  std::string access_key;
  std::string secret_key;
  int port = 0;
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScopedProcess> process;
  // Reads s3://bucket/key with an independent client (awscli:
  // `aws --endpoint-url ... s3 cp s3://bucket/key -`).
  absl::StatusOr<std::string> AwsCliRead(const std::string& key) const;
  // Creates another bucket (awscli `s3 mb`).
  absl::Status CreateBucket(const std::string& name) const;
};
// s3rver@3.7.1 (npm; build/tools/node_modules/.bin or PATH). Accepts any
// signature with its key S3RVER/S3RVER; takes awkward key names.
absl::StatusOr<std::unique_ptr<S3Server>> StartS3rver(const std::string& bucket = "shoebox");
// moto_server with INITIAL_NO_AUTH_ACTION_COUNT: an IAM user with an s3:*
// policy and an access key are created unauthenticated, then every request
// (bucket creation included) is Signature V4 verified.
// With `denied_prefix`, the user's policy also denies every s3 action on
// keys starting with it (moto enforces it: 403 AccessDenied on those keys
// only, with credentials that work for the rest of the bucket).
absl::StatusOr<std::unique_ptr<S3Server>> StartMoto(const std::string& bucket = "shoebox",
                                                    const std::string& denied_prefix = "");

}  // namespace shoebox::testsupport
