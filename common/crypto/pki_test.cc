#include "common/crypto/pki.h"

#include <gtest/gtest.h>

#include <ctime>

namespace shoebox {
namespace {

IssueParams Client(const std::string& pub, const std::string& cn, const std::string& ou,
                   int days = 3650) {
  IssueParams p;
  p.public_key_pem = pub;
  p.common_name = cn;
  p.org_unit = ou;
  p.days = days;
  return p;
}

TEST(Pki, IssuesClientCertificateNamingHolderAndRole) {
  auto ca = CreateCa("Shoebox test CA", 30);
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto key = GenerateKeyPem();
  ASSERT_TRUE(key.ok());
  auto csr = MakeCsrPem(*key, "ignored-by-ca");
  ASSERT_TRUE(csr.ok()) << csr.status();
  auto pub = CsrPublicKeyPem(*csr);
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(*pub, *PublicKeyPem(*key));
  auto cert = IssueCert(*ca, Client(*pub, "laptop", "device", 10));
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto info = ParseCert(*cert);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, "laptop");
  EXPECT_EQ(info->org_unit, "device");
  EXPECT_GE(info->serial_hex.size(), 30u);
  EXPECT_EQ(info->fingerprint_hex.size(), 64u);
  EXPECT_GT(info->not_after_unix, time(nullptr) + 9 * 86400);
  EXPECT_LT(info->not_after_unix, time(nullptr) + 11 * 86400);
  // Two certificates never share a serial.
  auto cert2 = IssueCert(*ca, Client(*pub, "laptop", "device"));
  ASSERT_TRUE(cert2.ok());
  EXPECT_NE(ParseCert(*cert2)->serial_hex, info->serial_hex);
}

TEST(Pki, TamperedCsrIsRefused) {
  auto key = GenerateKeyPem();
  auto csr = MakeCsrPem(*key, "x");
  ASSERT_TRUE(csr.ok());
  EXPECT_FALSE(CsrPublicKeyPem("not a csr").ok());
  // Flip a character in the base64 body (the signature or the key).
  std::string bad = *csr;
  size_t mid = bad.size() / 2;
  bad[mid] = bad[mid] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(CsrPublicKeyPem(bad).ok());
}

TEST(Pki, BundleSplitsInOrder) {
  auto ca = CreateCa("ca", 1);
  auto key = GenerateKeyPem();
  IssueParams sp = Client(*PublicKeyPem(*key), kCoordinatorTlsName, "server");
  sp.server = true;
  sp.dns_names = {kCoordinatorTlsName};
  sp.ip_addresses = {"127.0.0.1"};
  auto leaf = IssueCert(*ca, sp);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  auto parts = SplitPemBundle(*leaf + ca->cert_pem);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ(ParseCert((*parts)[0])->common_name, kCoordinatorTlsName);
  EXPECT_EQ(ParseCert((*parts)[1])->org_unit, "ca");
  EXPECT_FALSE(SplitPemBundle("garbage").ok());
}

TEST(Pki, EnrollTokenRoundTripAndMalformed) {
  EnrollToken t{std::string(64, 'a'), std::string(64, 'b')};
  std::string s = FormatEnrollToken(t);
  auto back = ParseEnrollToken("  " + s + "\n");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->secret, t.secret);
  EXPECT_EQ(back->ca_fingerprint, t.ca_fingerprint);
  EXPECT_FALSE(ParseEnrollToken("").ok());
  EXPECT_FALSE(ParseEnrollToken("sbx1-" + std::string(64, 'a')).ok());
  EXPECT_FALSE(ParseEnrollToken("sbx2-" + std::string(64, 'a') + "-" + std::string(64, 'b')).ok());
  EXPECT_FALSE(ParseEnrollToken("sbx1-" + std::string(63, 'a') + "-" + std::string(64, 'b')).ok());
  auto bad = ParseEnrollToken("sbx1-" + std::string(64, 'z') + "-" + std::string(64, 'b'));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("shoebox enroll-token"), std::string::npos);
}

TEST(Pki, FetchPeerChainNamesUnreachableAddress) {
  auto r = FetchPeerChain("127.0.0.1:1", 2000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("127.0.0.1:1"), std::string::npos);
  EXPECT_FALSE(FetchPeerChain("no-port", 100).ok());
}

}  // namespace
}  // namespace shoebox
