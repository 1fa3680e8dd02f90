#include "cli/setup_system.h"

#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace shoebox::cli::setup {

namespace fs = std::filesystem;

namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// In the child after fork(): becomes `as` (when it names a user other than
// the caller) and execs argv. Never returns.
[[noreturn]] void ExecAs(const std::vector<std::string>& argv, const SystemUser& as) {
  if (chdir("/") != 0) _exit(126);
  if (!as.name.empty() && as.uid != geteuid()) {
    if (initgroups(as.name.c_str(), as.gid) != 0 || setgid(as.gid) != 0 || setuid(as.uid) != 0) {
      std::fprintf(stderr, "cannot become user %s: %s\n", as.name.c_str(), std::strerror(errno));
      _exit(126);
    }
    setenv("HOME", "/", 1);
    setenv("USER", as.name.c_str(), 1);
    setenv("LOGNAME", as.name.c_str(), 1);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  std::fprintf(stderr, "cannot run %s: %s\n", argv[0].c_str(), std::strerror(errno));
  _exit(127);
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

absl::StatusOr<SystemUser> LookupUser(const std::string& name) {
  struct passwd* pw = getpwnam(name.c_str());
  if (pw == nullptr) {
    return absl::NotFoundError(absl::StrCat("no user '", name, "' on this machine"));
  }
  return SystemUser{name, pw->pw_uid, pw->pw_gid};
}

absl::StatusOr<RunResult> Run(const std::vector<std::string>& argv, const SystemUser& as,
                              const std::string& input) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return Errno("pipe");
  }
  pid_t pid = fork();
  if (pid < 0) return Errno("fork");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    ExecAs(argv, as);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // The inputs here are a token or nothing: far below a pipe's buffer.
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty() && write(in[1], input.data(), input.size()) < 0) {
    // The program exited without reading its input; its exit code says why.
  }
  close(in[1]);
  RunResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = ExitCode(status);
  if (r.exit_code == 127 && r.err.rfind("cannot run ", 0) == 0) {
    return absl::NotFoundError(r.err.substr(0, r.err.find('\n')));
  }
  return r;
}

absl::StatusOr<pid_t> StartBackground(const std::vector<std::string>& argv, const SystemUser& as,
                                      const std::string& log_path) {
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log < 0) return Errno(absl::StrCat("opening ", log_path));
  if (!as.name.empty() && fchown(log, as.uid, as.gid) != 0) {
    close(log);
    return Errno(absl::StrCat("chown ", log_path));
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(log);
    return Errno("fork");
  }
  if (pid == 0) {
    setsid();
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(log, 1);
    dup2(log, 2);
    ExecAs(argv, as);
  }
  close(log);
  return pid;
}

bool StillRunning(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == 0;
}

void Stop(pid_t pid, std::chrono::seconds grace) {
  if (!StillRunning(pid)) return;
  kill(pid, SIGTERM);
  auto until = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < until) {
    if (!StillRunning(pid)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
}

bool TcpReachable(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = host_port.substr(0, colon), port = host_port.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return false;
  bool ok = false;
  for (addrinfo* a = res; a != nullptr && !ok; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    ok = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    close(fd);
  }
  freeaddrinfo(res);
  return ok;
}

absl::StatusOr<bool> EnsureDir(const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return false;
  if (fs::exists(path, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a directory: move it away"));
  }
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec)
      return absl::InternalError(absl::StrCat("creating ", parent.string(), ": ", ec.message()));
  }
  if (mkdir(path.c_str(), mode) != 0) return Errno(absl::StrCat("creating ", path));
  if (chown(path.c_str(), uid, gid) != 0) return Errno(absl::StrCat("chown ", path));
  if (chmod(path.c_str(), mode) != 0) return Errno(absl::StrCat("chmod ", path));
  return true;
}

absl::StatusOr<bool> WriteFileOnce(const std::string& path, const std::string& content, mode_t mode,
                                   uid_t uid, gid_t gid) {
  std::error_code ec;
  if (fs::exists(path, ec)) return false;
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno(absl::StrCat("writing ", tmp));
  bool ok = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
            fchown(fd, uid, gid) == 0 && fchmod(fd, mode) == 0 && fsync(fd) == 0;
  int saved = errno;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) saved = errno;
    unlink(tmp.c_str());
    errno = saved;
    return Errno(absl::StrCat("writing ", path));
  }
  return true;
}

absl::Status Chown(const std::string& path, uid_t uid, gid_t gid) {
  if (chown(path.c_str(), uid, gid) != 0) return Errno(absl::StrCat("chown ", path));
  return absl::OkStatus();
}

std::string TomlString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string FindProgram(const std::string& name, const std::string& build_subdir) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    candidates.push_back(self.parent_path() / name);
    candidates.push_back(self.parent_path().parent_path() / build_subdir / name);
  }
  if (const char* path = std::getenv("PATH")) {
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      if (!dir.empty()) candidates.push_back(fs::path(std::string(dir)) / name);
    }
  }
  for (const auto& c : candidates) {
    if (access(c.c_str(), X_OK) == 0 && fs::is_regular_file(c, ec)) return c.string();
  }
  return "";
}

bool SystemdRunning() {
  std::error_code ec;
  return fs::is_directory("/run/systemd/system", ec);
}

}  // namespace shoebox::cli::setup
