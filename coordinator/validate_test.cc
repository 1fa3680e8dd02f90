// coordinator/validate.h without a database: the cases the fuzz targets in
// tests/fuzz/ found or pin down.
#include "coordinator/validate.h"

#include <gtest/gtest.h>

#include <string>

#include "common/crypto/keys.h"

namespace shoebox::coordinator {
namespace {

bool IsUtf8(const std::string& s) {
  // Enough for the cases below: no sequence cut short at the end.
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

TEST(FailJobErrorText, LongTextIsCutOnACharacterBoundary) {
  // 3999 ASCII bytes, then a 2-byte 'é' across the 4000-byte limit: cutting
  // at 4000 bytes would leave half a character, which PostgreSQL refuses
  // ("invalid byte sequence for encoding UTF8") and FailJob would fail.
  std::string error(3999, 'x');
  error += "\xc3\xa9 and more";
  const std::string text = FailJobErrorText(error);
  EXPECT_EQ(text, std::string(3999, 'x'));
  EXPECT_TRUE(IsUtf8(text));
}

TEST(FailJobErrorText, FourByteCharacterAcrossTheLimit) {
  std::string error(3998, 'x');
  error += "\xf0\x9f\x93\xb7";  // U+1F4F7, bytes 3998..4001
  EXPECT_EQ(FailJobErrorText(error), std::string(3998, 'x'));
}

TEST(FailJobErrorText, ShortTextIsKeptAndNulIsDropped) {
  EXPECT_EQ(FailJobErrorText("503 from server"), "503 from server");
  EXPECT_EQ(FailJobErrorText(std::string("a\0b", 3)), "ab");
  EXPECT_EQ(FailJobErrorText(""), "(worker gave no error text)");
  EXPECT_EQ(FailJobErrorText(std::string(1, '\0')), "(worker gave no error text)");
  EXPECT_EQ(FailJobErrorText(std::string(5000, 'y')).size(), kMaxJobErrorBytes);
}

TEST(ValidateText, NulInTextColumnsIsRefused) {
  // libpq sends text parameters as C strings: "nas\0x" would be stored or
  // looked up as "nas".
  shoebox::v1::RegisterWorkerRequest reg;
  reg.add_kinds(std::string("s3\0x", 4));
  absl::Status st = ValidateRegisterWorker(reg);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "kinds[0]: contains a NUL byte");

  shoebox::v1::HelloRequest hello;
  hello.set_hostname(std::string("lap\0top", 7));
  EXPECT_EQ(ValidateHello(hello).message(), "hostname: contains a NUL byte");

  shoebox::v1::BindFolderRequest bind;
  bind.set_device(std::string("laptop\0x", 8));
  bind.set_destination("nas");
  EXPECT_EQ(ValidateBindFolder(bind).message(), "device: contains a NUL byte");

  shoebox::v1::RevokeRequest revoke;
  revoke.set_worker(std::string("w1\0", 3));
  EXPECT_EQ(ValidateRevoke(revoke).message(), "worker: contains a NUL byte");

  EXPECT_EQ(ValidateLease(1, std::string("tok\0en", 6)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateLease(1, "token").ok());
}

TEST(ValidateCreateDestination, JsonFollowedByNulIsRefused) {
  // Found by fuzz_admin_requests: nlohmann::json::parse treats NUL as the end
  // of input, so this passed as the object "{}" and PostgreSQL stored "{}".
  shoebox::v1::CreateDestinationRequest req;
  req.set_name("nas-1");
  req.set_kind("webdav");
  req.set_settings_json(std::string("{}\0{\"url\": \"https://dav.example\"}", 33));
  absl::Status st = ValidateCreateDestination(req);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "settings_json: contains a NUL byte");
  req.set_settings_json(R"({"url": "https://dav.example"})");
  EXPECT_TRUE(ValidateCreateDestination(req).ok());
  req.set_settings_json("[1, 2]");
  EXPECT_EQ(ValidateCreateDestination(req).message(), "settings_json: must be a JSON object");
}

TEST(CheckChunkUpload, AcceptsOnlyTheHmacOfTheData) {
  Key256 key{};
  key[0] = 1;
  HmacSha256 mac(ByteSpan(key.data(), key.size()));
  shoebox::v1::PutChunkRequest req;
  req.set_data("chunk bytes");
  req.set_id(DigestToString(mac.Compute(req.data())));
  ChunkId id;
  EXPECT_TRUE(CheckChunkUpload(req, mac, 1024, &id).ok());
  EXPECT_EQ(DigestToString(id), req.id());

  req.set_data("chunk bytez");
  EXPECT_EQ(CheckChunkUpload(req, mac, 1024, &id).code(), absl::StatusCode::kInvalidArgument);
  req.set_data(std::string(1025, 'a'));
  req.set_id(DigestToString(mac.Compute(req.data())));
  EXPECT_EQ(CheckChunkUpload(req, mac, 1024, &id).code(), absl::StatusCode::kInvalidArgument);
  req.set_id("short");
  EXPECT_EQ(CheckChunkUpload(req, mac, 1 << 20, &id).message(), "id: must be 32 bytes, got 5");
}

// Issue 17: the work one call can cause is bounded, and refusals name the
// limit.
TEST(ValidateHello, TooManyFoldersIsRefusedNamingTheLimit) {
  shoebox::v1::HelloRequest req;
  for (uint32_t i = 0; i <= kMaxHelloFolders; ++i) req.add_folders("/f/" + std::to_string(i));
  absl::Status st = ValidateHello(req);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find(std::to_string(kMaxHelloFolders)), std::string::npos) << st;
  req.mutable_folders()->RemoveLast();
  EXPECT_TRUE(ValidateHello(req).ok());
}

TEST(ValidateHello, ControlCharactersInHostnameOrVersionAreRefused) {
  // They reach the admin's terminal in `shoebox status`.
  shoebox::v1::HelloRequest req;
  req.set_hostname("laptop\x1b]0;owned\x07");
  EXPECT_EQ(ValidateHello(req).code(), absl::StatusCode::kInvalidArgument);
  req.set_hostname("laptop");
  req.set_agent_version("1.0\r\x1b[2K");
  EXPECT_EQ(ValidateHello(req).code(), absl::StatusCode::kInvalidArgument);
  req.set_agent_version("1.0.3");
  EXPECT_TRUE(ValidateHello(req).ok());
}

TEST(ValidateReportBatch, TooManyChunkReferencesInOneCallAreRefusedNamingTheLimit) {
  shoebox::v1::ReportFilesRequest req;
  // Two files together one reference over the limit.
  for (uint32_t half : {kMaxReportChunkRefs / 2, kMaxReportChunkRefs / 2 + 1}) {
    auto* f = req.add_files();
    for (uint32_t k = 0; k < half; ++k) f->add_chunks()->set_size(1);
  }
  absl::Status st = ValidateReportBatch(req, 10000);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find(std::to_string(kMaxReportChunkRefs)), std::string::npos) << st;
  req.mutable_files(1)->mutable_chunks()->RemoveLast();
  EXPECT_TRUE(ValidateReportBatch(req, 10000).ok());
}

TEST(ValidateRevoke, ExactlyOneOfDeviceWorkerSerial) {
  shoebox::v1::RevokeRequest req;
  EXPECT_FALSE(ValidateRevoke(req).ok());
  req.set_serial("0A1b2C");
  EXPECT_TRUE(ValidateRevoke(req).ok());
  req.set_device("d");
  EXPECT_FALSE(ValidateRevoke(req).ok());
  req.clear_device();
  req.set_serial("not hex");
  EXPECT_EQ(ValidateRevoke(req).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shoebox::coordinator

namespace shoebox::coordinator {
namespace {

TEST(ValidateWorkerState, ResumeStateAndSealedCredentialsAreBounded) {
  shoebox::v1::SaveResumeStateRequest save;
  save.set_job_id(7);
  save.set_lease_token("token");
  save.set_resume_state(std::string(kMaxResumeStateBytes, 'x'));
  EXPECT_TRUE(ValidateSaveResumeState(save).ok());
  save.set_resume_state(std::string(kMaxResumeStateBytes + 1, 'x'));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateSaveResumeState(save)));
  save.set_resume_state("");
  save.set_lease_token("");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateSaveResumeState(save)));

  shoebox::v1::UpdateDestinationCredentialsRequest up;
  up.set_job_id(7);
  up.set_lease_token("token");
  up.set_destination_id(3);
  up.set_sealed_credentials("sealed");
  EXPECT_TRUE(ValidateUpdateDestinationCredentials(up).ok());
  up.set_sealed_credentials("");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateUpdateDestinationCredentials(up)));
  up.set_sealed_credentials(std::string(kMaxSealedCredentialsBytes + 1, 's'));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateUpdateDestinationCredentials(up)));
  up.set_sealed_credentials("sealed");
  up.set_destination_id(0);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateUpdateDestinationCredentials(up)));
}

}  // namespace
}  // namespace shoebox::coordinator

namespace shoebox::coordinator {
namespace {

TEST(ValidateAlbums, KeysAndIdsAreOneTo1024BytesUnderALease) {
  shoebox::v1::RecordAlbumRequest r;
  r.set_job_id(7);
  r.set_lease_token("token");
  r.set_destination_id(3);
  r.set_album_key(std::string("\xe9t\xe9\0", 4));  // any bytes
  r.set_remote_id(std::string(kMaxAlbumBytes, 'i'));
  EXPECT_TRUE(ValidateRecordAlbum(r).ok());
  r.set_remote_id("");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRecordAlbum(r)));
  r.set_remote_id(std::string(kMaxAlbumBytes + 1, 'i'));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRecordAlbum(r)));
  r.set_remote_id("id");
  r.set_album_key(std::string(kMaxAlbumBytes + 1, 'k'));
  absl::Status st = ValidateRecordAlbum(r);
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_EQ(st.message().substr(0, 10), "album_key:") << st;
  r.set_album_key("k");
  r.set_destination_id(0);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRecordAlbum(r)));

  shoebox::v1::LookupAlbumRequest l;
  l.set_job_id(7);
  l.set_lease_token("token");
  l.set_destination_id(3);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateLookupAlbum(l)));  // no key
  l.set_album_key(std::string(kMaxAlbumBytes, 'k'));
  EXPECT_TRUE(ValidateLookupAlbum(l).ok());
  l.set_job_id(0);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateLookupAlbum(l)));

  shoebox::v1::ForgetAlbumRequest f;
  f.set_job_id(7);
  f.set_lease_token("token");
  f.set_destination_id(3);
  f.set_album_key("k");
  EXPECT_TRUE(ValidateForgetAlbum(f).ok());  // no id: forget whatever it maps to
  f.set_remote_id(std::string(kMaxAlbumBytes + 1, 'i'));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateForgetAlbum(f)));
}

// Issue 22: web dashboard accounts. Only an Argon2id hash is stored, never
// something that looks like a password; names and audit text stay one
// printable line.
TEST(Validate, WebAccounts) {
  const std::string hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
  shoebox::v1::CreateWebAccountRequest c;
  c.set_name("ana");
  c.set_role("admin");
  c.set_password_hash(hash);
  EXPECT_TRUE(ValidateCreateWebAccount(c).ok());
  c.set_password_hash("hunter2-plain-password");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateCreateWebAccount(c)));
  c.set_password_hash("$argon2i$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateCreateWebAccount(c)));
  c.set_password_hash(hash + " x");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateCreateWebAccount(c)));
  c.set_password_hash(hash);
  c.set_role("root");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateCreateWebAccount(c)));
  c.set_role("admin");
  c.add_devices("phone");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateCreateWebAccount(c))) << "an admin sees all";
  c.set_role("member");
  EXPECT_TRUE(ValidateCreateWebAccount(c).ok());
  c.add_devices(std::string("ph\0one", 6));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateCreateWebAccount(c)));

  for (const char* bad : {"", ".hidden", "-x", "a b", "<img>", "ana\n"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ValidateWebAccountName(bad))) << bad;
  }
  EXPECT_TRUE(ValidateWebAccountName(std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateWebAccountName(std::string(65, 'a')).ok());

  shoebox::v1::SetWebAccountPasswordRequest p;
  p.set_name("ana");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateSetWebAccountPassword(p)));
  p.set_password_hash(hash);
  EXPECT_TRUE(ValidateSetWebAccountPassword(p).ok());

  shoebox::v1::RecordWebAuditRequest a;
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRecordWebAudit(a)));  // no action
  a.set_action("WebLoginFailed");
  a.set_target("<img src=x>");  // the name tried: any printable text
  a.set_detail("from 127.0.0.1");
  EXPECT_TRUE(ValidateRecordWebAudit(a).ok());
  a.set_detail("forged\nline");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRecordWebAudit(a)));
  a.set_detail("");
  a.set_action("Web Login");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRecordWebAudit(a)));
}

}  // namespace
}  // namespace shoebox::coordinator

// Issue 22: recently deleted and restore requests.
namespace shoebox::coordinator {
namespace {

TEST(ValidateRestore, RequestsNameADeviceAndARelativePath) {
  shoebox::v1::RequestRestoreRequest r;
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRequestRestore(r)));  // no device
  r.set_device("phone");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRequestRestore(r)));  // no path
  r.set_path("../etc/passwd");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRequestRestore(r)));
  r.set_path("/abs.jpg");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRequestRestore(r)));
  r.set_path("2024/IMG_1.jpg");
  EXPECT_TRUE(ValidateRequestRestore(r).ok());
  r.set_version_id(-1);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRequestRestore(r)));
}

TEST(ValidateRestore, ListsArePagedAndReportsNameARequest) {
  shoebox::v1::ListDeletedRequest l;
  EXPECT_TRUE(ValidateListDeleted(l).ok());
  l.set_limit(1001);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateListDeleted(l)));
  l.set_limit(50);
  l.add_devices("");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateListDeleted(l)));

  shoebox::v1::ReportRestoreRequest r;
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateReportRestore(r)));  // no request
  r.set_request_id(3);
  r.set_ok(true);
  r.set_restored_path("../x");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateReportRestore(r)));
  r.set_restored_path("IMG_1 (restored 2026-12-08).jpg");
  EXPECT_TRUE(ValidateReportRestore(r).ok());
  r.set_ok(false);
  r.set_reason(std::string(5000, 'x'));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateReportRestore(r)));
}

}  // namespace
}  // namespace shoebox::coordinator
