#include "common/http/url.h"

#include "gtest/gtest.h"

namespace shoebox::http {
namespace {

TEST(PercentEncode, UnreservedBytesPassAndEverythingElseIsUpperHex) {
  EXPECT_EQ(PercentEncode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(PercentEncode("a b", false), "a%20b");  // space is %20, never '+'
  EXPECT_EQ(PercentEncode("a+b", false), "a%2Bb");
  EXPECT_EQ(PercentEncode("a&b=c", false), "a%26b%3Dc");
  EXPECT_EQ(PercentEncode("#1?", false), "%231%3F");
  EXPECT_EQ(PercentEncode("100%", false), "100%25");
  EXPECT_EQ(PercentEncode("\"'()*!;:@,$", false), "%22%27%28%29%2A%21%3B%3A%40%2C%24");
}

TEST(PercentEncode, SlashIsKeptOnlyForPaths) {
  EXPECT_EQ(PercentEncode("a/b c/d", true), "a/b%20c/d");
  EXPECT_EQ(PercentEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(EncodePath("Dossier été/100% sure?/x+y.jpg"),
            "Dossier%20%C3%A9t%C3%A9/100%25%20sure%3F/x%2By.jpg");
  EXPECT_EQ(EncodePathSegment("a/b"), "a%2Fb");
  EXPECT_EQ(EncodePath("//a/"), "//a/");  // no normalisation
}

TEST(PercentEncode, Utf8IsEncodedBytewiseAndInvalidUtf8Survives) {
  EXPECT_EQ(PercentEncode("Été", false), "%C3%89t%C3%A9");
  EXPECT_EQ(PercentEncode("\xF0\x9F\x93\xB7", false), "%F0%9F%93%B7");  // U+1F4F7 camera
  const std::string invalid("\xFF\xFE\xC3", 3);  // not UTF-8, and a truncated sequence
  EXPECT_EQ(PercentEncode(invalid, false), "%FF%FE%C3");
  EXPECT_EQ(PercentDecode(PercentEncode(invalid, false)), invalid);
  const std::string nul("a\0b", 3);
  EXPECT_EQ(PercentEncode(nul, false), "a%00b");
  EXPECT_EQ(PercentDecode("a%00b"), nul);
}

TEST(PercentDecode, ValidEscapesDecodeAndEverythingElseStays) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc%2fd"), "a b/c/d");  // either hex case
  EXPECT_EQ(PercentDecode("a+b"), "a+b");                // '+' is not a space
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%4"), "%4");
  EXPECT_EQ(PercentDecode("%G1%"), "%G1%");
  EXPECT_EQ(PercentDecode("%25%32%35"), "%25");  // decoded once only
}

TEST(PercentDecode, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(PercentDecode(PercentEncode(all, false)), all);
  EXPECT_EQ(PercentDecode(PercentEncode(all, true)), all);
}

TEST(QueryString, KeepsOrderEncodesAndWritesBareKeysOnRequest) {
  EXPECT_EQ(QueryString({{"fs", "dropbox:Photos & more"}, {"remote", "a/b+c#d"}}),
            "fs=dropbox%3APhotos%20%26%20more&remote=a%2Fb%2Bc%23d");
  EXPECT_EQ(QueryString({{"uploads", ""}, {"x", "1"}}), "uploads=&x=1");
  EXPECT_EQ(QueryString({{"uploads", ""}, {"x", "1"}}, true), "uploads&x=1");
  EXPECT_EQ(QueryString({}), "");
}

TEST(QueryString, CanonicalFormSortsByEncodedNameThenValue) {
  EXPECT_EQ(CanonicalQueryString({{"b", "2"}, {"a", "z"}, {"a", "y"}, {"uploads", ""}}),
            "a=y&a=z&b=2&uploads=");
  EXPECT_EQ(CanonicalQueryString({{"\xC3\xA9", "1"}, {"Z", "2"}}), "%C3%A9=1&Z=2");
}

TEST(ParseHttpUrl, TakesSchemeHostPortPathAndUserinfoApart) {
  auto u = ParseHttpUrl(
      "HTTPS://alice:s3cr%40t@cloud.example.com:8443/remote.php/dav/files/alice/?x=1#frag");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->userinfo, "alice:s3cr%40t");
  EXPECT_EQ(u->host, "cloud.example.com");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path, "/remote.php/dav/files/alice");
  EXPECT_EQ(u->query, "x=1");
  EXPECT_EQ(u->Origin(), "https://cloud.example.com:8443");

  auto v6 = ParseHttpUrl("http://[::1]:9000");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9000);
  EXPECT_EQ(v6->path, "");
  EXPECT_EQ(v6->Origin(), "http://[::1]:9000");
}

TEST(ParseHttpUrl, RefusesOtherSchemesMissingHostsAndBadPortsWithoutShowingSecrets) {
  EXPECT_EQ(ParseHttpUrl("ftp://h/x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHttpUrl("h/x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHttpUrl("http:///x").status().code(), absl::StatusCode::kInvalidArgument);
  auto bad = ParseHttpUrl("http://u:topsecret@h:99999/");
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().find("topsecret"), std::string::npos) << bad.status();
}

TEST(RedactUrl, DropsUserinfoOnly) {
  EXPECT_EQ(RedactUrl("https://u:p@h:1/a@b?c=d@e"), "https://h:1/a@b?c=d@e");
  EXPECT_EQ(RedactUrl("http://h/a@b"), "http://h/a@b");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
}

}  // namespace
}  // namespace shoebox::http
