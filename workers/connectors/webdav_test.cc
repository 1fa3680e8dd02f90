// WebDAV connector: encoding and PROPFIND parsing (unit), and the shared
// destination cases against Apache httpd + mod_dav and `rclone serve webdav`
// (integration).
#include "workers/connectors/webdav.h"

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "common/bytes.h"
#include "common/http/http_client.h"
#include "common/http/url.h"
#include "gtest/gtest.h"
#include "tests/support/servers.h"
#include "workers/connectors/connector_conformance.h"

namespace shoebox::worker {
namespace {

using http::EncodePath;
using http::PercentDecode;
using webdav_internal::ParseMultistatus;
using webdav_internal::PickChecksum;

TEST(WebDavEncoding, AwkwardSegmentIsFullyPercentEncoded) {
  EXPECT_EQ(http::EncodePathSegment("Été #1 (copy)+&.jpg"),
            "%C3%89t%C3%A9%20%231%20%28copy%29%2B%26.jpg");
  EXPECT_EQ(http::EncodePathSegment("a/b?c=\"d\"'e"), "a%2Fb%3Fc%3D%22d%22%27e");
  EXPECT_EQ(http::EncodePathSegment("plain-name_1.~x"), "plain-name_1.~x");
}

TEST(WebDavEncoding, PathKeepsSlashesAndDecodeRoundTrips) {
  std::string p = "Dossier été/100% sure?/x+y.jpg";
  EXPECT_EQ(EncodePath(p), "Dossier%20%C3%A9t%C3%A9/100%25%20sure%3F/x%2By.jpg");
  EXPECT_EQ(PercentDecode(EncodePath(p)), p);
  EXPECT_EQ(PercentDecode("a+b%2"), "a+b%2");  // '+' is literal, bad escape kept
}

TEST(WebDavPropfind, NextcloudAnswerYieldsSizesDatesAndChecksums) {
  const char* xml = R"(<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">
 <d:response><d:href>/remote.php/dav/files/alice/Photos/</d:href>
  <d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype>
   <d:getlastmodified>Tue, 14 Nov 2023 22:13:20 GMT</d:getlastmodified><d:getetag>"655"</d:getetag></d:prop>
   <d:status>HTTP/1.1 200 OK</d:status></d:propstat>
  <d:propstat><d:prop><d:getcontentlength/><oc:checksums/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
 </d:response>
 <d:response><d:href>/remote.php/dav/files/alice/Photos/%C3%89t%C3%A9%20%231.jpg</d:href>
  <d:propstat><d:prop><d:resourcetype/><d:getcontentlength>12345</d:getcontentlength>
   <d:getlastmodified>Tue, 14 Nov 2023 22:13:20 GMT</d:getlastmodified><d:getetag>"abc"</d:getetag>
   <oc:checksums><oc:checksum>SHA1:AABB MD5:ccdd ADLER32:01</oc:checksum></oc:checksums></d:prop>
   <d:status>HTTP/1.1 200 OK</d:status></d:propstat>
 </d:response>
</d:multistatus>)";
  auto entries = ParseMultistatus(xml);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_TRUE((*entries)[0].collection);
  EXPECT_FALSE((*entries)[0].has_length);
  const auto& f = (*entries)[1];
  EXPECT_FALSE(f.collection);
  EXPECT_EQ(PercentDecode(f.href), "/remote.php/dav/files/alice/Photos/Été #1.jpg");
  EXPECT_EQ(f.length, 12345u);
  EXPECT_EQ(f.mtime_ns, 1700000000LL * 1000000000LL);
  EXPECT_EQ(f.etag, "\"abc\"");
  EXPECT_EQ(f.checksum, "sha1:aabb");
}

TEST(WebDavPropfind, MalformedAnswerIsAnErrorNotAnEmptyList) {
  EXPECT_FALSE(ParseMultistatus("<html><body>Login</body>").ok());
}

TEST(WebDavPropfind, ChecksumPreferenceIsSha256ThenSha1ThenMd5) {
  EXPECT_EQ(PickChecksum("MD5:aa SHA256:BB SHA1:cc"), "sha256:bb");
  EXPECT_EQ(PickChecksum("MD5:aa ADLER32:11"), "md5:aa");
  EXPECT_EQ(PickChecksum("ADLER32:11"), "");
}

TEST(WebDavPropfind, RecordedChecksumCountsOnlyWhileTheEtagIsUnchanged) {
  webdav_internal::DavEntry e;
  e.etag = "W/\"6-1\"";
  e.checksum = "md5:aa";
  e.recorded_sha256 = std::string(64, 'a');
  e.recorded_etag = e.etag;
  EXPECT_EQ(webdav_internal::EffectiveChecksum(e), "sha256:" + std::string(64, 'a'));
  e.etag = "W/\"6-2\"";  // replaced by someone else since
  EXPECT_EQ(webdav_internal::EffectiveChecksum(e), "md5:aa");
}

// The connector maps answers with the common client's ErrorStatus.
absl::Status StatusForHttp(int code, const std::string& retry_after, const std::string& body,
                           const std::string& what) {
  http::Response r;
  r.status = code;
  r.method = "PUT";
  r.url = "http://h/dav/a";
  r.body = body;
  if (!retry_after.empty()) r.headers.emplace_back("retry-after", retry_after);
  return http::ErrorStatus(r, what);
}

TEST(WebDavHttpStatus, HttpStatusesMapToRetryDecisions) {
  EXPECT_EQ(ClassifyForRetry(StatusForHttp(401, "", "", "PUT a")), RetryClass::kAuth);
  EXPECT_EQ(StatusForHttp(404, "", "", "GET a").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ClassifyForRetry(StatusForHttp(507, "", "", "PUT a")), RetryClass::kPermanent);
  EXPECT_EQ(ClassifyForRetry(StatusForHttp(413, "", "", "PUT a")), RetryClass::kPermanent);
  absl::Status busy = StatusForHttp(503, "7", "busy", "PUT a");
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(RetryAfterMs(busy), 7000u);
  absl::Status limited = StatusForHttp(429, "120", "", "PUT a");
  EXPECT_EQ(ClassifyForRetry(limited), RetryClass::kRetryable);
  EXPECT_EQ(RetryAfterMs(limited), 120000u);
  // An HTTP date in the past means "now"; garbage means no hint.
  EXPECT_EQ(RetryAfterMs(StatusForHttp(503, "Wed, 21 Oct 2015 07:28:00 GMT", "", "x")), 0u);
  EXPECT_FALSE(RetryAfterMs(StatusForHttp(503, "soon", "", "x")).has_value());
  EXPECT_FALSE(RetryAfterMs(StatusForHttp(500, "", "", "x")).has_value());
}

TEST(WebDavSettings, BadUrlAndUnderivableNextcloudUploadsAreRefused) {
  EXPECT_EQ(MakeWebDavConnector({{"url", "ftp://x"}}, nlohmann::json::object()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      MakeWebDavConnector({{"url", "https://h/dav"}, {"nextcloud", true}}, nlohmann::json::object())
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MakeWebDavConnector(
                  {{"url", "https://h/remote.php/dav/files/al/Photos"}, {"nextcloud", true}},
                  nlohmann::json::object())
                  .ok());
}

TEST(WebDavSettings, RegisteredUnderItsKind) {
  auto c = MakeConnector("webdav", {{"url", "http://127.0.0.1:1/dav"}},
                         {{"user", "u"}, {"password", "p"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->Describe(), "webdav http://127.0.0.1:1/dav as u");
}

TEST(WebDavErrors, UnreachableServerIsRetryable) {
  auto port = testsupport::FreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  auto c = MakeWebDavConnector({{"url", absl::StrCat("http://127.0.0.1:", *port, "/dav")}}, {});
  ASSERT_TRUE(c.ok());
  auto s = (*c)->Stat("a.jpg").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(ClassifyForRetry(s), RetryClass::kRetryable);
}

// ---------------------------------------------------------------- servers

testsupport::ApacheDav* Apache() {
  static std::unique_ptr<testsupport::ApacheDav> server = [] {
    auto s = testsupport::StartApacheDav();
    if (!s.ok()) {
      ADD_FAILURE() << s.status();
      return std::unique_ptr<testsupport::ApacheDav>();
    }
    return std::move(*s);
  }();
  return server.get();
}

testsupport::RcloneWebdav* RcloneDav() {
  static std::unique_ptr<testsupport::RcloneWebdav> server = [] {
    auto s = testsupport::StartRcloneServeWebdav();
    if (!s.ok()) {
      ADD_FAILURE() << s.status();
      return std::unique_ptr<testsupport::RcloneWebdav>();
    }
    return std::move(*s);
  }();
  return server.get();
}

}  // namespace

namespace {

// The shared conformance suite against Apache mod_dav and `rclone serve
// webdav`. Each test gets its own collection below the served directory.
ConnectorConformanceParams ApacheConformance() {
  ConnectorConformanceParams p;
  p.name = "ApacheModDav";
  auto root = [](const std::string& id) -> absl::StatusOr<std::string> {
    auto* s = Apache();
    if (s == nullptr) return absl::FailedPreconditionError("Apache did not start");
    std::string dir = s->root_dir + "/" + id;
    std::filesystem::create_directories(dir);
    if (struct passwd* pw = getpwnam("www-data"); pw != nullptr && geteuid() == 0) {
      if (chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        return absl::InternalError("chown " + dir);
    }
    return s->url + "/" + id;
  };
  p.make = [root](const std::string& id) -> absl::StatusOr<std::unique_ptr<Connector>> {
    ASSIGN_OR_RETURN(std::string url, root(id));
    return MakeWebDavConnector({{"url", url}},
                               {{"user", Apache()->user}, {"password", Apache()->password}});
  };
  p.make_with_bad_credentials =
      [root](const std::string& id) -> absl::StatusOr<std::unique_ptr<Connector>> {
    ASSIGN_OR_RETURN(std::string url, root(id));
    return MakeWebDavConnector({{"url", url}}, {{"user", Apache()->user}, {"password", "wrong"}});
  };
  p.local_root = [](const std::string& id) {
    return Apache() != nullptr ? Apache()->root_dir + "/" + id : std::string("/nonexistent");
  };
  // Apache serves a plain directory: read the file from it.
  p.independent_read = [](Connector* c, const std::string& path) -> absl::StatusOr<std::string> {
    std::string url = c->Describe();  // "webdav http://127.0.0.1:P/dav/<id> as user"
    size_t dav = url.find("/dav/");
    size_t end = url.find(' ', dav);
    std::string id = url.substr(dav + 5, end - dav - 5);
    std::string file = Apache()->root_dir + "/" + id + "/" + path;
    if (!std::filesystem::exists(file)) return absl::NotFoundError(file);
    return ReadWholeFile(file);
  };
  return p;
}

// `rclone serve webdav` over a local directory: it keeps neither a checksum
// nor the mtime, so only sizes tell a re-delivery.
ConnectorConformanceParams RcloneServeConformance() {
  ConnectorConformanceParams p;
  p.name = "RcloneServeWebdav";
  auto make = [](const std::string& id, bool wrong) -> absl::StatusOr<std::unique_ptr<Connector>> {
    auto* s = RcloneDav();
    if (s == nullptr) return absl::FailedPreconditionError("rclone serve webdav did not start");
    std::filesystem::create_directories(s->root_dir + "/" + id);
    return MakeWebDavConnector({{"url", s->url + id}},  // url ends in '/'
                               {{"user", s->user}, {"password", wrong ? "wrong" : s->password}});
  };
  p.make = [make](const std::string& id) { return make(id, false); };
  p.make_with_bad_credentials = [make](const std::string& id) { return make(id, true); };
  p.keeps_no_mtime_reason = "rclone serve webdav keeps neither a checksum nor the mtime";
  p.local_root = [](const std::string& id) {
    return RcloneDav() != nullptr ? RcloneDav()->root_dir + "/" + id : std::string("/nonexistent");
  };
  p.independent_read = [](Connector* c, const std::string& path) -> absl::StatusOr<std::string> {
    std::string d = c->Describe();  // "webdav <served url>/<id> as user"
    std::string prefix = "webdav " + RcloneDav()->url;
    if (d.rfind(prefix, 0) != 0) return absl::InternalError("unexpected Describe(): " + d);
    std::string id = d.substr(prefix.size(), d.find(' ', prefix.size()) - prefix.size());
    std::string file = RcloneDav()->root_dir + "/" + id + "/" + path;
    if (!std::filesystem::exists(file)) return absl::NotFoundError(file);
    return ReadWholeFile(file);
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(WebDav, ConnectorConformance,
                         ::testing::Values(ApacheConformance(), RcloneServeConformance()),
                         ConformanceName);

TEST(WebDavApacheTls, SelfSignedServerWorksWithCaFileAndIsRefusedWithout) {
  auto started = testsupport::StartApacheDav(/*tls=*/true);
  ASSERT_TRUE(started.ok()) << started.status();
  auto& s = **started;
  ASSERT_EQ(s.url.rfind("https://", 0), 0u);
  nlohmann::json creds = {{"user", s.user}, {"password", s.password}};
  auto untrusted = MakeWebDavConnector({{"url", s.url}}, creds);
  ASSERT_TRUE(untrusted.ok());
  PatternSource src(70000, 5);
  auto req = PatternRequest("tls/a.jpg", src);
  absl::Status st = (*untrusted)->Put(req, &src, nullptr).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "ca_file")) << st;
  EXPECT_FALSE(std::filesystem::exists(s.root_dir + "/tls"));

  auto trusted = MakeWebDavConnector({{"url", s.url}, {"ca_file", s.ca_file}}, creds);
  ASSERT_TRUE(trusted.ok());
  auto put = (*trusted)->Put(req, &src, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(ReadWholeFile(s.root_dir + "/tls/a.jpg"), src.Content());
}

TEST(WebDavApache, MissingDestinationFolderIsPermanentAndSaysSo) {
  auto* s = Apache();
  ASSERT_NE(s, nullptr);
  auto c = MakeWebDavConnector({{"url", s->url + "/no-such-root"}},
                               {{"user", s->user}, {"password", s->password}});
  ASSERT_TRUE(c.ok());
  PatternSource src(10, 1);
  absl::Status st = (*c)->Put(PatternRequest("a/b.jpg", src), &src, nullptr).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "does not exist")) << st;
  EXPECT_FALSE(std::filesystem::exists(s->root_dir + "/no-such-root"));
}

TEST(WebDavApache, FileReplacedByAnotherClientLosesTheRecordedChecksum) {
  auto* s = Apache();
  ASSERT_NE(s, nullptr);
  auto c = MakeWebDavConnector({{"url", s->url}}, {{"user", s->user}, {"password", s->password}});
  ASSERT_TRUE(c.ok());
  PatternSource src(5000, 77);
  auto req = PatternRequest("replaced/p.jpg", src);
  auto put = (*c)->Put(req, &src, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  const std::string want = "sha256:" + ToHex(req.sha256);
  EXPECT_EQ(put->checksum, want);
  auto st = (*c)->Stat(req.remote_path);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->checksum, want);
  // Another client rewrites the file (same size, new bytes): its ETag
  // changes, so the old checksum must no longer be reported.
  {
    std::ofstream out(s->root_dir + "/replaced/p.jpg", std::ios::binary | std::ios::trunc);
    out << std::string(5000, 'x');
  }
  auto after = (*c)->Stat(req.remote_path);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size, 5000u);
  EXPECT_EQ(after->checksum, "");
}

}  // namespace

namespace {

TEST(WebDavApache, FoldersAreCreatedOnceAcrossUploads) {
  auto* s = Apache();
  ASSERT_NE(s, nullptr);
  auto c = MakeWebDavConnector({{"url", s->url}}, {{"user", s->user}, {"password", s->password}});
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 3; ++i) {
    PatternSource src(100, static_cast<uint64_t>(i));
    ASSERT_TRUE(
        (*c)->Put(PatternRequest(absl::StrCat("once/a/b/f", i, ".jpg"), src), &src, nullptr).ok());
  }
  // Apache's access log: one MKCOL per folder level, not one per upload.
  std::vector<std::string> mkcols;
  std::istringstream log(ReadWholeFile(s->access_log));
  for (std::string line; std::getline(log, line);) {
    if (line.rfind("MKCOL /dav/once", 0) == 0) mkcols.push_back(line);
  }
  EXPECT_EQ(mkcols, (std::vector<std::string>{"MKCOL /dav/once/ 201", "MKCOL /dav/once/a/ 201",
                                              "MKCOL /dav/once/a/b/ 201"}));
  // Removing the folder behind the connector's back: the next upload notices
  // the stale cache, and a retry re-creates the folder.
  std::filesystem::remove_all(s->root_dir + "/once");
  PatternSource src(100, 9);
  auto req = PatternRequest("once/a/b/g.jpg", src);
  auto first = (*c)->Put(req, &src, nullptr);
  if (!first.ok()) {
    EXPECT_EQ(ClassifyForRetry(first.status()), RetryClass::kRetryable) << first.status();
    first = (*c)->Put(req, &src, nullptr);
  }
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(std::filesystem::exists(s->root_dir + "/once/a/b/g.jpg"));
}

}  // namespace
}  // namespace shoebox::worker
