// Pins the signer to the AWS Signature Version 4 test suite (credentials
// AKIDEXAMPLE, region us-east-1, service "service", 20150830T123600Z), plus
// the S3 GET Object example of the S3 API reference.
#include "common/s3/sigv4.h"

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/http/url.h"

namespace shoebox::s3 {
namespace {

const SigV4Credentials kSuiteCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr char kDate[] = "20150830T123600Z";
constexpr char kScope[] =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";

SigV4Request Suite(std::string method, std::string path,
                   std::vector<std::pair<std::string, std::string>> query = {},
                   std::vector<std::pair<std::string, std::string>> extra = {},
                   std::string body = "") {
  SigV4Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kDate}};
  for (auto& h : extra) r.headers.push_back(h);
  Digest d = Sha256::Of(body);
  r.payload_hash = ToHex(ByteSpan(d.data(), d.size()));
  return r;
}

std::string Auth(const SigV4Request& r) {
  return SignV4(r, kSuiteCreds, "us-east-1", "service", kDate).authorization;
}

TEST(SigV4Suite, GetVanilla) {
  SigV4Result r = SignV4(Suite("GET", "/"), kSuiteCreds, "us-east-1", "service", kDate);
  EXPECT_EQ(r.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(r.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(r.authorization,
            std::string(kScope) +
                "SignedHeaders=host;x-amz-date, Signature="
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Suite, GetVanillaQueryOrderKeyCase) {
  SigV4Result r = SignV4(Suite("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}),
                         kSuiteCreds, "us-east-1", "service", kDate);
  EXPECT_EQ(r.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
  EXPECT_EQ(r.authorization,
            std::string(kScope) +
                "SignedHeaders=host;x-amz-date, Signature="
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4Suite, GetUtf8PathIsEncodedOnce) {
  EXPECT_EQ(http::PercentEncode("/\xE1\x88\xB4", true), "/%E1%88%B4");
  EXPECT_EQ(Auth(Suite("GET", "/\xE1\x88\xB4")),
            std::string(kScope) +
                "SignedHeaders=host;x-amz-date, Signature="
                "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

TEST(SigV4Suite, GetSpaceIsPercent20AndTrailingSlashKept) {
  SigV4Result r =
      SignV4(Suite("GET", "/example space/"), kSuiteCreds, "us-east-1", "service", kDate);
  EXPECT_EQ(r.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86");
  EXPECT_EQ(r.authorization,
            std::string(kScope) +
                "SignedHeaders=host;x-amz-date, Signature="
                "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
}

TEST(SigV4Suite, GetUnreservedCharactersPassThrough) {
  EXPECT_EQ(
      Auth(Suite("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")),
      std::string(kScope) +
          "SignedHeaders=host;x-amz-date, Signature="
          "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}

TEST(SigV4Suite, GetSlashesAreNotNormalised) {
  EXPECT_EQ(Auth(Suite("GET", "//example//")),
            std::string(kScope) +
                "SignedHeaders=host;x-amz-date, Signature="
                "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5");
}

TEST(SigV4Suite, GetUtf8QueryName) {
  EXPECT_EQ(Auth(Suite("GET", "/", {{"\xE1\x88\xB4", "bar"}})),
            std::string(kScope) +
                "SignedHeaders=host;x-amz-date, Signature="
                "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
}

TEST(SigV4Suite, GetVanillaQueryUnreserved) {
  const std::string u = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  EXPECT_EQ(Auth(Suite("GET", "/", {{u, u}})),
            std::string(kScope) +
                "SignedHeaders=host;x-amz-date, Signature="
                "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
}

TEST(SigV4Suite, GetHeaderValueTrimAndCollapse) {
  EXPECT_EQ(
      Auth(Suite("GET", "/", {}, {{"My-Header1", " value1"}, {"My-Header2", "\"a   b   c\""}})),
      std::string(kScope) +
          "SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature="
          "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST(SigV4Suite, PostVanilla) {
  EXPECT_EQ(Auth(Suite("POST", "/")),
            std::string(kScope) +
                "SignedHeaders=host;x-amz-date, Signature="
                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4Suite, PostHeaderValueCaseIsKept) {
  EXPECT_EQ(Auth(Suite("POST", "/", {}, {{"My-Header1", "VALUE1"}})),
            std::string(kScope) +
                "SignedHeaders=host;my-header1;x-amz-date, Signature="
                "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d");
}

TEST(SigV4Suite, PostVanillaQueryNonUnreservedIsEncodedAndSorted) {
  EXPECT_EQ(http::CanonicalQueryString({{"@#$%^", ""}, {"+", "/,?><`\";:\\|][{}"}}),
            "%2B=%2F%2C%3F%3E%3C%60%22%3B%3A%5C%7C%5D%5B%7B%7D&%40%23%24%25%5E=");
  EXPECT_EQ(Auth(Suite("POST", "/", {{"@#$%^", ""}, {"+", "/,?><`\";:\\|][{}"}})),
            std::string(kScope) +
                "SignedHeaders=host;x-amz-date, Signature="
                "66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e");
}

TEST(SigV4Suite, PostXWwwFormUrlencodedHashesTheBody) {
  EXPECT_EQ(Auth(Suite("POST", "/", {}, {{"Content-Type", "application/x-www-form-urlencoded"}},
                       "Param1=value1")),
            std::string(kScope) +
                "SignedHeaders=content-type;host;x-amz-date, Signature="
                "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4Suite, PostStsSecurityTokenIsSigned) {
  const std::string token =
      "AQoDYXdzEPT//////////"
      "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwth"
      "Ax7mSEI/qkPpKPi/"
      "kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcH"
      "NVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"
      "scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
  EXPECT_EQ(Auth(Suite("POST", "/", {}, {{"X-Amz-Security-Token", token}})),
            std::string(kScope) +
                "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="
                "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
}

// The GET Object example of the S3 API reference ("Signature Calculations
// for the Authorization Header"): service s3, a Range header, and the
// x-amz-content-sha256 header of an empty body.
TEST(SigV4S3Example, GetObjectWithRange) {
  SigV4Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", kEmptySha256Hex},
               {"x-amz-date", "20130524T000000Z"}};
  r.payload_hash = kEmptySha256Hex;
  SigV4Result s =
      SignV4(r, {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""},
             "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Encoding, AwkwardObjectKeysAreEncodedOnceWithSlashesKept) {
  EXPECT_EQ(http::PercentEncode("/b/Été #1 (copy)+&.jpg", true),
            "/b/%C3%89t%C3%A9%20%231%20%28copy%29%2B%26.jpg");
  EXPECT_EQ(http::PercentEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(http::PercentEncode("it's \"q\"", true), "it%27s%20%22q%22");
}

}  // namespace
}  // namespace shoebox::s3
