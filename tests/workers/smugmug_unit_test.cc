// The SmugMug connector's pieces that need no server (suite SmugMugUnit, the
// `unit` label): the request signature in the Authorization header only,
// Content-MD5, UrlNames, where a path lands, the error mapping.
#include <regex>
#include <string>

#include "absl/strings/match.h"
#include "common/http/oauth1.h"
#include "common/http/url.h"
#include "gtest/gtest.h"
#include "workers/connectors/connector_conformance.h"
#include "workers/connectors/smugmug.h"

namespace shoebox::worker {
namespace {

std::string HeaderOf(const http::Request& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

TEST(SmugMugUnit, SignatureGoesInTheAuthorizationHeaderOnly) {
  const http::OAuth1Credentials creds{"ckey", "csecret", "tok", "toksecret"};
  http::Request r{.method = "GET",
                  .url = "https://api.smugmug.com/api/v2/node/Ab1!children?start=1&count=100"};
  r.headers = {{"Accept", "application/json"}};
  auto s = SmugMugSign(r, creds, "fixednonce", 1700000000);
  ASSERT_TRUE(s.ok()) << s.status();
  // The URL (and so the query) is unchanged: no oauth_* parameter in it.
  EXPECT_EQ(s->url, r.url);
  EXPECT_FALSE(absl::StrContains(s->url, "oauth_"));
  EXPECT_TRUE(s->body.empty());
  const std::string auth = HeaderOf(*s, "Authorization");
  ASSERT_TRUE(absl::StartsWith(auth, "OAuth ")) << auth;
  for (const char* p : {"oauth_consumer_key=\"ckey\"", "oauth_token=\"tok\"",
                        "oauth_nonce=\"fixednonce\"", "oauth_timestamp=\"1700000000\"",
                        "oauth_signature_method=\"HMAC-SHA1\"", "oauth_version=\"1.0\""}) {
    EXPECT_TRUE(absl::StrContains(auth, p)) << p << " in " << auth;
  }
  // The signature covers the method, URL and its query, recomputed here.
  http::QueryParams params = {{"oauth_consumer_key", "ckey"},
                              {"oauth_nonce", "fixednonce"},
                              {"oauth_signature_method", "HMAC-SHA1"},
                              {"oauth_timestamp", "1700000000"},
                              {"oauth_token", "tok"},
                              {"oauth_version", "1.0"}};
  auto base = http::OAuth1BaseString("GET", r.url, params);
  ASSERT_TRUE(base.ok()) << base.status();
  EXPECT_TRUE(absl::StrContains(base.value(), "count%3D100"));
  const std::string sig = http::OAuth1HmacSha1(*base, "csecret", "toksecret");
  EXPECT_TRUE(absl::StrContains(
      auth, "oauth_signature=\"" + http::PercentEncode(sig, /*keep_slash=*/false) + "\""))
      << auth << " expected signature " << sig;
  // The other headers are kept.
  EXPECT_EQ(HeaderOf(*s, "Accept"), "application/json");
}

TEST(SmugMugUnit, FreshNoncesDiffer) {
  const http::OAuth1Credentials creds{"k", "s", "t", "ts"};
  http::Request r{.method = "POST", .url = "https://upload.smugmug.com/"};
  auto a = SmugMugSign(r, creds);
  auto b = SmugMugSign(r, creds);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(HeaderOf(*a, "Authorization"), HeaderOf(*b, "Authorization"));
}

TEST(SmugMugUnit, ContentMd5IsBase64OfTheDigest) {
  auto fox = MakeStringSource("The quick brown fox jumps over the lazy dog");
  auto d = SmugMugMd5(fox.get());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->md5_hex, "9e107d9d372bb6826bd81d3542a419d6");
  EXPECT_EQ(d->md5_base64, "nhB9nTcrtoJr2B01QqQZ1g==");
  EXPECT_EQ(d->size, 43u);
  auto empty = MakeStringSource("");
  auto e = SmugMugMd5(empty.get());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->md5_base64, "1B2M2Y8AsgTpgAmY7PhCfg==");
  // A second pass gives the same (the source is rewound first).
  auto again = SmugMugMd5(fox.get());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->md5_hex, d->md5_hex);
  // A source that fails midway fails the digest with its own error.
  auto failing = MakeFailingSource(3u << 20, 1, 1u << 20);
  EXPECT_EQ(SmugMugMd5(failing.get()).status().code(), absl::StatusCode::kUnavailable);
}

TEST(SmugMugUnit, UrlNamesAreCapitalisedLettersDigitsAndHyphens) {
  EXPECT_EQ(SmugMugUrlName("Camera"), "Camera");
  EXPECT_EQ(SmugMugUrlName("camera roll"), "Camera-roll");
  EXPECT_EQ(SmugMugUrlName("2023"), "N-2023");
  EXPECT_EQ(SmugMugUrlName("\xC3\x89t\xC3\xA9 #1"), "T-1");
  EXPECT_EQ(SmugMugUrlName(""), "N");
  EXPECT_EQ(SmugMugUrlName("--a--"), "A");
  EXPECT_EQ(SmugMugUrlName("\xE5\x86\x99\xE7\x9C\x9F"), "N");
  EXPECT_EQ(SmugMugUrlName("Camera", 2), "Camera-2");
  const std::regex valid("^[A-Z][A-Za-z0-9-]{0,59}$");
  for (const std::string& name : {std::string(200, 'x'), std::string("a ") + std::string(80, '-'),
                                  std::string("07"), std::string("x y z-"), std::string(" ")}) {
    for (int n : {1, 2, 37}) {
      const std::string u = SmugMugUrlName(name, n);
      EXPECT_TRUE(std::regex_match(u, valid)) << "\"" << name << "\" #" << n << " -> " << u;
      EXPECT_NE(u.back(), '-') << u;
    }
  }
}

TEST(SmugMugUnit, TheFolderTreeBecomesFoldersAndTheLastDirectoryAGallery) {
  SmugMugLocation l = SmugMugLocate("Shoebox", "Camera/2023/img.jpg");
  EXPECT_EQ(l.parent, "Shoebox/Camera");
  EXPECT_EQ(l.gallery, "2023");
  EXPECT_EQ(l.file, "img.jpg");
  EXPECT_EQ(l.gallery_path(), "Shoebox/Camera/2023");
  // Files at the top: the gallery named like the root folder, next to it.
  l = SmugMugLocate("Shoebox", "top.jpg");
  EXPECT_EQ(l.parent, "");
  EXPECT_EQ(l.gallery, "Shoebox");
  l = SmugMugLocate("Photos/Shoebox", "top.jpg");
  EXPECT_EQ(l.parent, "Photos");
  EXPECT_EQ(l.gallery, "Shoebox");
  // An album rule's title: one gallery directly under the root folder.
  l = SmugMugLocate("Shoebox", "Camera/2023/img.jpg", "Trip a/b");
  EXPECT_EQ(l.parent, "Shoebox");
  EXPECT_EQ(l.gallery, "Trip a%2Fb");
  EXPECT_EQ(l.file, "img.jpg");
  // Names go through the one reversible service mapping.
  l = SmugMugLocate("Shoebox",
                    "bad\x01"
                    "dir/back\\slash\xFF.jpg");
  EXPECT_EQ(l.gallery, "bad%01dir");
  EXPECT_EQ(l.file, "back%5Cslash%FF.jpg");
}

http::Response Answer(int status, std::string body, http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.method = "POST";
  r.url = "https://upload.smugmug.com/";
  return r;
}

TEST(SmugMugUnit, ErrorsMapToTheRetryDecision) {
  absl::Status s =
      SmugMugError(Answer(401, R"({"Code":401,"Message":"Unauthorized: invalid oauth_token"})"),
                   "stat a.jpg", "mine");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_EQ(ClassifyForRetry(s), RetryClass::kAuth);
  EXPECT_TRUE(absl::StrContains(s.message(), "reconnect with `shoebox dest connect mine`")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "\"Unauthorized: invalid oauth_token\"")) << s;

  s = SmugMugError(Answer(429, R"({"Code":429,"Message":"Too Many Requests"})",
                          {{"retry-after", "7"},
                           {"x-ratelimit-limit", "5"},
                           {"x-ratelimit-remaining", "0"},
                           {"x-ratelimit-reset", "1700000007"}}),
                   "list gallery /Shoebox/2023", "mine");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(RetryAfterMs(s).value_or(0), 7000u) << s;
  EXPECT_EQ(ClassifyForRetry(s), RetryClass::kRetryable);
  EXPECT_TRUE(absl::StrContains(s.message(), "x-ratelimit-remaining: 0")) << s;

  s = SmugMugError(
      Answer(415, R"({"stat":"fail","code":64,"message":"Unsupported file type: notes.txt"})"),
      "upload notes.txt to gallery /Shoebox/x", "mine");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(ClassifyForRetry(s), RetryClass::kPermanent);
  EXPECT_TRUE(absl::StrContains(s.message(), "notes.txt")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "Code 64")) << s;

  s = SmugMugError(Answer(413, R"({"stat":"fail","code":65,"message":"File too large"})"),
                   "upload big.mov", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;

  s = SmugMugError(Answer(503, "<html><title>Service Unavailable</title></html>",
                          {{"content-type", "text/html"}}),
                   "list folder /Shoebox", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(ClassifyForRetry(s), RetryClass::kRetryable);

  s = SmugMugError(Answer(404, R"({"Code":404,"Message":"Not Found: no album x"})"), "list", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "Code 404: \"Not Found: no album x\"")) << s;
}

}  // namespace
}  // namespace shoebox::worker
