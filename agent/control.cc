#include "agent/control.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace shoebox::agent {

absl::Status WriteControl(const std::string& state_dir, bool paused) {
  std::string path = state_dir + "/control";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Annotate(ErrnoToStatus(errno, "write " + tmp),
                    "is the state directory right? (use the same --config as the running agent)");
  }
  std::string text = paused ? "paused\n" : "resumed\n";
  ssize_t n = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    return absl::UnavailableError("short write of " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoToStatus(errno, "rename to " + path);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<bool>> ReadControl(const std::string& state_dir) {
  std::string path = state_dir + "/control";
  std::ifstream in(path);
  if (!in) return std::optional<bool>();
  std::stringstream ss;
  ss << in.rdbuf();
  std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(ss.str()));
  if (v == "paused") return std::optional<bool>(true);
  if (v == "resumed") return std::optional<bool>(false);
  return absl::InvalidArgumentError(
      absl::StrCat("control file ", path, " holds '", v,
                   "'; expected paused or resumed (rewrite it with "
                   "`shoebox-agent pause` or `shoebox-agent resume`)"));
}

TokenBucket::TokenBucket(uint64_t rate)
    : rate_(rate), burst_(std::max<double>(static_cast<double>(rate) / 4, 64 * 1024)) {
  absl::MutexLock l(&mu_);
  tokens_ = burst_;
  last_ = std::chrono::steady_clock::now();
}

void TokenBucket::Acquire(uint64_t n) {
  if (rate_ == 0) return;
  double wait_s = 0;
  {
    absl::MutexLock l(&mu_);
    auto now = std::chrono::steady_clock::now();
    double dt = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + dt * static_cast<double>(rate_));
    tokens_ -= static_cast<double>(n);
    if (tokens_ < 0) wait_s = -tokens_ / static_cast<double>(rate_);
  }
  if (wait_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
}

}  // namespace shoebox::agent
