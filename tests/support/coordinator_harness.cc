#include "tests/support/coordinator_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/support/pg_environment.h"

#ifndef SHOEBOX_COORDINATOR_BINARY
#define SHOEBOX_COORDINATOR_BINARY "shoebox-coordinator"
#endif

namespace shoebox::testsupport {

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TomlString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

shoebox::coordinator::CoordinatorOptions TestCoordinatorOptions(const std::string& database_url) {
  shoebox::coordinator::CoordinatorOptions o;
  o.listen = "";
  o.database_url = database_url;
  o.insecure_dev = true;
  o.db_connect_timeout_ms = 10000;
  o.db_unavailable_retry_ms = 20000;
  o.housekeeping_ms = 100;
  o.limits.lease_ms = 2000;
  o.limits.backoff_base_ms = 200;
  o.limits.backoff_max_ms = 2000;
  o.limits.max_attempts = 3;
  o.limits.max_lease_wait_ms = 2000;
  o.log_level = "warn";
  o.snapshot_interval_s = 0;  // catalog snapshots only when a test asks (docs/recovery.md)
  return o;
}

absl::StatusOr<std::unique_ptr<CoordinatorHarness>> CoordinatorHarness::Start(
    shoebox::coordinator::CoordinatorOptions options) {
  options.insecure_dev = true;
  return StartTls(std::move(options));
}

absl::StatusOr<std::unique_ptr<CoordinatorHarness>> CoordinatorHarness::StartTls(
    shoebox::coordinator::CoordinatorOptions options) {
  std::unique_ptr<CoordinatorHarness> h(new CoordinatorHarness());
  auto dir = TempDir::Make("coord");
  if (!dir.ok()) return dir.status();
  h->tmp_ = std::move(*dir);
  h->dir_ = h->tmp_->path();
  if (options.listen.empty()) options.listen = "127.0.0.1:0";
  if (options.chunk_store.empty()) options.chunk_store = h->dir_ + "/chunks";
  if (options.key_file.empty()) options.key_file = h->dir_ + "/master.key";
  h->options_ = options;
  auto server = shoebox::coordinator::CoordinatorServer::Start(options);
  if (!server.ok()) return server.status();
  h->server_ = std::move(*server);
  return h;
}

void CoordinatorHarness::Stop() {
  if (server_) server_->Shutdown();
}

CoordinatorHarness::~CoordinatorHarness() {
  server_.reset();  // before tmp_ removes the chunk store under it
}

absl::StatusOr<std::unique_ptr<CoordinatorHarness>> CoordinatorHarness::StartOnFreshDatabase(
    const std::string& prefix) {
  absl::StatusOr<std::string> url = FreshDatabase(prefix);
  if (!url.ok()) return url.status();
  shoebox::coordinator::CoordinatorOptions o = TestCoordinatorOptions(*url);
  o.listen = "127.0.0.1:0";
  return Start(std::move(o));
}

absl::StatusOr<std::unique_ptr<CoordinatorProcess>> CoordinatorProcess::Start(
    const shoebox::coordinator::CoordinatorOptions& o) {
  std::unique_ptr<CoordinatorProcess> p(new CoordinatorProcess());
  auto dir = TempDir::Make("coordproc");
  if (!dir.ok()) return dir.status();
  p->tmp_ = std::move(*dir);
  p->dir_ = p->tmp_->path();
  p->log_ = p->dir_ + "/coordinator.log";
  const std::string config = p->dir_ + "/coordinator.toml";
  {
    std::ofstream out(config);
    out << "[coordinator]\n"
        << "listen = \"127.0.0.1:0\"\n"
        << "key_file = " << TomlString(o.key_file) << "\n"
        << "insecure_dev = true\n"
        << "housekeeping_ms = " << o.housekeeping_ms << "\n"
        << "log_level = \"info\"\n"
        << "[database]\n"
        << "url = " << TomlString(o.database_url) << "\n"
        << "connect_timeout_ms = " << o.db_connect_timeout_ms << "\n"
        << "[chunk_store]\n"
        << "location = " << TomlString(o.chunk_store) << "\n"
        << "[limits]\n"
        << "lease_ms = " << o.limits.lease_ms << "\n"
        << "max_attempts = " << o.limits.max_attempts << "\n"
        << "backoff_base_ms = " << o.limits.backoff_base_ms << "\n"
        << "backoff_max_ms = " << o.limits.backoff_max_ms << "\n"
        << "max_lease_wait_ms = " << o.limits.max_lease_wait_ms << "\n";
    if (!out) return absl::InternalError(absl::StrCat("writing ", config, " failed"));
  }
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    int fd = open(p->log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execl(SHOEBOX_COORDINATOR_BINARY, SHOEBOX_COORDINATOR_BINARY, "--config", config.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  p->pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = ReadAll(p->log_);
    auto at = log.find("listening on ");
    if (at != std::string::npos) {
      auto end = log.find('\n', at);
      if (end != std::string::npos) {
        p->address_ = log.substr(at + 13, end - at - 13);
        return p;
      }
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      p->pid_ = -1;
      return absl::FailedPreconditionError(absl::StrCat(SHOEBOX_COORDINATOR_BINARY,
                                                        " exited at start (status ", status,
                                                        "); its output:\n", log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(SHOEBOX_COORDINATOR_BINARY, " did not print its address within 30 s; output:\n",
                   ReadAll(p->log_)));
}

void CoordinatorProcess::Reap(int sig) {
  if (pid_ <= 0) return;
  kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

void CoordinatorProcess::Stop() { Reap(SIGTERM); }
void CoordinatorProcess::Kill() { Reap(SIGKILL); }
std::string CoordinatorProcess::Log() const { return ReadAll(log_); }

CoordinatorProcess::~CoordinatorProcess() {
  Stop();  // tmp_ then removes the directory
}

std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(shoebox::coordinator::kMaxMessageBytes);
  args.SetMaxSendMessageSize(shoebox::coordinator::kMaxMessageBytes);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

namespace {
void Deadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}
}  // namespace

void AsDevice(grpc::ClientContext* ctx, const std::string& device) {
  ctx->AddMetadata("x-shoebox-device", device);
  Deadline(ctx);
}
void AsWorker(grpc::ClientContext* ctx, const std::string& worker) {
  ctx->AddMetadata("x-shoebox-worker", worker);
  Deadline(ctx);
}
void AsAdmin(grpc::ClientContext* ctx) {
  ctx->AddMetadata("x-shoebox-admin", "1");
  Deadline(ctx);
}

}  // namespace shoebox::testsupport
