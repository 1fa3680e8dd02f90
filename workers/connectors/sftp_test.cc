// SFTP connector against OpenSSH sshd started on a loopback port with its own
// host key (integration): the shared destination cases plus host-key and
// login checks.
#include "workers/connectors/sftp.h"

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/support/servers.h"
#include "workers/connectors/connector_conformance.h"

namespace shoebox::worker {
namespace {

testsupport::Sshd* Server() {
  static std::unique_ptr<testsupport::Sshd> server = [] {
    auto s = testsupport::StartSshd();
    if (!s.ok()) {
      ADD_FAILURE() << s.status();
      return std::unique_ptr<testsupport::Sshd>();
    }
    return std::move(*s);
  }();
  return server.get();
}

nlohmann::json Settings(const testsupport::Sshd& s) {
  return {{"host", s.host},
          {"port", s.port},
          {"user", s.user},
          {"path", s.root_dir},
          {"known_hosts", s.known_hosts_path}};
}
nlohmann::json KeyCredentials(const testsupport::Sshd& s) {
  return {{"private_key", s.client_key_pem}};
}

ConnectorConformanceParams SftpConformance() {
  ConnectorConformanceParams p;
  p.name = "OpenSshSftp";
  auto make = [](const std::string& id, bool wrong) -> absl::StatusOr<std::unique_ptr<Connector>> {
    auto* s = Server();
    if (s == nullptr) return absl::FailedPreconditionError("sshd did not start");
    nlohmann::json settings = Settings(*s);
    settings["path"] = s->root_dir + "/" + id;  // created by the connector
    nlohmann::json creds = KeyCredentials(*s);
    if (wrong) creds["private_key"] = ReadWholeFile(s->other_key_path);
    return MakeSftpConnector(settings, creds);
  };
  p.make = [make](const std::string& id) { return make(id, false); };
  p.make_with_bad_credentials = [make](const std::string& id) { return make(id, true); };
  p.resumes = true;
  p.local_root = [](const std::string& id) {
    return Server() != nullptr ? Server()->root_dir + "/" + id : std::string("/nonexistent");
  };
  // sshd writes to the local file system: read the file from it.
  p.independent_read = [](Connector* c, const std::string& path) -> absl::StatusOr<std::string> {
    std::string d = c->Describe();  // "sftp://user@127.0.0.1:PORT/<root>"
    std::string root = d.substr(d.find('/', strlen("sftp://")));
    std::string file = root + "/" + path;
    if (!std::filesystem::exists(file)) return absl::NotFoundError(file);
    return ReadWholeFile(file);
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(Sftp, ConnectorConformance, ::testing::Values(SftpConformance()),
                         ConformanceName);

}  // namespace

namespace {

absl::Status TryPut(Connector* c, const std::string& path) {
  PatternSource src(1000, 3);
  return c->Put(PatternRequest(path, src), &src, nullptr).status();
}

TEST(SftpHostKey, UnknownHostKeyIsPermanentAndSaysWhatToDo) {
  auto* s = Server();
  ASSERT_NE(s, nullptr);
  std::string empty = s->dir->path() + "/empty_known_hosts";
  ASSERT_TRUE(testsupport::WriteTextFile(empty, "").ok());
  nlohmann::json settings = Settings(*s);
  settings["known_hosts"] = empty;
  auto c = MakeSftpConnector(settings, KeyCredentials(*s));
  ASSERT_TRUE(c.ok());
  absl::Status st = TryPut(c->get(), "unknown/x.jpg");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_EQ(ClassifyForRetry(st), RetryClass::kPermanent);
  EXPECT_TRUE(absl::StrContains(st.message(), absl::StrCat("127.0.0.1:", s->port))) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "ssh-keyscan")) << st;
  EXPECT_FALSE(std::filesystem::exists(s->root_dir + "/unknown"));
}

TEST(SftpHostKey, ChangedHostKeyIsPermanentAndSaysChanged) {
  auto* s = Server();
  ASSERT_NE(s, nullptr);
  // Same key type, different key: what a man in the middle would present.
  std::string other_pub = ReadWholeFile(s->other_key_path + ".pub");
  std::vector<std::string> f = absl::StrSplit(other_pub, ' ');
  ASSERT_GE(f.size(), 2u);
  std::string changed = s->dir->path() + "/changed_known_hosts";
  ASSERT_TRUE(testsupport::WriteTextFile(
                  changed, absl::StrCat("[127.0.0.1]:", s->port, " ", f[0], " ", f[1], "\n"))
                  .ok());
  nlohmann::json settings = Settings(*s);
  settings["known_hosts"] = changed;
  auto c = MakeSftpConnector(settings, KeyCredentials(*s));
  ASSERT_TRUE(c.ok());
  absl::Status st = TryPut(c->get(), "changed/x.jpg");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "CHANGED")) << st;
  EXPECT_FALSE(std::filesystem::exists(s->root_dir + "/changed"));

  // The same mismatch given inline as "host_key".
  settings.erase("known_hosts");
  settings["host_key"] = absl::StrCat(f[0], " ", f[1]);
  auto inline_bad = MakeSftpConnector(settings, KeyCredentials(*s));
  ASSERT_TRUE(inline_bad.ok());
  st = TryPut(inline_bad->get(), "changed/x.jpg");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "CHANGED")) << st;
}

TEST(SftpHostKey, InlineHostKeyLineIsAccepted) {
  auto* s = Server();
  ASSERT_NE(s, nullptr);
  nlohmann::json settings = Settings(*s);
  settings.erase("known_hosts");
  settings["host_key"] = s->host_key_line;  // "[127.0.0.1]:PORT ssh-ed25519 AAAA..."
  auto c = MakeSftpConnector(settings, KeyCredentials(*s));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(TryPut(c->get(), "inline/x.jpg").ok());
  EXPECT_EQ(ReadWholeFile(s->root_dir + "/inline/x.jpg"), PatternSource(1000, 3).Content());
}

TEST(SftpHostKey, UnpinnedHostKeyIsRefusedAtConfiguration) {
  auto c = MakeSftpConnector({{"host", "127.0.0.1"}}, {{"password", "x"}});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
}

TEST(SftpLogin, WrongPasswordIsUnauthenticated) {
  auto* s = Server();
  ASSERT_NE(s, nullptr);
  auto c = MakeSftpConnector(Settings(*s), {{"password", "not-the-password"}});
  ASSERT_TRUE(c.ok());
  absl::Status st = (*c)->Stat("x.jpg").status();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "refused login")) << st;
}

TEST(SftpLogin, UnreadablePrivateKeyIsUnauthenticated) {
  auto* s = Server();
  ASSERT_NE(s, nullptr);
  auto c = MakeSftpConnector(Settings(*s),
                             {{"private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->Stat("x.jpg").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(SftpConnection, ReconnectsAfterTheServerRestarts) {
  auto started = testsupport::StartSshd();
  ASSERT_TRUE(started.ok()) << started.status();
  auto& s = **started;
  auto c = MakeSftpConnector(Settings(s), KeyCredentials(s));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(TryPut(c->get(), "a/one.jpg").ok());
  // Restart sshd on the same port: the connector's connection is dead.
  s.process->Stop();
  auto proc = testsupport::ScopedProcess::Start(
      {"/usr/sbin/sshd", "-D", "-f", s.dir->path() + "/sshd_config", "-E",
       s.dir->path() + "/sshd.log"},
      s.dir->path() + "/stdout.log");
  ASSERT_TRUE(proc.ok());
  s.process = std::move(*proc);
  ASSERT_TRUE(s.process->WaitForPort(s.port).ok());
  absl::Status first = TryPut(c->get(), "a/two.jpg");
  if (!first.ok()) {
    EXPECT_EQ(ClassifyForRetry(first), RetryClass::kRetryable) << first;
    first = TryPut(c->get(), "a/two.jpg");
  }
  EXPECT_TRUE(first.ok()) << first;
  EXPECT_TRUE(std::filesystem::exists(s.root_dir + "/a/two.jpg"));
}

TEST(SftpResume, LeftoverWhoseTailDiffersIsRewrittenFromTheStart) {
  auto* s = Server();
  ASSERT_NE(s, nullptr);
  nlohmann::json settings = Settings(*s);
  settings["path"] = s->root_dir + "/resume-mismatch";
  auto c = MakeSftpConnector(settings, KeyCredentials(*s));
  ASSERT_TRUE(c.ok());
  const uint64_t size = 4ull << 20;
  PatternSource failing(size, 11, /*fail_after=*/2ull << 20);
  PutRequest req = PatternRequest("v.mp4", failing);
  ASSERT_FALSE((*c)->Put(req, &failing, nullptr).ok());
  // Damage the partial upload's last byte, as a disk or another writer might.
  std::vector<std::string> left = FilesUnder(s->root_dir + "/resume-mismatch");
  ASSERT_EQ(left.size(), 1u);
  ASSERT_EQ(left[0].rfind(".shoebox-tmp-", 0), 0u);
  std::string tmp = s->root_dir + "/resume-mismatch/" + left[0];
  {
    std::fstream f(tmp, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>((2ull << 20) - 1));
    f.put('\x5a' ^ PatternSource(size, 11).Content()[(2ull << 20) - 1]);
  }
  PatternSource good(size, 11);
  ASSERT_TRUE((*c)->Put(req, &good, nullptr).ok());
  // After comparing the tail it started over from byte 0.
  ASSERT_GE(good.seeks().size(), 2u);
  EXPECT_EQ(good.seeks().back(), 0u);
  uint64_t got_size = 0;
  auto digest = FileSha256(s->root_dir + "/resume-mismatch/v.mp4", &got_size);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(got_size, size);
  EXPECT_EQ(*digest, good.Sha256());
}

TEST(SftpSettings, RegisteredUnderItsKind) {
  auto c = MakeConnector("sftp",
                         {{"host", "h"},
                          {"port", 2222},
                          {"user", "u"},
                          {"path", "/srv/photos"},
                          {"host_key", "ssh-ed25519 AAAA"}},
                         {{"password", "p"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->Describe(), "sftp://u@h:2222/srv/photos");
}

}  // namespace
}  // namespace shoebox::worker
