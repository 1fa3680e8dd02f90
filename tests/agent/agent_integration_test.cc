// The agent against a real coordinator (in-process harness) with a private
// PostgreSQL and a directory chunk store.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/agent.h"
#include "agent/control.h"
#include "agent/progress.h"
#include "agent/sender.h"
#include "agent/test_util.h"
#include "common/crypto/hash.h"
#include "gtest/gtest.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "tests/support/coordinator_harness.h"
#include "tests/support/pg_environment.h"

namespace shoebox::agent {
namespace {

using testing::RandomBytes;
using testing::TempDir;
using testing::WriteFile;
using testsupport::AsDevice;
using testsupport::CoordinatorHarness;

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// The shoebox-agent binary as a child process (output appended to a log).
class AgentProcess {
 public:
  AgentProcess(const std::vector<std::string>& args, const std::string& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~AgentProcess() { Kill(); }
  bool Running() {
    if (reaped_) return false;
    int st;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = st;
      return false;
    }
    return true;
  }
  void Kill() {
    if (reaped_ || pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    reaped_ = true;
  }
  int exit_code() const { return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

class AgentIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = testsupport::FreshDatabase("agent");
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    port_ = FreePort();
    ASSERT_GT(port_, 0);
    StartCoordinator();
    device_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    tree_ = std::make_unique<TempDir>();
    state_ = std::make_unique<TempDir>();
  }

  void StartCoordinator() {
    auto o = testsupport::TestCoordinatorOptions(url_);
    o.listen = "127.0.0.1:" + std::to_string(port_);
    o.chunk_store = store_.path() + "/chunks";
    o.key_file = store_.path() + "/master.key";
    auto c = CoordinatorHarness::Start(o);
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
  }

  AgentConfig Config(int64_t settle = 0) {
    AgentConfig c;
    c.insecure_dev = true;  // the harness coordinator runs --insecure-dev
    c.coordinator_address = "127.0.0.1:" + std::to_string(port_);
    c.device_name = device_;
    c.state_dir = state_->path();
    c.settle_seconds = settle;
    c.rescan_interval_seconds = 3600;
    c.rpc_timeout_seconds = 20;
    FolderConfig f;
    f.path = tree_->path();
    c.folders.push_back(f);
    return c;
  }

  // Runs the agent with --once semantics; returns its final snapshot.
  StatusSnapshot RunOnce() {
    Agent::Options o;
    o.once = true;
    auto a = Agent::Create(Config(), o);
    EXPECT_TRUE(a.ok()) << a.status();
    if (!a.ok()) return {};
    EXPECT_TRUE((*a)->Run().ok());
    return (*a)->Snapshot();
  }

  // Every version of this device (all_versions), keyed by path.
  std::multimap<std::string, v1::FileVersion> Versions(bool all = true) {
    std::multimap<std::string, v1::FileVersion> out;
    auto stub = v1::AgentService::NewStub(testsupport::Channel(coordinator_->address()));
    int64_t after = 0;
    while (true) {
      grpc::ClientContext ctx;
      AsDevice(&ctx, device_);
      v1::ListVersionsRequest req;
      req.set_folder(tree_->path());
      req.set_all_versions(all);
      req.set_after_version_id(after);
      req.set_limit(1000);
      v1::ListVersionsResponse resp;
      grpc::Status s = stub->ListVersions(&ctx, req, &resp);
      // Not OK before the agent's first Hello registered the device; callers
      // assert on what was found.
      if (!s.ok()) break;
      for (const auto& v : resp.versions()) out.emplace(v.path(), v);
      if (resp.next_after_version_id() == 0) break;
      after = resp.next_after_version_id();
    }
    return out;
  }

  // Current (not deleted) complete versions by path.
  std::map<std::string, v1::FileVersion> Current() {
    std::map<std::string, v1::FileVersion> out;
    for (auto& [p, v] : Versions(false)) {
      if (v.deleted_unix_ms() == 0 && v.state() == v1::VERSION_STATE_COMPLETE) out[p] = v;
    }
    return out;
  }

  size_t StoredChunks() {
    size_t n = 0;
    std::error_code ec;
    for (auto& e : std::filesystem::recursive_directory_iterator(store_.path() + "/chunks", ec)) {
      if (e.is_regular_file() && e.path().filename().string().rfind(".tmp.", 0) != 0) ++n;
    }
    return n;
  }

  std::string url_;  // a fresh database per test
  TempDir store_;
  int port_ = 0;
  std::unique_ptr<CoordinatorHarness> coordinator_;
  std::string device_;
  std::unique_ptr<TempDir> tree_, state_;
};

template <typename Pred>
bool WaitFor(Pred p, int seconds = 60) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return p();
}

TEST_F(AgentIntegrationTest, ThousandNewFilesAllArriveAndAnUnchangedRescanReadsNothing) {
  std::map<std::string, std::string> files;
  for (int i = 0; i < 1000; ++i) {
    std::string rel = "d" + std::to_string(i % 10) + "/IMG_" + std::to_string(i) + ".jpg";
    files[rel] = RandomBytes(1000 + (i * 37) % 20000, i);
    WriteFile(tree_->path() + "/" + rel, files[rel]);
  }
  StatusSnapshot first = RunOnce();
  EXPECT_EQ(first.files_done, 1000u);
  auto current = Current();
  ASSERT_EQ(current.size(), 1000u);
  for (const auto& [rel, data] : files) {
    auto it = current.find(rel);
    ASSERT_NE(it, current.end()) << rel;
    EXPECT_EQ(it->second.size(), data.size());
    EXPECT_EQ(it->second.sha256(), DigestToString(Sha256::Of(data))) << rel;
  }
  size_t versions_before = Versions().size();
  StatusSnapshot second = RunOnce();
  EXPECT_EQ(second.bytes_read, 0u);
  EXPECT_EQ(second.chunks_uploaded, 0u);
  EXPECT_EQ(Versions().size(), versions_before);
}

TEST_F(AgentIntegrationTest, MetadataEditUploadsOnlyTheChangedChunks) {
  std::string data = RandomBytes(24 << 20, 7);
  WriteFile(tree_->path() + "/video.mov", data);
  StatusSnapshot first = RunOnce();
  EXPECT_EQ(first.chunk_bytes_uploaded, data.size());
  // Edit 64 bytes in place in the middle (like an EXIF/metadata edit).
  for (int i = 0; i < 64; ++i) data[12 << 20 | i] ^= 0x5a;
  int fd = ::open((tree_->path() + "/video.mov").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, data.data() + (12 << 20), 64, 12 << 20), 64);
  ::close(fd);
  StatusSnapshot second = RunOnce();
  EXPECT_GT(second.chunk_bytes_uploaded, 0u);
  EXPECT_LE(second.chunk_bytes_uploaded, 2u * (4 << 20));  // one or two chunks of at most 4 MiB
  EXPECT_LT(second.chunk_bytes_uploaded, data.size() / 3);
  auto current = Current();
  ASSERT_EQ(current.count("video.mov"), 1u);
  EXPECT_EQ(current["video.mov"].sha256(), DigestToString(Sha256::Of(data)));
}

TEST_F(AgentIntegrationTest, RenameUploadsNothingAndReportsTheOldPathDeleted) {
  std::string data = RandomBytes(16 << 20, 9);
  WriteFile(tree_->path() + "/keep.jpg", "keep");
  WriteFile(tree_->path() + "/a/clip.mp4", data);
  RunOnce();
  std::filesystem::create_directories(tree_->path() + "/b");
  std::filesystem::rename(tree_->path() + "/a/clip.mp4", tree_->path() + "/b/renamed.mp4");
  StatusSnapshot second = RunOnce();
  EXPECT_EQ(second.chunks_uploaded, 0u);
  auto current = Current();
  EXPECT_EQ(current.count("a/clip.mp4"), 0u);
  ASSERT_EQ(current.count("b/renamed.mp4"), 1u);
  EXPECT_EQ(current["b/renamed.mp4"].sha256(), DigestToString(Sha256::Of(data)));
  bool old_deleted = false;
  for (auto& [p, v] : Versions()) {
    if (p == "a/clip.mp4" && v.deleted_unix_ms() != 0) old_deleted = true;
  }
  EXPECT_TRUE(old_deleted);
}

TEST_F(AgentIntegrationTest, GrowingFileIsReportedOnlyOnceSettled) {
  Agent::Options o;
  auto agent = Agent::Create(Config(/*settle=*/2), o);
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::thread runner([&] { EXPECT_TRUE((*agent)->Run().ok()); });
  std::string path = tree_->path() + "/growing.mp4";
  std::string all;
  {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    for (int i = 0; i < 12; ++i) {  // about 3 s of appends, 0.25 s apart
      std::string piece = RandomBytes(300 * 1024, 100 + i);
      ASSERT_EQ(::write(fd, piece.data(), piece.size()), static_cast<ssize_t>(piece.size()));
      all += piece;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    ::close(fd);
  }
  ASSERT_TRUE(WaitFor([&] { return Current().count("growing.mp4") == 1; }));
  (*agent)->Stop();
  runner.join();
  // Every version the coordinator ever recorded is the complete file.
  auto versions = Versions();
  ASSERT_EQ(versions.count("growing.mp4"), 1u);
  EXPECT_EQ(versions.find("growing.mp4")->second.size(), all.size());
  EXPECT_EQ(versions.find("growing.mp4")->second.sha256(), DigestToString(Sha256::Of(all)));
}

TEST_F(AgentIntegrationTest, CoordinatorDownForAWhileThenBackLosesNothing) {
  WriteFile(tree_->path() + "/before.jpg", RandomBytes(50000, 1));
  Agent::Options o;
  auto agent = Agent::Create(Config(), o);
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::thread runner([&] { EXPECT_TRUE((*agent)->Run().ok()); });
  ASSERT_TRUE(WaitFor([&] { return Current().count("before.jpg") == 1; }));
  coordinator_->Stop();
  coordinator_.reset();
  for (int i = 0; i < 20; ++i)
    WriteFile(tree_->path() + "/offline/" + std::to_string(i) + ".jpg", RandomBytes(40000, 50 + i));
  // The changes wait in the outbox while the coordinator is away.
  ASSERT_TRUE(WaitFor([&] { return (*agent)->db()->outbox_files() == 20; }));
  ASSERT_TRUE(WaitFor([&] { return !(*agent)->stats().connected.load(); }));
  StartCoordinator();
  ASSERT_TRUE(WaitFor([&] { return (*agent)->db()->outbox_files() == 0; }, 120));
  (*agent)->Stop();
  runner.join();
  auto current = Current();
  EXPECT_EQ(current.size(), 21u);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(current.count("offline/" + std::to_string(i) + ".jpg"), 1u) << i;
}

TEST_F(AgentIntegrationTest, KilledMidUploadResumesWithoutReuploadingAcknowledgedChunks) {
  const int kFiles = 12;
  for (int i = 0; i < kFiles; ++i) {
    WriteFile(tree_->path() + "/v" + std::to_string(i) + ".mov", RandomBytes(4 << 20, 300 + i));
  }
  std::string cfg_path = state_->path() + "/../" + device_ + ".toml";
  auto write_cfg = [&](const std::string& extra) {
    std::ofstream c(cfg_path);
    c << "[coordinator]\ninsecure_dev = true\naddress = \"127.0.0.1:" << port_ << "\"\n"
      << "[agent]\ndevice_name = \"" << device_ << "\"\nstate_dir = \"" << state_->path() << "\"\n"
      << "settle_seconds = 0\n"
      << extra << "[[folder]]\npath = \"" << tree_->path() << "\"\n";
  };
  // Slow uploads so the kill lands in the middle.
  write_cfg("bandwidth_limit = \"8 MiB\"\n");
  std::string log = state_->path() + "/../" + device_ + ".log";
  auto proc = std::make_unique<AgentProcess>(
      std::vector<std::string>{SHOEBOX_AGENT_BINARY, "--config", cfg_path, "run", "--once",
                               "--no-progress"},
      log);
  size_t total_chunks = 0;
  ASSERT_TRUE(WaitFor([&] { return StoredChunks() >= 12; }, 120));
  proc->Kill();  // SIGKILL mid-upload
  size_t stored_at_kill = StoredChunks();
  size_t complete_at_kill = Current().size();
  EXPECT_LT(complete_at_kill, static_cast<size_t>(kFiles));  // it really was interrupted
  write_cfg("");
  AgentProcess proc2({SHOEBOX_AGENT_BINARY, "--config", cfg_path, "run", "--once", "--no-progress"},
                     log);
  ASSERT_TRUE(WaitFor([&] { return !proc2.Running(); }, 120));
  EXPECT_EQ(proc2.exit_code(), 0);
  auto current = Current();
  EXPECT_EQ(current.size(), static_cast<size_t>(kFiles));
  total_chunks = StoredChunks();
  auto snap = ReadStatusFile(state_->path());
  ASSERT_TRUE(snap.ok()) << snap.status();
  // The second run uploaded only chunks that were not stored at the kill.
  EXPECT_LE(snap->chunks_uploaded, total_chunks - stored_at_kill);
  EXPECT_GT(snap->chunks_uploaded, 0u);
}

TEST_F(AgentIntegrationTest, AwkwardNamesSizesAndSparseFilesArrive) {
  std::map<std::string, std::string> files = {
      {std::string("caf\xe9.jpg"), "latin1"},
      {std::string("\xff\xfe raw bytes.jpg"), "bytes"},
      {std::string(251, 'n') + ".jpg", "255-byte name"},
      {"with space #hash %percent.jpg", "space"},
      {"emoji \xf0\x9f\x93\xb7.heic", "emoji"},
      {"empty.jpg", ""},
  };
  for (auto& [rel, data] : files) WriteFile(tree_->path() + "/" + rel, data);
  // A path of about 4,000 bytes.
  std::string deep;
  while (deep.size() < 3900) deep += std::string(120, 'p') + "/";
  std::string deep_rel = deep + "deep.jpg";
  {
    int dfd = ::open(tree_->path().c_str(), O_RDONLY | O_DIRECTORY);
    size_t start = 0;
    while (true) {
      size_t slash = deep_rel.find('/', start);
      std::string comp =
          deep_rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      if (slash == std::string::npos) {
        int f = ::openat(dfd, comp.c_str(), O_WRONLY | O_CREAT, 0644);
        ASSERT_EQ(::write(f, "deep", 4), 4);
        ::close(f);
        break;
      }
      ::mkdirat(dfd, comp.c_str(), 0755);
      int n = ::openat(dfd, comp.c_str(), O_RDONLY | O_DIRECTORY);
      ::close(dfd);
      dfd = n;
      start = slash + 1;
    }
    ::close(dfd);
  }
  // A sparse file over 4 GiB.
  const uint64_t big = (4ull << 30) + 12345;
  {
    int fd = ::open((tree_->path() + "/huge.mkv").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_EQ(::pwrite(fd, "end", 3, static_cast<off_t>(big - 3)), 3);
    ::close(fd);
  }
  // Not backed up: a FIFO and a symlink.
  ASSERT_EQ(::mkfifo((tree_->path() + "/pipe.jpg").c_str(), 0644), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (tree_->path() + "/link.jpg").c_str()), 0);
  RunOnce();
  auto current = Current();
  for (auto& [rel, data] : files) {
    ASSERT_EQ(current.count(rel), 1u) << PrintablePath(rel);
    EXPECT_EQ(current[rel].size(), data.size());
    EXPECT_EQ(current[rel].sha256(), DigestToString(Sha256::Of(data)));
  }
  ASSERT_EQ(current.count(deep_rel), 1u);
  ASSERT_EQ(current.count("huge.mkv"), 1u);
  EXPECT_EQ(current["huge.mkv"].size(), big);
  EXPECT_EQ(current.count("pipe.jpg"), 0u);
  EXPECT_EQ(current.count("link.jpg"), 0u);
  EXPECT_EQ(current.size(), files.size() + 2);
}

TEST_F(AgentIntegrationTest, PausedAgentReadsAndSendsNothingUntilResumed) {
  ASSERT_TRUE(WriteControl(state_->path(), true).ok());  // `shoebox-agent pause`
  WriteFile(tree_->path() + "/p.jpg", RandomBytes(100000, 5));
  auto agent = Agent::Create(Config(), Agent::Options{});
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::thread runner([&] { EXPECT_TRUE((*agent)->Run().ok()); });
  ASSERT_TRUE(WaitFor([&] {
    auto s = ReadStatusFile(state_->path());
    return s.ok() && s->state == "paused" && s->files_pending == 1;
  }));
  EXPECT_EQ((*agent)->stats().bytes_read.load(), 0u);
  EXPECT_EQ(Current().size(), 0u);
  ASSERT_TRUE(WriteControl(state_->path(), false).ok());  // `shoebox-agent resume`
  ASSERT_TRUE(WaitFor([&] { return Current().count("p.jpg") == 1; }));
  (*agent)->Stop();
  runner.join();
}

TEST_F(AgentIntegrationTest, UnreadableFileIsLoggedByPathAndTheRestArrives) {
  // Permission checks do not apply to root: run the agent binary as nobody.
  if (::geteuid() != 0 || ::access("/usr/sbin/runuser", X_OK) != 0)
    GTEST_SKIP() << "needs root and runuser";
  WriteFile(tree_->path() + "/ok.jpg", "readable");
  WriteFile(tree_->path() + "/secret.jpg", "not for you");
  ASSERT_EQ(::chmod((tree_->path() + "/secret.jpg").c_str(), 0), 0);
  ASSERT_EQ(::chmod(tree_->path().c_str(), 0755), 0);
  std::string state = state_->path() + "/nobody";
  std::filesystem::create_directories(state);
  ASSERT_EQ(::chown(state.c_str(), 65534, 65534), 0);
  std::string cfg_path = state_->path() + "/agent.toml";
  std::ofstream(cfg_path) << "[coordinator]\ninsecure_dev = true\naddress = \"127.0.0.1:" << port_
                          << "\"\n[agent]\ndevice_name = \"" << device_ << "\"\nstate_dir = \""
                          << state << "\"\nsettle_seconds = 0\n[[folder]]\npath = \""
                          << tree_->path() << "\"\n";
  ASSERT_EQ(::chmod(state_->path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(cfg_path.c_str(), 0644), 0);
  std::string log = state_->path() + "/agent.log";
  AgentProcess p({"/usr/sbin/runuser", "-u", "nobody", "--", SHOEBOX_AGENT_BINARY, "--config",
                  cfg_path, "run", "--once", "--no-progress"},
                 log);
  ASSERT_TRUE(WaitFor([&] { return !p.Running(); }, 120));
  EXPECT_EQ(p.exit_code(), 3);  // completed, some files unreadable
  auto current = Current();
  EXPECT_EQ(current.count("ok.jpg"), 1u);
  EXPECT_EQ(current.count("secret.jpg"), 0u);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("cannot read " + tree_->path() + "/secret.jpg: permission denied"),
            std::string::npos)
      << text;
}

TEST_F(AgentIntegrationTest, InotifyWatchLimitIsReportedOnceAndRescansFindTheRest) {
  // A real kernel limit without touching the machine's: in a new user
  // namespace (Linux >= 5.11) /proc/sys/user/max_inotify_watches is its own.
  if (::access("/usr/bin/unshare", X_OK) != 0) GTEST_SKIP() << "needs unshare";
  if (std::system(
          "unshare -U -r sh -c 'echo 3 > /proc/sys/user/max_inotify_watches' 2>/dev/null") != 0)
    GTEST_SKIP() << "per-namespace inotify limits not available";
  for (int d = 0; d < 8; ++d)
    WriteFile(tree_->path() + "/d" + std::to_string(d) + "/first.jpg", "first" + std::to_string(d));
  std::string cfg_path = state_->path() + "/agent.toml";
  std::ofstream(cfg_path)
      << "[coordinator]\ninsecure_dev = true\naddress = \"127.0.0.1:" << port_
      << "\"\n[agent]\ndevice_name = \"" << device_ << "\"\nstate_dir = \"" << state_->path()
      << "/st\"\nsettle_seconds = 0\nrescan_interval_seconds = 2\n[[folder]]\npath = \""
      << tree_->path() << "\"\n";
  std::string log = state_->path() + "/agent.log";
  // 3 watches: the root and two of the eight directories at most.
  AgentProcess p({"/usr/bin/unshare", "-U", "-r", "sh", "-c",
                  "echo 3 > /proc/sys/user/max_inotify_watches && exec \"$0\" \"$@\"",
                  SHOEBOX_AGENT_BINARY, "--config", cfg_path, "run", "--no-progress"},
                 log);
  ASSERT_TRUE(WaitFor([&] { return Current().size() == 8; }, 120));
  for (int d = 0; d < 8; ++d)
    WriteFile(tree_->path() + "/d" + std::to_string(d) + "/later.jpg", "later" + std::to_string(d));
  // Unwatched directories are found by the periodic rescan.
  ASSERT_TRUE(WaitFor([&] { return Current().size() == 16; }, 120)) << Current().size();
  EXPECT_TRUE(p.Running());
  p.Kill();
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t first = text.find("inotify watch limit reached");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("inotify watch limit reached", first + 1), std::string::npos)
      << "said more than once:\n"
      << text;
}

TEST_F(AgentIntegrationTest, ChunksLostOnTheServerAreUploadedAgainFromTheUnchangedFile) {
  const std::string data =
      RandomBytes(3 << 20, 7321);  // a seed no other test uses: no shared chunks
  WriteFile(tree_->path() + "/keep.jpg", data);
  RunOnce();
  ASSERT_EQ(Current().count("keep.jpg"), 1u);
  const size_t stored = StoredChunks();
  ASSERT_GT(stored, 0u);
  // The chunk store loses every blob of the file (a failed disk, a bad copy).
  std::vector<std::filesystem::path> blobs;
  for (auto& e : std::filesystem::recursive_directory_iterator(store_.path() + "/chunks"))
    if (e.is_regular_file()) blobs.push_back(e.path());
  for (const auto& b : blobs) std::filesystem::remove(b);
  auto admin =
      v1::AdminService::NewStub(testsupport::Channel("127.0.0.1:" + std::to_string(port_)));
  auto verify = [&]() {
    v1::VerifyRequest req;
    req.set_scrub_percent(100);
    v1::VerifyResponse resp;
    grpc::ClientContext ctx;
    testsupport::AsAdmin(&ctx);
    grpc::Status s = admin->Verify(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  };
  // (The catalog is shared with earlier tests of this process, whose chunk
  // stores are gone: count only this device's file.)
  auto keep_damage = [this](const v1::VerifyResponse& r) {
    size_t n = 0;
    int64_t version = 0;
    for (const auto& d : r.damaged()) {
      for (const auto& f : d.files()) {
        if (f.device() == device_ && f.path() == "keep.jpg") {
          ++n;
          version = f.version_id();
        }
      }
    }
    return std::make_pair(n, version);
  };
  v1::VerifyResponse found = verify();
  ASSERT_EQ(keep_damage(found).first, stored);
  bool unrepairable = false;  // no destination holds it
  for (const auto& f : found.unrepairable())
    unrepairable |= f.device() == device_ && f.path() == "keep.jpg";
  EXPECT_TRUE(unrepairable);

  // The agent, with the file unchanged, is told on its heartbeat and sends
  // the chunks again.
  Agent::Options o;
  auto agent = Agent::Create(Config(), o);
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::thread runner([&] { EXPECT_TRUE((*agent)->Run().ok()); });
  bool back = false;
  for (int i = 0; i < 120 && !back; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    back = keep_damage(verify()).first == 0;
  }
  (*agent)->Stop();
  runner.join();
  ASSERT_TRUE(back) << "the lost chunks did not come back from the device";
  EXPECT_EQ(StoredChunks(), stored);
  v1::VerifyResponse after = verify();
  EXPECT_EQ(keep_damage(after).first, 0u);
  // Same version: nothing new was recorded, only the chunks came back.
  EXPECT_EQ(Current().at("keep.jpg").sha256(), DigestToString(Sha256::Of(data)));
  EXPECT_EQ(Current().at("keep.jpg").version_id(), keep_damage(found).second);
}

// Issue 7's restore round trip through the real `shoebox` binary: 1,000
// files with the awkward names of the agent issue come back byte for byte
// with their mtimes; --at brings back the older version; files restored into
// the device's own folder are not uploaded again.
TEST_F(AgentIntegrationTest,
       ThousandAwkwardFilesRestoreByteIdenticalAndRestoringIntoTheFolderUploadsNothing) {
  std::map<std::string, std::string> files;
  const std::vector<std::string> awkward = {"Été #1 (copy)+&.jpg",
                                            "sp ace/x y.jpg",
                                            std::string("bad\xff\xfe-latin1-\xe9.jpg"),
                                            "..dots..jpg",
                                            "deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r.jpg",
                                            std::string(251, 'L') + ".jpg",
                                            "zero.jpg",
                                            "-leading-dash.jpg",
                                            "tab\tname.jpg",
                                            "日本語の写真.heic"};
  for (size_t i = 0; i < awkward.size(); ++i)
    files[awkward[i]] = awkward[i] == "zero.jpg" ? "" : RandomBytes(500 + i * 911, 9000 + i);
  for (int i = 0; files.size() < 1000; ++i)
    files["r" + std::to_string(i % 17) + "/IMG_" + std::to_string(i) + ".jpg"] =
        RandomBytes(200 + (i * 53) % 9000, 5000 + i);
  for (const auto& [rel, data] : files) WriteFile(tree_->path() + "/" + rel, data);
  // Distinct mtimes to check they come back.
  int k = 0;
  for (const auto& [rel, data] : files) {
    struct timespec ts[2] = {{1600000000 + k, 123456789}, {1600000000 + k, 123456789}};
    ++k;
    ASSERT_EQ(::utimensat(AT_FDCWD, (tree_->path() + "/" + rel).c_str(), ts, 0), 0) << rel;
  }
  RunOnce();
  ASSERT_EQ(Current().size(), 1000u);

  const std::string cli_cfg = state_->path() + "/cli.toml";
  std::ofstream(cli_cfg) << "coordinator = \"" << coordinator_->address()
                         << "\"\ninsecure_dev = true\n";
  auto cli = [&](const std::vector<std::string>& args) {
    std::string log = state_->path() + "/cli.log";
    std::vector<std::string> argv = {"/usr/bin/env", "SHOEBOX_CLI_CONFIG=" + cli_cfg,
                                     SHOEBOX_CLI_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    AgentProcess p(argv, log);
    EXPECT_TRUE(WaitFor([&] { return !p.Running(); }, 300));
    return p.exit_code();
  };
  const std::string out = state_->path() + "/restored";
  ASSERT_EQ(cli({"restore", "--device", device_, "--to", out}), 0);
  for (const auto& [rel, data] : files) {
    std::ifstream in(out + "/" + rel, std::ios::binary);
    ASSERT_TRUE(in.good()) << PrintablePath(rel);
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_EQ(got, data) << PrintablePath(rel);
    struct stat a {
    }, b{};
    ASSERT_EQ(::stat((out + "/" + rel).c_str(), &a), 0);
    ASSERT_EQ(::stat((tree_->path() + "/" + rel).c_str(), &b), 0);
    EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec) << PrintablePath(rel);
    EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec) << PrintablePath(rel);
  }
  size_t restored_files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(out))
    if (e.is_regular_file()) ++restored_files;
  EXPECT_EQ(restored_files, 1000u);

  // Point in time: edit one photo, back it up, restore it as it was before.
  const std::string edited_rel = "r3/IMG_3.jpg";
  const int64_t before_edit_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  WriteFile(tree_->path() + "/" + edited_rel, "edited " + RandomBytes(3000, 77));
  RunOnce();
  ASSERT_EQ(Versions().count(edited_rel), 2u);
  const std::string old_out = state_->path() + "/as-before";
  ASSERT_EQ(cli({"restore", "--device", device_, "--path", edited_rel, "--at",
                 std::to_string(before_edit_ms), "--to", old_out}),
            0);
  {
    std::ifstream in(old_out + "/" + edited_rel, std::ios::binary);
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(got, files[edited_rel]);
  }

  // Restore into the device's own folder (some files were lost there): the
  // agent sees them again but uploads nothing and records no new version.
  const size_t versions_before = Versions().size();
  int removed = 0;
  for (const auto& [rel, data] : files) {
    if (rel.rfind("r5/", 0) == 0) {
      std::filesystem::remove(tree_->path() + "/" + rel);
      ++removed;
    }
  }
  ASSERT_GT(removed, 10);
  ASSERT_EQ(cli({"restore", "--device", device_, "--folder", tree_->path(), "--to", tree_->path()}),
            0);
  for (const auto& [rel, data] : files) {
    if (rel.rfind("r5/", 0) != 0) continue;
    std::ifstream in(tree_->path() + "/" + rel, std::ios::binary);
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_EQ(got, data) << rel;
  }
  StatusSnapshot again = RunOnce();
  EXPECT_EQ(again.chunks_uploaded, 0u);
  EXPECT_EQ(Versions().size(), versions_before);
  EXPECT_EQ(Current().size(), 1000u);
}

TEST_F(AgentIntegrationTest, FileChangedBetweenReadingAndUploadIsReadAgainNotCompleted) {
  // Drive the Sender directly: the file is read and queued, then rewritten
  // before its chunks are uploaded.
  std::string data = RandomBytes(3 << 20, 11);
  WriteFile(tree_->path() + "/edit.jpg", data);
  CoordinatorClient client("127.0.0.1:" + std::to_string(port_), device_, std::chrono::seconds(20));
  v1::HelloRequest hello;
  hello.add_folders(tree_->path());
  auto h = client.Hello(hello);
  ASSERT_TRUE(h.ok()) << h.status();
  SessionKeys keys;
  std::memcpy(keys.chunk_id_key.data(), h->chunk_id_key().data(), 32);
  std::memcpy(keys.chunker_key.data(), h->chunker_key().data(), 32);
  keys.params = ChunkerParams{h->chunk_min_size(), h->chunk_avg_size(), h->chunk_max_size()};
  ChunkHasher hasher(keys);
  auto db = StateDb::Open(state_->path());
  ASSERT_TRUE(db.ok());
  uint32_t folder = *(*db)->FolderId(tree_->path());
  auto read = HashFile(tree_->path(), "edit.jpg", hasher, nullptr);
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(
      (*db)->RecordUpsert(folder, "", "edit.jpg", read->stat, read->sha256, read->chunks).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a distinct mtime/ctime
  std::string edited = data;
  edited[100] ^= 1;
  WriteFile(tree_->path() + "/edit.jpg", edited);

  AgentStats stats;
  TokenBucket bucket(0);
  std::vector<std::string> changed;
  Sender sender(
      db->get(), &client, &hasher, {{folder, tree_->path()}}, &stats, &bucket, Sender::Options{},
      [] { return true; }, [&](uint32_t, const std::string& rel) { changed.push_back(rel); });
  auto n = sender.RunRound();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(stats.chunks_uploaded.load(), 0u);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0], "edit.jpg");
  EXPECT_EQ((*db)->outbox_files(), 0u);  // dropped: the scanner queues the new content
  auto idx = (*db)->GetIndex(folder, "", "edit.jpg");
  ASSERT_TRUE(idx.ok());
  EXPECT_FALSE(idx->has_value());              // forgotten, so the next scan reads it again
  EXPECT_EQ(Current().count("edit.jpg"), 0u);  // never completed with other bytes
}

TEST_F(AgentIntegrationTest, UnmountedFolderIsNotReportedAsDeleted) {
  for (int i = 0; i < 5; ++i)
    WriteFile(tree_->path() + "/p" + std::to_string(i) + ".jpg", "x" + std::to_string(i));
  RunOnce();
  ASSERT_EQ(Current().size(), 5u);
  std::string moved = tree_->path() + ".away";
  std::filesystem::rename(tree_->path(), moved);
  RunOnce();
  EXPECT_EQ(Current().size(), 5u);
  std::filesystem::rename(moved, tree_->path());
}

}  // namespace
}  // namespace shoebox::agent
