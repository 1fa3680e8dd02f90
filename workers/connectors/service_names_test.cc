#include "workers/connectors/service_names.h"

#include <random>

#include "gtest/gtest.h"

namespace shoebox::worker {
namespace {

TEST(ServiceNamesTest, OrdinaryNamesAreUnchanged) {
  for (const NameRules* r : {&DropboxNameRules(), &OneDriveNameRules(), &GoogleDriveNameRules()}) {
    EXPECT_EQ(EncodeServiceName("IMG_0001.JPG", *r), "IMG_0001.JPG");
    EXPECT_EQ(EncodeServiceName("été 😀 (2).jpg", *r), "été 😀 (2).jpg");
    EXPECT_EQ(EncodeServiceName("100% sure.jpg", *r), "100% sure.jpg");
  }
}

TEST(ServiceNamesTest, NfcAndNfdStayDistinct) {
  const std::string nfc = "\xc3\xa9.jpg";   // é
  const std::string nfd = "e\xcc\x81.jpg";  // e + combining acute
  EXPECT_NE(EncodeServiceName(nfc, OneDriveNameRules()),
            EncodeServiceName(nfd, OneDriveNameRules()));
}

TEST(ServiceNamesTest, InvalidUtf8BytesAreEscaped) {
  EXPECT_EQ(EncodeServiceName("latin1-\xe9t\xe9.jpg", GoogleDriveNameRules()),
            "latin1-%E9t%E9.jpg");
  // Overlong '/', a surrogate, a truncated sequence.
  EXPECT_EQ(EncodeServiceName("\xc0\xaf", GoogleDriveNameRules()), "%C0%AF");
  EXPECT_EQ(EncodeServiceName("\xed\xa0\x80", GoogleDriveNameRules()), "%ED%A0%80");
  EXPECT_EQ(EncodeServiceName("a\xe2\x82", GoogleDriveNameRules()), "a%E2%82");
}

TEST(ServiceNamesTest, ForbiddenCharactersAndControlsAreEscaped) {
  EXPECT_EQ(EncodeServiceName("a:b*c?.jpg", OneDriveNameRules()), "a%3Ab%2Ac%3F.jpg");
  EXPECT_EQ(EncodeServiceName("tab\there", GoogleDriveNameRules()), "tab%09here");
  EXPECT_EQ(EncodeServiceName("a\\b", DropboxNameRules()), "a%5Cb");
}

TEST(ServiceNamesTest, PercentBeforeHexIsEscapedSoDecodingIsExact) {
  EXPECT_EQ(EncodeServiceName("50%2E.jpg", DropboxNameRules()), "50%252E.jpg");
  EXPECT_EQ(DecodeServiceName("50%252E.jpg"), "50%2E.jpg");
}

TEST(ServiceNamesTest, LeadingAndTrailingSpacesAndDots) {
  EXPECT_EQ(EncodeServiceName(" a. ", OneDriveNameRules()), "%20a%2E%20");
  EXPECT_EQ(EncodeServiceName(" a. ", DropboxNameRules()), " a%2E%20");
  EXPECT_EQ(EncodeServiceName("..", OneDriveNameRules()), "%2E%2E");
  EXPECT_EQ(EncodeServiceName("-leading dash", OneDriveNameRules()), "-leading dash");
}

TEST(ServiceNamesTest, ReservedNames) {
  EXPECT_EQ(EncodeServiceName("CON.jpg", OneDriveNameRules()), "%43ON.jpg");
  EXPECT_EQ(EncodeServiceName("con", OneDriveNameRules()), "%63on");
  EXPECT_EQ(EncodeServiceName("desktop.ini", OneDriveNameRules()), "%64esktop.ini");
  EXPECT_EQ(EncodeServiceName("~$draft.docx", OneDriveNameRules()), "%7E$draft.docx");
  EXPECT_EQ(EncodeServiceName("CONTENT.jpg", OneDriveNameRules()), "CONTENT.jpg");
  EXPECT_EQ(EncodeServiceName("CON.jpg", GoogleDriveNameRules()), "CON.jpg");
}

TEST(ServiceNamesTest, LongNamesAreShortenedDistinctlyAndKeepTheExtension) {
  const std::string a = std::string(300, 'a') + "1.jpg";
  const std::string b = std::string(300, 'a') + "2.jpg";
  const std::string ea = EncodeServiceName(a, DropboxNameRules());
  const std::string eb = EncodeServiceName(b, DropboxNameRules());
  EXPECT_EQ(ea.size(), 255u);
  EXPECT_NE(ea, eb);
  EXPECT_TRUE(ea.ends_with(".jpg"));
  // The cut never splits a UTF-8 sequence or an escape.
  const std::string emoji = [] {
    std::string s;
    for (int i = 0; i < 100; ++i) s += "\xf0\x9f\x98\x80";
    return s + ".jpg";
  }();
  const std::string e = EncodeServiceName(emoji, DropboxNameRules());
  EXPECT_LE(e.size(), 255u);
  EXPECT_EQ(EncodeServiceName(e, GoogleDriveNameRules()), e) << "cut inside a sequence";
  const std::string e2 = EncodeServiceName(std::string(200, '\xe9') + ".jpg", DropboxNameRules());
  EXPECT_LE(e2.size(), 255u);
  EXPECT_EQ(e2.find('~') % 3, 0u) << "cut inside an escape: " << e2;
}

TEST(ServiceNamesTest, PathsAreEncodedPerComponent) {
  EXPECT_EQ(EncodeServicePath("2024/CON/a:b.jpg", OneDriveNameRules()), "2024/%43ON/a%3Ab.jpg");
  EXPECT_EQ(DecodeServicePath("2024/%43ON/a%3Ab.jpg"), "2024/CON/a:b.jpg");
}

TEST(ServiceNamesTest, DecodeInvertsEncodeForRandomNames) {
  std::mt19937 rng(7);
  const std::string alphabet =
      std::string("ab .%:*\"<>?|\\~$") + "\xe9\xc3\xa9\xf0\x9f\x98\x80\x01";
  for (const NameRules* r :
       {&DropboxNameRules(), &OneDriveNameRules(), &GoogleDriveNameRules(), &SmugMugNameRules()}) {
    for (int n = 0; n < 5000; ++n) {
      std::string name;
      const int len = 1 + static_cast<int>(rng() % 12);
      for (int i = 0; i < len; ++i) name.push_back(alphabet[rng() % alphabet.size()]);
      if (name.find('/') != std::string::npos) continue;
      const std::string enc = EncodeServiceName(name, *r);
      ASSERT_EQ(DecodeServiceName(enc), name) << r->service << " " << enc;
      for (char c : r->forbidden) {
        ASSERT_EQ(enc.find(c), std::string::npos) << r->service << " " << enc;
      }
      if (r->no_trailing_dot) {
        ASSERT_NE(enc.back(), '.') << enc;
      }
      if (r->no_trailing_space) {
        ASSERT_NE(enc.back(), ' ') << enc;
      }
      if (r->no_leading_space) {
        ASSERT_NE(enc.front(), ' ') << enc;
      }
    }
  }
}

}  // namespace
}  // namespace shoebox::worker
