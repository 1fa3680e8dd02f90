#include "tests/support/servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace shoebox::testsupport {
namespace {

std::string ReadTail(const std::string& path, size_t max = 4000) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > max) s = s.substr(s.size() - max);
  return s;
}

absl::Status Chown(const std::string& path, const char* user) {
  struct passwd* pw = getpwnam(user);
  if (pw == nullptr) return absl::FailedPreconditionError(absl::StrCat("no user ", user));
  if (geteuid() != 0) return absl::OkStatus();  // not root: the server runs as us
  std::error_code ec;
  if (lchown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", path, ": ", strerror(errno)));
  }
  if (std::filesystem::is_directory(path, ec)) {
    for (auto& e : std::filesystem::recursive_directory_iterator(path)) {
      if (lchown(e.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        return absl::InternalError(
            absl::StrCat("chown ", e.path().string(), ": ", strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

std::string CurrentUser() {
  struct passwd* pw = getpwuid(geteuid());
  return pw != nullptr ? pw->pw_name : "root";
}

}  // namespace

absl::StatusOr<std::unique_ptr<ScopedProcess>> ScopedProcess::Start(
    const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start ", argv[0], ": ", strerror(rc),
                     " (is it installed? deploy/install-deps.sh --test)"));
  }
  return std::unique_ptr<ScopedProcess>(new ScopedProcess(pid, log_path));
}

ScopedProcess::~ScopedProcess() { Stop(); }

bool ScopedProcess::Running() {
  if (reaped_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    return false;
  }
  return true;
}

void ScopedProcess::Stop() {
  if (reaped_) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 1000; ++i) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      reaped_ = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  reaped_ = true;
}

absl::Status ScopedProcess::WaitForPort(int port, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Running()) {
      return absl::FailedPreconditionError(absl::StrCat("server process ", pid_,
                                                        " exited before listening on port ", port,
                                                        "; log:\n", ReadTail(log_path_)));
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    close(fd);
    if (rc == 0) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("server did not listen on port ", port,
                                                  " within ", timeout_s, " s; log:\n",
                                                  ReadTail(log_path_)));
}

absl::StatusOr<int> FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("bind: ", strerror(errno)));
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

absl::Status WriteTextFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status RunCommand(const std::vector<std::string>& argv, std::string* out) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  // With `out`, stdout alone is the result; otherwise stderr joins it for
  // the error message.
  if (out == nullptr) {
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_addclose(&fa, pipefd[0]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  if (rc != 0) {
    close(pipefd[0]);
    return absl::FailedPreconditionError(absl::StrCat("cannot run ", argv[0], ": ", strerror(rc)));
  }
  std::string output;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof(buf))) > 0) output.append(buf, static_cast<size_t>(n));
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "), " failed: ", output));
  }
  if (out != nullptr) *out = std::move(output);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Apache DAV

absl::StatusOr<std::unique_ptr<ApacheDav>> StartApacheDav(bool tls,
                                                          const std::vector<std::string>& denied) {
  auto s = std::make_unique<ApacheDav>();
  auto dir = TempDir::Make("apache");
  if (!dir.ok()) return dir.status();
  s->dir = std::move(*dir);
  const std::string& d = s->dir->path();
  chmod(d.c_str(), 0755);  // www-data must traverse it
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  s->port = *port;
  s->user = "shoebox";
  s->password = "dav-secret-1";
  std::filesystem::create_directories(d + "/www/dav");
  std::filesystem::create_directories(d + "/lock");
  s->root_dir = d + "/www/dav";
  if (auto st = Chown(d + "/www", "www-data"); !st.ok()) return st;
  if (auto st = Chown(d + "/lock", "www-data"); !st.ok()) return st;
  if (auto st = RunCommand({"htpasswd", "-cbB", d + "/htpasswd", s->user, s->password}); !st.ok())
    return st;
  chmod((d + "/htpasswd").c_str(), 0644);
  const std::string mods = "/usr/lib/apache2/modules/";
  std::string conf =
      absl::StrCat("ServerRoot ", d, "\nServerName 127.0.0.1\nListen 127.0.0.1:", s->port,
                   "\nPidFile ", d, "/httpd.pid\nErrorLog ", d, "/error.log\nLogLevel warn\n");
  for (const char* m : {"mpm_event", "authz_core", "authn_core", "authn_file", "auth_basic",
                        "authz_user", "dav", "dav_fs"}) {
    absl::StrAppend(&conf, "LoadModule ", m, "_module ", mods, "mod_", m, ".so\n");
  }
  if (geteuid() == 0) absl::StrAppend(&conf, "User www-data\nGroup www-data\n");
  s->access_log = d + "/access.log";
  absl::StrAppend(&conf, "CustomLog ", s->access_log, " \"%m %U %>s\"\n");
  if (tls) {
    s->ca_file = d + "/cert.pem";
    if (auto st = RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                              "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                              d + "/key.pem", "-out", s->ca_file});
        !st.ok()) {
      return st;
    }
    absl::StrAppend(&conf, "LoadModule socache_shmcb_module ", mods, "mod_socache_shmcb.so\n",
                    "LoadModule ssl_module ", mods, "mod_ssl.so\nSSLEngine on\nSSLCertificateFile ",
                    s->ca_file, "\nSSLCertificateKeyFile ", d,
                    "/key.pem\nSSLSessionCache shmcb:", d, "/ssl_cache(65536)\n");
  }
  absl::StrAppend(&conf, "DocumentRoot ", d, "/www\nDavLockDB ", d, "/lock/DavLock\n",
                  "<Directory ", d,
                  "/www>\n  Dav On\n  AuthType Basic\n  AuthName \"shoebox test\"\n  AuthUserFile ",
                  d, "/htpasswd\n  Require valid-user\n</Directory>\n");
  for (const std::string& folder : denied) {
    std::filesystem::create_directories(s->root_dir + "/" + folder);
    if (auto st = Chown(s->root_dir, "www-data"); !st.ok()) return st;
    absl::StrAppend(&conf, "<Directory ", s->root_dir, "/", folder,
                    ">\n  Require all denied\n</Directory>\n");
  }
  if (auto st = WriteTextFile(d + "/httpd.conf", conf); !st.ok()) return st;
  auto proc = ScopedProcess::Start({"apache2", "-f", d + "/httpd.conf", "-D", "FOREGROUND"},
                                   d + "/stdout.log");
  if (!proc.ok()) return proc.status();
  s->process = std::move(*proc);
  if (auto st = s->process->WaitForPort(s->port); !st.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(st.message(), "\nerror.log:\n", ReadTail(d + "/error.log")));
  }
  s->url = absl::StrCat(tls ? "https" : "http", "://127.0.0.1:", s->port, "/dav");
  return s;
}

// ---------------------------------------------------------------- sshd

absl::StatusOr<std::unique_ptr<Sshd>> StartSshd() {
  auto s = std::make_unique<Sshd>();
  auto dir = TempDir::Make("sshd");
  if (!dir.ok()) return dir.status();
  s->dir = std::move(*dir);
  const std::string& d = s->dir->path();
  std::error_code ec;
  std::filesystem::create_directories("/run/sshd", ec);  // privilege separation dir
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  s->port = *port;
  s->user = CurrentUser();
  for (const char* k : {"host_key", "client_key", "other_key"}) {
    if (auto st =
            RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", k, "-f", d + "/" + k});
        !st.ok()) {
      return st;
    }
  }
  s->client_key_path = d + "/client_key";
  s->other_key_path = d + "/other_key";
  {
    std::ifstream in(s->client_key_path);
    std::stringstream ss;
    ss << in.rdbuf();
    s->client_key_pem = ss.str();
  }
  std::string host_pub;
  {
    std::ifstream in(d + "/host_key.pub");
    std::getline(in, host_pub);
  }
  // "ssh-ed25519 AAAA... comment" → keep type and key.
  std::vector<std::string> parts;
  std::istringstream hs(host_pub);
  for (std::string p; hs >> p;) parts.push_back(p);
  if (parts.size() < 2) return absl::InternalError("unexpected host key format: " + host_pub);
  s->host_key_line = absl::StrCat("[127.0.0.1]:", s->port, " ", parts[0], " ", parts[1]);
  s->known_hosts_path = d + "/known_hosts";
  if (auto st = WriteTextFile(s->known_hosts_path, s->host_key_line + "\n"); !st.ok()) return st;
  std::filesystem::create_directories(d + "/root");
  s->root_dir = d + "/root";
  std::string conf =
      absl::StrCat("Port ", s->port, "\nListenAddress 127.0.0.1\nHostKey ", d,
                   "/host_key\nPidFile ", d, "/sshd.pid\nAuthorizedKeysFile ", d,
                   "/client_key.pub\nStrictModes no\nUsePAM no\nPasswordAuthentication yes\n"
                   "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
                   "MaxAuthTries 10\nSubsystem sftp internal-sftp\n");
  if (auto st = WriteTextFile(d + "/sshd_config", conf); !st.ok()) return st;
  auto proc = ScopedProcess::Start(
      {"/usr/sbin/sshd", "-D", "-f", d + "/sshd_config", "-E", d + "/sshd.log"}, d + "/stdout.log");
  if (!proc.ok()) return proc.status();
  s->process = std::move(*proc);
  if (auto st = s->process->WaitForPort(s->port); !st.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(st.message(), "\nsshd.log:\n", ReadTail(d + "/sshd.log")));
  }
  return s;
}

// ---------------------------------------------------------------- rclone

absl::StatusOr<std::unique_ptr<RcloneWebdav>> StartRcloneServeWebdav() {
  auto s = std::make_unique<RcloneWebdav>();
  auto dir = TempDir::Make("rclone-webdav");
  if (!dir.ok()) return dir.status();
  s->dir = std::move(*dir);
  const std::string& d = s->dir->path();
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  s->port = *port;
  s->user = "davuser";
  s->password = "dav-pass-2";
  std::filesystem::create_directories(d + "/data");
  s->root_dir = d + "/data";
  if (auto st = WriteTextFile(d + "/rclone.conf", ""); !st.ok()) return st;
  auto proc = ScopedProcess::Start(
      {"rclone", "serve", "webdav", s->root_dir, "--addr", absl::StrCat("127.0.0.1:", s->port),
       "--user", s->user, "--pass", s->password, "--config", d + "/rclone.conf"},
      d + "/serve.log");
  if (!proc.ok()) return proc.status();
  s->process = std::move(*proc);
  if (auto st = s->process->WaitForPort(s->port); !st.ok()) return st;
  s->url = absl::StrCat("http://127.0.0.1:", s->port, "/");
  return s;
}

absl::StatusOr<std::unique_ptr<RcloneRcd>> StartRcloneRcd(const std::string& config_text,
                                                          bool serve_objects) {
  auto s = std::make_unique<RcloneRcd>();
  auto dir = TempDir::Make("rclone-rcd");
  if (!dir.ok()) return dir.status();
  s->dir = std::move(*dir);
  const std::string& d = s->dir->path();
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  s->port = *port;
  s->user = "rcuser";
  s->password = "rc-pass-3";
  std::filesystem::create_directories(d + "/local");
  s->local_dir = d + "/local";
  s->config_path = d + "/rclone.conf";
  if (auto st = WriteTextFile(s->config_path, config_text); !st.ok()) return st;
  std::vector<std::string> argv = {
      "rclone",    "rcd",         "--rc-addr", absl::StrCat("127.0.0.1:", s->port),
      "--rc-user", s->user,       "--rc-pass", s->password,
      "--config",  s->config_path};
  if (serve_objects) argv.push_back("--rc-serve");
  auto proc = ScopedProcess::Start(argv, d + "/rcd.log");
  if (!proc.ok()) return proc.status();
  s->process = std::move(*proc);
  if (auto st = s->process->WaitForPort(s->port); !st.ok()) return st;
  s->url = absl::StrCat("http://127.0.0.1:", s->port, "/");
  return s;
}

absl::StatusOr<std::string> RcloneWebdavRemoteConfig(const std::string& name,
                                                     const RcloneWebdav& dav) {
  std::string obscured;
  if (auto st = RunCommand({"rclone", "obscure", dav.password}, &obscured); !st.ok()) return st;
  obscured = std::string(absl::StripAsciiWhitespace(obscured));
  return absl::StrCat("[", name, "]\ntype = webdav\nurl = ", dav.url,
                      "\nvendor = other\nuser = ", dav.user, "\npass = ", obscured, "\n\n");
}

// --- S3: s3rver and moto -----------------------------------------------------
namespace {

std::vector<std::string> AwsCli(const S3Server& s, const std::string& key_id,
                                const std::string& secret, std::vector<std::string> args) {
  std::vector<std::string> argv = {"env",
                                   "AWS_ACCESS_KEY_ID=" + key_id,
                                   "AWS_SECRET_ACCESS_KEY=" + secret,
                                   "AWS_DEFAULT_REGION=" + s.region,
                                   "AWS_CONFIG_FILE=/dev/null",
                                   "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
                                   "aws",
                                   "--endpoint-url",
                                   s.endpoint};
  for (auto& a : args) argv.push_back(std::move(a));
  return argv;
}

std::string JsonField(const std::string& json, const std::string& field) {
  std::string pat = "\"" + field + "\"";
  size_t p = json.find(pat);
  if (p == std::string::npos) return "";
  p = json.find('"', json.find(':', p) + 1);
  if (p == std::string::npos) return "";
  size_t e = json.find('"', p + 1);
  return json.substr(p + 1, e - p - 1);
}

}  // namespace

absl::StatusOr<std::string> S3Server::AwsCliRead(const std::string& key) const {
  std::string out;
  absl::Status st = RunCommand(
      AwsCli(*this, access_key, secret_key, {"s3", "cp", "s3://" + bucket + "/" + key, "-"}), &out);
  if (!st.ok()) return st;
  return out;
}

absl::Status S3Server::CreateBucket(const std::string& name) const {
  return RunCommand(AwsCli(*this, access_key, secret_key, {"s3", "mb", "s3://" + name}));
}

absl::StatusOr<std::unique_ptr<S3Server>> StartS3rver(const std::string& bucket) {
  auto s = std::make_unique<S3Server>();
  auto dir = TempDir::Make("s3rver");
  if (!dir.ok()) return dir.status();
  s->dir = std::move(*dir);
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  s->port = *port;
  s->bucket = bucket;
  s->access_key = "S3RVER";
  s->secret_key = "S3RVER";
  s->endpoint = absl::StrCat("http://127.0.0.1:", s->port);
  std::string bin = "s3rver";
  std::string local = std::string(SHOEBOX_SOURCE_DIR) + "/build/tools/node_modules/.bin/s3rver";
  if (access(local.c_str(), X_OK) == 0) bin = local;
  std::string data = s->dir->path() + "/data";
  mkdir(data.c_str(), 0755);
  auto proc =
      ScopedProcess::Start({bin, "--directory", data, "--port", std::to_string(s->port),
                            "--address", "127.0.0.1", "--configure-bucket", bucket, "--silent"},
                           s->dir->path() + "/s3rver.log");
  if (!proc.ok()) return proc.status();
  s->process = std::move(*proc);
  absl::Status st = s->process->WaitForPort(s->port, 30);
  if (!st.ok()) return st;
  return s;
}

absl::StatusOr<std::unique_ptr<S3Server>> StartMoto(const std::string& bucket,
                                                    const std::string& denied_prefix) {
  auto s = std::make_unique<S3Server>();
  auto dir = TempDir::Make("moto");
  if (!dir.ok()) return dir.status();
  s->dir = std::move(*dir);
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  s->port = *port;
  s->bucket = bucket;
  s->endpoint = absl::StrCat("http://127.0.0.1:", s->port);
  // Three unauthenticated actions: create user, attach policy, create key.
  auto proc = ScopedProcess::Start({"env", "INITIAL_NO_AUTH_ACTION_COUNT=3", "moto_server", "-H",
                                    "127.0.0.1", "-p", std::to_string(s->port)},
                                   s->dir->path() + "/moto.log");
  if (!proc.ok()) return proc.status();
  s->process = std::move(*proc);
  absl::Status st = s->process->WaitForPort(s->port, 30);
  if (!st.ok()) return st;
  st = RunCommand(
      AwsCli(*s, "bootstrap", "bootstrap", {"iam", "create-user", "--user-name", "shoebox"}));
  if (!st.ok()) return st;
  std::string statements = R"({"Effect":"Allow","Action":"s3:*","Resource":"*"})";
  if (!denied_prefix.empty()) {
    absl::StrAppend(&statements, R"(,{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::)",
                    bucket, "/", denied_prefix, R"(*"})");
  }
  st = RunCommand(
      AwsCli(*s, "bootstrap", "bootstrap",
             {"iam", "put-user-policy", "--user-name", "shoebox", "--policy-name", "s3-all",
              "--policy-document",
              absl::StrCat(R"({"Version":"2012-10-17","Statement":[)", statements, "]}")}));
  if (!st.ok()) return st;
  std::string key_json;
  st = RunCommand(
      AwsCli(*s, "bootstrap", "bootstrap", {"iam", "create-access-key", "--user-name", "shoebox"}),
      &key_json);
  if (!st.ok()) return st;
  s->access_key = JsonField(key_json, "AccessKeyId");
  s->secret_key = JsonField(key_json, "SecretAccessKey");
  if (s->access_key.empty() || s->secret_key.empty()) {
    return absl::InternalError("moto: create-access-key returned no key: " + key_json);
  }
  st = s->CreateBucket(bucket);
  if (!st.ok()) return st;
  return s;
}

}  // namespace shoebox::testsupport
