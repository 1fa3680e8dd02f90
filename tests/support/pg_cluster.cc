#include "tests/support/pg_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace shoebox::testsupport {

namespace {

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin/";

absl::StatusOr<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return absl::InternalError("bind(127.0.0.1:0) failed");
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 100000 ? s.substr(s.size() - 100000) : s;
}

// Runs argv with output appended to `log`; returns the exit status.
absl::Status RunLogged(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0666);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("`", absl::StrJoin(argv, " "), "` failed (status ",
                                          status, "); log tail:\n", Tail(log)));
}

}  // namespace

absl::Status PgCluster::Tool(const std::string& tool, const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  if (geteuid() == 0) {
    argv = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  }
  argv.push_back(kBinDir + tool);
  argv.insert(argv.end(), args.begin(), args.end());
  return RunLogged(argv, dir_ + "/tools.log");
}

absl::StatusOr<std::unique_ptr<PgCluster>> PgCluster::Start(const PgClusterOptions& o) {
  std::unique_ptr<PgCluster> c(new PgCluster());
  c->options_ = o;
  auto tmp = TempDir::Make("pg");
  if (!tmp.ok()) return tmp.status();
  c->tmp_ = std::move(*tmp);
  c->dir_ = c->tmp_->path();
  c->data_ = c->dir_ + "/data";
  c->log_ = c->dir_ + "/postgres.log";
  chmod(c->dir_.c_str(), 0755);
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "user 'postgres' does not exist; install the Debian postgresql package");
    }
    if (chown(c->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(absl::StrCat("chown ", c->dir_, " to postgres failed"));
    }
  }
  if (access((std::string(kBinDir) + "initdb").c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        kBinDir, "initdb not found; install postgresql-15 (deploy/install-deps.sh --test)"));
  }
  if (absl::Status st = c->Tool("initdb", {"-D", c->data_, "-A", "trust", "-U", "shoebox", "-E",
                                           "UTF8", "--no-sync", "--locale=C"});
      !st.ok()) {
    return st;
  }
  auto port = FreePort();
  if (!port.ok()) return port.status();
  c->port_ = *port;
  if (absl::Status st = c->StartAgain(); !st.ok()) return st;
  if (absl::Status st = c->Tool("createdb", {"-h", c->data_, "-p", std::to_string(c->port_), "-U",
                                             "shoebox", o.database});
      !st.ok()) {
    return st;
  }
  return c;
}

std::string PgCluster::UrlFor(const std::string& database) const {
  return absl::StrCat("postgresql://shoebox@127.0.0.1:", port_, "/", database,
                      "?connect_timeout=5");
}

absl::StatusOr<std::string> PgCluster::CreateDatabase(const std::string& name) {
  if (absl::Status st =
          Tool("createdb", {"-h", data_, "-p", std::to_string(port_), "-U", "shoebox", name});
      !st.ok()) {
    return st;
  }
  return UrlFor(name);
}

absl::StatusOr<std::string> PgCluster::Query(const std::string& sql, const std::string& database) {
  const std::string out = dir_ + "/query.out";
  std::filesystem::remove(out);
  absl::Status st =
      RunLogged({std::string(kBinDir) + "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-o",
                 out, "-c", sql, UrlFor(database.empty() ? options_.database : database)},
                dir_ + "/tools.log");
  if (!st.ok()) return st;
  return Tail(out);
}

absl::Status PgCluster::StartAgain() {
  if (running_) return absl::OkStatus();
  std::string opts = absl::StrCat("-p ", port_, " -k ", data_,
                                  " -c listen_addresses=127.0.0.1 -c max_connections=200");
  if (!options_.durable) {
    opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
  }
  absl::Status st =
      Tool("pg_ctl", {"-D", data_, "-o", opts, "-l", log_, "-w", "-t", "60", "start"});
  if (!st.ok()) {
    return absl::InternalError(absl::StrCat(st.message(), "\npostgres.log tail:\n", Tail(log_)));
  }
  running_ = true;
  return absl::OkStatus();
}

absl::Status PgCluster::Stop() {
  if (!running_) return absl::OkStatus();
  absl::Status st = Tool("pg_ctl", {"-D", data_, "-m", "fast", "-w", "-t", "60", "stop"});
  if (st.ok()) running_ = false;
  return st;
}

absl::Status PgCluster::Restart() {
  if (absl::Status st = Stop(); !st.ok()) return st;
  return StartAgain();
}

PgCluster::~PgCluster() {
  if (running_) {
    if (!Stop().ok()) {
      // Last resort: immediate shutdown.
      (void)Tool("pg_ctl", {"-D", data_, "-m", "immediate", "-w", "stop"});
    }
  }
  // tmp_ removes the directory.
}

}  // namespace shoebox::testsupport
