// rclone bridge against a real `rclone rcd` (integration): the shared
// destination cases through rclone's local backend and through a webdav
// remote served by `rclone serve webdav`, plus error mapping.
#include "workers/connectors/rclone.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/support/servers.h"
#include "workers/connectors/connector_conformance.h"

namespace shoebox::worker {
namespace {

struct Servers {
  std::unique_ptr<testsupport::RcloneWebdav> dav;
  std::unique_ptr<testsupport::RcloneRcd> rcd;
};

// One rcd whose config has a webdav remote "dav" (pointing at a
// `rclone serve webdav`) and a "baddav" remote with a wrong password.
Servers* Rclone() {
  static std::unique_ptr<Servers> servers = []() -> std::unique_ptr<Servers> {
    auto s = std::make_unique<Servers>();
    auto dav = testsupport::StartRcloneServeWebdav();
    if (!dav.ok()) {
      ADD_FAILURE() << dav.status();
      return nullptr;
    }
    s->dav = std::move(*dav);
    auto good = testsupport::RcloneWebdavRemoteConfig("dav", *s->dav);
    testsupport::RcloneWebdav wrong;
    wrong.url = s->dav->url;
    wrong.user = s->dav->user;
    wrong.password = "wrong-password";
    auto bad = testsupport::RcloneWebdavRemoteConfig("baddav", wrong);
    if (!good.ok() || !bad.ok()) {
      ADD_FAILURE() << good.status() << bad.status();
      return nullptr;
    }
    auto rcd = testsupport::StartRcloneRcd(*good + *bad);
    if (!rcd.ok()) {
      ADD_FAILURE() << rcd.status();
      return nullptr;
    }
    s->rcd = std::move(*rcd);
    return s;
  }();
  return servers.get();
}

nlohmann::json Credentials(const testsupport::RcloneRcd& rcd, bool wrong = false) {
  return {{"user", rcd.user}, {"password", wrong ? "wrong" : rcd.password}};
}

}  // namespace

namespace {

// The shared conformance suite through rclone's local backend (which reports
// SHA-256) and through a webdav remote (to a `rclone serve webdav`, which
// keeps neither checksum nor mtime: re-deliveries are told by size only).
ConnectorConformanceParams LocalConformance() {
  ConnectorConformanceParams p;
  p.name = "RcloneLocalBackend";
  auto make = [](const std::string& id, bool wrong) -> absl::StatusOr<std::unique_ptr<Connector>> {
    auto* s = Rclone();
    if (s == nullptr) return absl::FailedPreconditionError("rclone did not start");
    return MakeRcloneConnector({{"url", s->rcd->url}, {"remote", s->rcd->local_dir + "/" + id}},
                               Credentials(*s->rcd, wrong));
  };
  p.make = [make](const std::string& id) { return make(id, false); };
  p.make_with_bad_credentials = [make](const std::string& id) { return make(id, true); };
  p.local_root = [](const std::string& id) {
    return Rclone() != nullptr ? Rclone()->rcd->local_dir + "/" + id : std::string("/nonexistent");
  };
  p.independent_read = [](Connector* c, const std::string& path) -> absl::StatusOr<std::string> {
    std::string d = c->Describe();  // "rclone <dir> via <url>"
    std::string dir = d.substr(strlen("rclone "), d.find(" via ") - strlen("rclone "));
    std::string file = dir + "/" + path;
    if (!std::filesystem::exists(file)) return absl::NotFoundError(file);
    return ReadWholeFile(file);
  };
  return p;
}

ConnectorConformanceParams WebdavRemoteConformance() {
  ConnectorConformanceParams p;
  p.name = "RcloneWebdavRemote";
  auto make = [](const std::string& id, bool wrong) -> absl::StatusOr<std::unique_ptr<Connector>> {
    auto* s = Rclone();
    if (s == nullptr) return absl::FailedPreconditionError("rclone did not start");
    return MakeRcloneConnector({{"url", s->rcd->url}, {"remote", "dav:photos/" + id}},
                               Credentials(*s->rcd, wrong));
  };
  p.make = [make](const std::string& id) { return make(id, false); };
  p.make_with_bad_credentials = [make](const std::string& id) { return make(id, true); };
  p.keeps_no_mtime_reason =
      "the webdav remote (rclone serve webdav) keeps neither checksum nor mtime";
  p.local_root = [](const std::string& id) {
    return Rclone() != nullptr ? Rclone()->dav->root_dir + "/photos/" + id
                               : std::string("/nonexistent");
  };
  // rclone serve webdav writes to its local directory: read the file there.
  p.independent_read = [](Connector* c, const std::string& path) -> absl::StatusOr<std::string> {
    std::string d = c->Describe();  // "rclone dav:photos/<id> via <url>"
    const std::string prefix = "rclone dav:photos/";
    if (d.rfind(prefix, 0) != 0) return absl::InternalError("unexpected Describe(): " + d);
    std::string id = d.substr(prefix.size(), d.find(" via ") - prefix.size());
    std::string file = Rclone()->dav->root_dir + "/photos/" + id + "/" + path;
    if (!std::filesystem::exists(file)) return absl::NotFoundError(file);
    return ReadWholeFile(file);
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(Rclone, ConnectorConformance,
                         ::testing::Values(LocalConformance(), WebdavRemoteConformance()),
                         ConformanceName);

}  // namespace

namespace {

TEST(RcloneErrors, RemoteRefusingRclonesCredentialsIsAnAuthenticationError) {
  auto* s = Rclone();
  ASSERT_NE(s, nullptr);
  auto c = MakeRcloneConnector({{"url", s->rcd->url}, {"remote", "baddav:photos"}},
                               Credentials(*s->rcd));
  ASSERT_TRUE(c.ok());
  PatternSource src(100, 1);
  absl::Status st = (*c)->Put(PatternRequest("x.jpg", src), &src, nullptr).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "rclone config reconnect")) << st;
}

TEST(RcloneErrors, UnconfiguredRemoteIsPermanentAndSaysSo) {
  auto* s = Rclone();
  ASSERT_NE(s, nullptr);
  auto c = MakeRcloneConnector({{"url", s->rcd->url}, {"remote", "nosuchremote:x"}},
                               Credentials(*s->rcd));
  ASSERT_TRUE(c.ok());
  absl::Status st = (*c)->Stat("x.jpg").status();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "rclone config")) << st;
}

TEST(RcloneErrors, StoppedRcServerIsRetryable) {
  auto rcd = testsupport::StartRcloneRcd();
  ASSERT_TRUE(rcd.ok()) << rcd.status();
  auto c = MakeRcloneConnector({{"url", (*rcd)->url}, {"remote", (*rcd)->local_dir}},
                               Credentials(**rcd));
  ASSERT_TRUE(c.ok());
  (*rcd)->process->Stop();
  absl::Status st = (*c)->Stat("x.jpg").status();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_EQ(ClassifyForRetry(st), RetryClass::kRetryable);
}

TEST(RcloneGet, WithoutRcServeGetSaysHowToEnableIt) {
  auto rcd = testsupport::StartRcloneRcd("", /*serve_objects=*/false);
  ASSERT_TRUE(rcd.ok()) << rcd.status();
  auto c = MakeRcloneConnector({{"url", (*rcd)->url}, {"remote", (*rcd)->local_dir}},
                               Credentials(**rcd));
  ASSERT_TRUE(c.ok());
  PatternSource src(100, 1);
  ASSERT_TRUE((*c)->Put(PatternRequest("a.jpg", src), &src, nullptr).ok());
  absl::Status st = (*c)->Get("a.jpg", [](std::string_view) { return absl::OkStatus(); });
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "--rc-serve")) << st;
}

TEST(RcloneStat, LocalBackendReportsAChecksumOfTheContent) {
  auto* s = Rclone();
  ASSERT_NE(s, nullptr);
  auto c = MakeRcloneConnector({{"url", s->rcd->url}, {"remote", s->rcd->local_dir}},
                               Credentials(*s->rcd));
  ASSERT_TRUE(c.ok());
  auto src = MakeStringSource("hello\n");
  PutRequest req;
  req.remote_path = "sum/hello.txt";
  req.size = 6;
  auto obj = (*c)->Put(req, src.get(), nullptr);
  ASSERT_TRUE(obj.ok()) << obj.status();
  // sha256("hello\n") (`printf 'hello\n' | sha256sum`): rclone 1.60's local
  // backend offers sha256, the strongest the connector asks for.
  EXPECT_EQ(obj->checksum,
            "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
}

TEST(RcloneSettings, RegisteredUnderItsKindAndValidated) {
  auto c =
      MakeConnector("rclone", {{"url", "http://127.0.0.1:5572"}, {"remote", "dropbox:Photos"}}, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->Describe(), "rclone dropbox:Photos via http://127.0.0.1:5572/");
  EXPECT_EQ(MakeRcloneConnector({{"url", "http://x/"}}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeRcloneConnector({{"remote", "x:"}}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shoebox::worker
