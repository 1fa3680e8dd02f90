#include "common/http/oauth1.h"

#include <set>

#include "gtest/gtest.h"

namespace shoebox::http {
namespace {

// RFC 5849 section 1.2: the photos.example.net request (its parameters carry
// no oauth_version, so the base string is built from them directly).
TEST(OAuth1, Rfc5849Section1_2Example) {
  QueryParams params = {{"oauth_consumer_key", "dpf43f3p2l4k3l03"},
                        {"oauth_token", "nnch734d00sl2jdk"},
                        {"oauth_signature_method", "HMAC-SHA1"},
                        {"oauth_timestamp", "137131202"},
                        {"oauth_nonce", "chapoH"}};
  auto base = OAuth1BaseString(
      "GET", "http://photos.example.net/photos?file=vacation.jpg&size=original", params);
  ASSERT_TRUE(base.ok()) << base.status();
  EXPECT_EQ(*base,
            "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_"
            "key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-"
            "SHA1%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%"
            "3Doriginal");
  EXPECT_EQ(OAuth1HmacSha1(*base, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00"),
            "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
}

// RFC 5849 section 3.4.1.1: query and form parameters decoded ('+' is a
// space in the body), re-encoded, sorted by name then value; default port
// dropped.
TEST(OAuth1, Rfc5849Section3_4_1_1BaseString) {
  QueryParams params = {{"oauth_consumer_key", "9djdj82h48djs9d2"},
                        {"oauth_token", "kkk9d7dh3k39sjv7"},
                        {"oauth_signature_method", "HMAC-SHA1"},
                        {"oauth_timestamp", "137131201"},
                        {"oauth_nonce", "7d8f3e4a"},
                        {"oauth_signature", "ignored"}};
  for (const auto& kv : ParseFormEncoded("c2&a3=2+q")) params.push_back(kv);
  auto base = OAuth1BaseString(
      "post", "http://Example.COM:80/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", params);
  ASSERT_TRUE(base.ok()) << base.status();
  EXPECT_EQ(*base,
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%"
            "3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_"
            "nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%"
            "3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7");
}

// 3.4.1.2: the path exactly as requested, its trailing '/' included (a
// server such as Flickr recomputes over /services/upload/).
TEST(OAuth1, TrailingSlashOfThePathIsSigned) {
  auto base = OAuth1BaseString("POST", "https://up.flickr.com/services/upload/?x=1", {});
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(*base, "POST&https%3A%2F%2Fup.flickr.com%2Fservices%2Fupload%2F&x%3D1");
  auto root = OAuth1BaseString("GET", "https://example.com/", {});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, "GET&https%3A%2F%2Fexample.com%2F&");
}

TEST(OAuth1, NonDefaultPortIsKept) {
  auto base = OAuth1BaseString("GET", "http://127.0.0.1:8080/services/rest", {});
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(*base, "GET&http%3A%2F%2F127.0.0.1%3A8080%2Fservices%2Frest&");
}

TEST(OAuth1, SignedParamsVerifyAgainstTheirOwnBaseString) {
  OAuth1Request req{"POST", "https://up.flickr.com/services/upload/", {{"title", "Rome 2023"}}, {}};
  OAuth1Credentials c{"key", "secret", "tok", "toksecret"};
  auto p = OAuth1SignWith(req, c, "n0nce", 1700000000);
  ASSERT_TRUE(p.ok());
  std::string sig;
  QueryParams unsigned_params;
  for (const auto& [k, v] : *p) {
    if (k == "oauth_signature")
      sig = v;
    else
      unsigned_params.emplace_back(k, v);
  }
  ASSERT_FALSE(sig.empty());
  unsigned_params.emplace_back("title", "Rome 2023");
  auto base = OAuth1BaseString(req.method, req.url, unsigned_params);
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(sig, OAuth1HmacSha1(*base, "secret", "toksecret"));
  // A different form value gives another signature: the form is signed.
  req.form[0].second = "Rome 2024";
  auto q = OAuth1SignWith(req, c, "n0nce", 1700000000);
  ASSERT_TRUE(q.ok());
  EXPECT_NE(*p, *q);
  // Without a token there is no oauth_token parameter (request-token call).
  auto r = OAuth1SignWith(req, OAuth1Credentials{"key", "secret", "", ""}, "n", 1);
  ASSERT_TRUE(r.ok());
  for (const auto& kv : *r) EXPECT_NE(kv.first, "oauth_token");
}

TEST(OAuth1, AuthorizationHeaderEncodesValues) {
  EXPECT_EQ(OAuth1AuthorizationHeader({{"oauth_callback", "oob"}, {"oauth_signature", "a+b/c="}}),
            "OAuth oauth_callback=\"oob\", oauth_signature=\"a%2Bb%2Fc%3D\"");
}

TEST(OAuth1, NoncesDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(seen.insert(OAuth1Nonce()).second);
  EXPECT_EQ(OAuth1Nonce().size(), 32u);
}

TEST(OAuth1, ParseFormEncoded) {
  auto p = ParseFormEncoded("oauth_token=a%2Bb&oauth_token_secret=x+y&oauth_callback_confirmed");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].second, "a+b");
  EXPECT_EQ(p[1].second, "x y");
  EXPECT_EQ(p[2].first, "oauth_callback_confirmed");
  EXPECT_EQ(p[2].second, "");
}

TEST(OAuth1, BadUrlIsInvalidArgument) {
  EXPECT_EQ(OAuth1BaseString("GET", "ftp://x/", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shoebox::http
