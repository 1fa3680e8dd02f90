#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status.h"

extern char** environ;

namespace shoebox {

namespace {

constexpr size_t kMaxStderr = 64 * 1024;

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  void Close(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

}  // namespace

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         std::string_view stdin_data,
                                         const std::vector<std::string>& extra_env) {
  if (argv.empty()) return absl::InvalidArgumentError("RunProcess: empty argv");
  Pipe in, out, err;
  for (Pipe* p : {&in, &out, &err}) {
    if (::pipe2(p->fd, O_CLOEXEC) != 0) return ErrnoToStatus(errno, "create pipe");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err.fd[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Writing to a child that exited must not kill us: SIGPIPE is ignored in
  // this process from the first call on (never restored: other threads may
  // be writing to pipes too), and reset to the default in the child.
  static std::once_flag sigpipe_once;
  std::call_once(sigpipe_once, [] {
    struct sigaction cur {};
    if (::sigaction(SIGPIPE, nullptr, &cur) == 0 && cur.sa_handler == SIG_DFL) {
      ::signal(SIGPIPE, SIG_IGN);
    }
  });
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &def);
  // Daemons block SIGINT/SIGTERM in every thread (common/signals.h); the
  // child starts with none blocked, as it would from a shell.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> env;
  for (const std::string& e : extra_env) env.push_back(const_cast<char*>(e.c_str()));
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view var(*e);
    bool overridden = false;
    for (const std::string& x : extra_env) {
      const size_t eq = x.find('=');
      if (var.substr(0, eq + 1) == std::string_view(x).substr(0, eq + 1)) overridden = true;
    }
    if (!overridden) env.push_back(*e);
  }
  env.push_back(nullptr);
  pid_t pid = -1;
  int rc = argv[0].find('/') == std::string::npos
               ? ::posix_spawnp(&pid, argv[0].c_str(), &fa, &attr, args.data(), env.data())
               : ::posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return ErrnoToStatus(rc, absl::StrCat("start ", argv[0]));
  }
  in.Close(0);
  out.Close(1);
  err.Close(1);

  ProcessResult r;
  size_t written = 0;
  if (stdin_data.empty()) in.Close(1);
  absl::Status io;
  while (out.fd[0] >= 0 || err.fd[0] >= 0 || in.fd[1] >= 0) {
    pollfd fds[3];
    int n = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1;
    if (in.fd[1] >= 0) {
      idx_in = n;
      fds[n++] = {in.fd[1], POLLOUT, 0};
    }
    if (out.fd[0] >= 0) {
      idx_out = n;
      fds[n++] = {out.fd[0], POLLIN, 0};
    }
    if (err.fd[0] >= 0) {
      idx_err = n;
      fds[n++] = {err.fd[0], POLLIN, 0};
    }
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      io = ErrnoToStatus(errno, "poll child pipes");
      break;
    }
    char buf[1 << 16];
    if (idx_in >= 0 && fds[idx_in].revents != 0) {
      ssize_t w = ::write(in.fd[1], stdin_data.data() + written,
                          std::min<size_t>(stdin_data.size() - written, 1 << 16));
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EINTR && errno != EAGAIN) {
        in.Close(1);  // the child stopped reading (EPIPE); its exit status tells why
      } else if (written == stdin_data.size()) {
        in.Close(1);
      }
    }
    for (auto [idx, pipe, sink] :
         {std::tuple{idx_out, &out, &r.out}, std::tuple{idx_err, &err, &r.err}}) {
      if (idx < 0 || fds[idx].revents == 0) continue;
      ssize_t got = ::read(pipe->fd[0], buf, sizeof buf);
      if (got > 0) {
        sink->append(buf, static_cast<size_t>(got));
        if (sink == &r.err && r.err.size() > 2 * kMaxStderr)
          r.err.erase(0, r.err.size() - kMaxStderr);
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        pipe->Close(0);
      }
    }
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (!io.ok()) return io;
  if (r.err.size() > kMaxStderr) r.err.erase(0, r.err.size() - kMaxStderr);
  if (WIFEXITED(wstatus)) {
    r.exit_code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    r.term_signal = WTERMSIG(wstatus);
  }
  if (r.exit_code == 127 && r.out.empty() && r.err.empty()) {
    return absl::NotFoundError(
        absl::StrCat("program ", argv[0], " could not be run (not installed?)"));
  }
  return r;
}

std::string DescribeFailure(const ProcessResult& r) {
  std::string head = r.exit_code >= 0 ? absl::StrCat("exit code ", r.exit_code)
                                      : absl::StrCat("killed by signal ", r.term_signal);
  absl::string_view e = absl::StripTrailingAsciiWhitespace(r.err);
  if (e.size() > 2000) e = e.substr(e.size() - 2000);
  if (e.empty()) return head;
  return absl::StrCat(head, ": ", e);
}

}  // namespace shoebox
