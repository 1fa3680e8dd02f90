// The coordinator's side of the web dashboard's second slice (issue 22,
// docs/web.md) on real PostgreSQL with an in-process coordinator: the TOTP
// key sealed (not in the catalog as given, bound to its account), a time
// step accepted once, the admins' rule, turning it off; a member's device
// bindings and their errors; the audit log newest first by pages; jobs by
// keyset (after_job_id).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "tests/support/coordinator_fixture.h"
#include "tests/support/device_upload.h"

namespace shoebox {
namespace {

namespace pb = shoebox::v1;
using testsupport::AsAdmin;
using testsupport::AsDevice;

// A syntactically valid Argon2id PHC string (the coordinator checks the form).
const std::string kHash =
    "$argon2id$v=19$m=65536,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$"
    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI";
const std::string kKey = "totp-key-of-20-bytes";
const std::string kFolder = "/home/ben/Pictures";

class WebAccountsTest : public testsupport::CoordinatorFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    StartHarness();
    ASSERT_NE(harness_, nullptr);
    admin_ = pb::AdminService::NewStub(channel());
    agent_ = pb::AgentService::NewStub(channel());
    grpc::ClientContext ctx;
    AsDevice(&ctx, "phone");
    pb::HelloRequest hello;
    hello.set_hostname("phone.lan");
    hello.add_folders(kFolder);
    ASSERT_TRUE(agent_->Hello(&ctx, hello, &hello_).ok());
    for (const auto& [name, role] : std::vector<std::pair<std::string, std::string>>{
             {"ana", "admin"}, {"bo", "admin"}, {"ben", "member"}}) {
      pb::CreateWebAccountRequest req;
      req.set_name(name);
      req.set_role(role);
      req.set_password_hash(kHash);
      pb::WebAccount r;
      grpc::Status st =
          Call([&](grpc::ClientContext* c) { return admin_->CreateWebAccount(c, req, &r); });
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
  }

  template <typename F>
  grpc::Status Call(F&& f) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    return f(&ctx);
  }
  grpc::Status SetTotp(const std::string& name, bool enable, const std::string& key,
                       pb::WebAccountTotp* out) {
    pb::SetWebAccountTotpRequest req;
    req.set_name(name);
    req.set_enable(enable);
    req.set_secret(key);
    return Call([&](grpc::ClientContext* c) { return admin_->SetWebAccountTotp(c, req, out); });
  }
  pb::WebAccountTotp GetTotp(const std::string& name,
                             grpc::StatusCode want = grpc::StatusCode::OK) {
    pb::GetWebAccountTotpRequest req;
    req.set_name(name);
    pb::WebAccountTotp r;
    grpc::Status st =
        Call([&](grpc::ClientContext* c) { return admin_->GetWebAccountTotp(c, req, &r); });
    EXPECT_EQ(st.error_code(), want) << st.error_message();
    return r;
  }
  grpc::Status UseStep(const std::string& name, int64_t step, bool* accepted) {
    pb::UseWebAccountTotpStepRequest req;
    req.set_name(name);
    req.set_step(step);
    pb::UseWebAccountTotpStepResponse r;
    grpc::Status st =
        Call([&](grpc::ClientContext* c) { return admin_->UseWebAccountTotpStep(c, req, &r); });
    *accepted = r.accepted();
    return st;
  }
  grpc::Status Bind(const std::string& name, const std::string& device, bool bind,
                    pb::WebAccount* out) {
    pb::BindWebAccountDeviceRequest req;
    req.set_name(name);
    req.set_device(device);
    req.set_bind(bind);
    return Call([&](grpc::ClientContext* c) { return admin_->BindWebAccountDevice(c, req, out); });
  }

  std::unique_ptr<pb::AdminService::Stub> admin_;
  std::unique_ptr<pb::AgentService::Stub> agent_;
  pb::HelloResponse hello_;
};

TEST_F(WebAccountsTest, TotpKeyIsSealedUsedOnceAndRequiredForAdmins) {
  pb::WebAccountTotp r;
  EXPECT_FALSE(GetTotp("ana").enabled());
  EXPECT_FALSE(GetTotp("ana").admins_require_totp());
  // Bad requests name the field.
  grpc::Status st = SetTotp("ana", true, "short", &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "secret")) << st.error_message();
  EXPECT_EQ(SetTotp("nobody", true, kKey, &r).error_code(), grpc::StatusCode::NOT_FOUND);

  ASSERT_TRUE(SetTotp("ana", true, kKey, &r).ok());
  EXPECT_TRUE(r.enabled());
  EXPECT_TRUE(r.secret().empty()) << "Set never echoes the key";
  pb::WebAccountTotp got = GetTotp("ana");
  EXPECT_TRUE(got.enabled());
  EXPECT_EQ(got.secret(), kKey);
  // Another admin without TOTP now learns that admins need it; a member's
  // answer says so too (the web server applies the rule to admins only).
  EXPECT_TRUE(GetTotp("bo").admins_require_totp());
  EXPECT_FALSE(GetTotp("bo").enabled());
  EXPECT_TRUE(GetTotp("ben").admins_require_totp());

  // The catalog holds the key sealed, not as given.
  auto stored = pg()->Query(
      "SELECT encode(sealed_secret, 'escape') FROM web_account_totp WHERE account = 'ana'", db_);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_FALSE(stored->empty());
  EXPECT_FALSE(absl::StrContains(*stored, kKey)) << *stored;
  // Sealed to its account: the same bytes under another account do not open.
  ASSERT_TRUE(SetTotp("bo", true, std::string(20, 'b'), &r).ok());
  ASSERT_TRUE(pg()->Query("UPDATE web_account_totp SET sealed_secret = (SELECT sealed_secret "
                          "FROM web_account_totp WHERE account = 'ana') WHERE account = 'bo'",
                          db_)
                  .ok());
  EXPECT_EQ(GetTotp("bo", grpc::StatusCode::DATA_LOSS).secret(), "");

  // A time step is accepted once, and never an older one.
  bool accepted = false;
  ASSERT_TRUE(UseStep("ana", 1000, &accepted).ok());
  EXPECT_TRUE(accepted);
  ASSERT_TRUE(UseStep("ana", 1000, &accepted).ok());
  EXPECT_FALSE(accepted) << "a replayed code";
  ASSERT_TRUE(UseStep("ana", 999, &accepted).ok());
  EXPECT_FALSE(accepted);
  ASSERT_TRUE(UseStep("ana", 1001, &accepted).ok());
  EXPECT_TRUE(accepted);
  EXPECT_EQ(GetTotp("ana").last_step(), 1001);
  EXPECT_EQ(UseStep("ben", 5, &accepted).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(UseStep("ana", 0, &accepted).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A new key starts over; turning it off forgets the key.
  ASSERT_TRUE(SetTotp("ana", true, kKey, &r).ok());
  EXPECT_EQ(GetTotp("ana").last_step(), 0);
  EXPECT_EQ(SetTotp("ana", false, "x", &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(SetTotp("ana", false, "", &r).ok());
  ASSERT_TRUE(SetTotp("bo", false, "", &r).ok());
  EXPECT_FALSE(r.admins_require_totp());
  got = GetTotp("ana");
  EXPECT_FALSE(got.enabled());
  EXPECT_EQ(got.secret(), "");
  EXPECT_EQ(*pg()->Query("SELECT count(*) FROM web_account_totp", db_), "0\n");
}

TEST_F(WebAccountsTest, MembersAreBoundAndUnboundWithClearErrors) {
  pb::WebAccount a;
  ASSERT_TRUE(Bind("ben", "phone", true, &a).ok());
  EXPECT_EQ(std::vector<std::string>(a.devices().begin(), a.devices().end()),
            std::vector<std::string>{"phone"});
  ASSERT_TRUE(Bind("ben", "phone", true, &a).ok()) << "binding twice is no error";
  grpc::Status st = Bind("ben", "tablet", true, &a);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "tablet")) << st.error_message();
  st = Bind("ana", "phone", true, &a);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "admin")) << st.error_message();
  EXPECT_EQ(Bind("nobody", "phone", true, &a).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Bind("ben", "", true, &a).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // The credential the web server checks per request follows at once.
  pb::GetWebAccountCredentialRequest creq;
  creq.set_name("ben");
  pb::WebAccountCredential cred;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return admin_->GetWebAccountCredential(c, creq, &cred);
              }).ok());
  EXPECT_EQ(cred.account().devices_size(), 1);
  ASSERT_TRUE(Bind("ben", "phone", false, &a).ok());
  EXPECT_EQ(a.devices_size(), 0);
  st = Bind("ben", "phone", false, &a);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << "not bound any more";
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return admin_->GetWebAccountCredential(c, creq, &cred);
              }).ok());
  EXPECT_EQ(cred.account().devices_size(), 0);
}

TEST_F(WebAccountsTest, AuditLogIsReadNewestFirstByPages) {
  pb::WebAccount a;
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(Bind("ben", "phone", i % 2 == 0, &a).ok());
  std::vector<int64_t> ids;
  std::vector<std::string> actions;
  int64_t before = 0;
  for (int page = 0; page < 100; ++page) {
    pb::ListAuditLogRequest req;
    req.set_before_id(before);
    req.set_limit(4);
    pb::ListAuditLogResponse r;
    ASSERT_TRUE(
        Call([&](grpc::ClientContext* c) { return admin_->ListAuditLog(c, req, &r); }).ok());
    ASSERT_LE(r.entries_size(), 4);
    for (const auto& e : r.entries()) {
      ids.push_back(e.id());
      actions.push_back(e.action());
      EXPECT_GT(e.unix_ms(), 0);
    }
    if (r.entries_size() < 4) break;
    before = r.entries(3).id();
  }
  ASSERT_GE(ids.size(), 10u);  // 3 accounts created + 7 bindings
  for (size_t i = 1; i < ids.size(); ++i)
    EXPECT_GT(ids[i - 1], ids[i]) << "newest first, no repeat";
  EXPECT_EQ(actions[0], "BindWebAccountDevice");
  EXPECT_NE(std::find(actions.begin(), actions.end(), "CreateWebAccount"), actions.end());
  pb::ListAuditLogRequest big;
  big.set_limit(501);
  pb::ListAuditLogResponse r;
  EXPECT_EQ(
      Call([&](grpc::ClientContext* c) { return admin_->ListAuditLog(c, big, &r); }).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(WebAccountsTest, JobsAreListedByKeyset) {
  pb::CreateDestinationRequest d;
  d.set_name("nas");
  d.set_kind("local");
  d.set_settings_json(R"({"root":"/srv/backup"})");
  d.set_layout("{path}");
  pb::Destination made;
  ASSERT_TRUE(
      Call([&](grpc::ClientContext* c) { return admin_->CreateDestination(c, d, &made); }).ok());
  pb::BindFolderRequest b;
  b.set_device("phone");
  b.set_destination("nas");
  pb::BindFolderResponse br;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) { return admin_->BindFolder(c, b, &br); }).ok());
  for (int i = 0; i < 5; ++i) {
    const std::string data = "photo number " + std::to_string(i);
    auto chunks = testsupport::CutChunks(data, hello_.chunk_id_key());
    absl::Status st = testsupport::BackUpFile(
        *agent_, "phone",
        testsupport::UpsertReport(kFolder, "p" + std::to_string(i) + ".jpg", data, chunks), chunks);
    ASSERT_TRUE(st.ok()) << st;
  }
  std::vector<int64_t> seen;
  int64_t after = 0;
  for (int page = 0; page < 10; ++page) {
    pb::ListJobsRequest req;
    req.set_limit(2);
    req.set_after_job_id(after);
    pb::ListJobsResponse r;
    ASSERT_TRUE(Call([&](grpc::ClientContext* c) { return admin_->ListJobs(c, req, &r); }).ok());
    ASSERT_LE(r.jobs_size(), 2);
    for (const auto& j : r.jobs()) seen.push_back(j.job_id());
    if (r.jobs_size() < 2) break;
    after = r.jobs(1).job_id();
  }
  ASSERT_EQ(seen.size(), 5u);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_GT(seen[i], seen[i - 1]);
}

}  // namespace
}  // namespace shoebox
