// Issue 6 against a real PostgreSQL and a TLS coordinator: enrollment with
// one-time tokens (used, expired, forged, wrong role, wrong CA), mutual TLS
// identities and the authorisation matrix they drive, revocation on the next
// call, audit of refusals, per-caller rate limits, plain text refused off
// loopback, key file modes, and a pg_dump holding no secret in plain text.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "common/crypto/pki.h"
#include "common/crypto/sealbox.h"
#include "common/tls_client.h"
#include "coordinator/server.h"
#include "coordinator/store/store.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "tests/support/coordinator_fixture.h"

namespace shoebox {
namespace {

namespace pb = shoebox::v1;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

grpc::ChannelArguments Args() {
  grpc::ChannelArguments a;
  a.SetMaxReceiveMessageSize(64 << 20);
  a.SetMaxSendMessageSize(64 << 20);
  return a;
}

class SecurityTest : public testsupport::CoordinatorFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    StartCoordinator();
  }

  void StartCoordinator(uint32_t calls_per_second = 2000) {
    StartHarnessTls(
        [&](coordinator::CoordinatorOptions& o) { o.limits.calls_per_second = calls_per_second; });
    tls_ = harness_->dir() + "/tls";
  }

  // The CLI's channel: the admin certificate the coordinator created.
  std::shared_ptr<grpc::Channel> AdminChannel() {
    auto ch = MakeShoeboxChannel(harness_->address(), false,
                                 {tls_ + "/ca.crt", tls_ + "/admin.crt", tls_ + "/admin.key"}, "",
                                 Args());
    EXPECT_TRUE(ch.ok()) << ch.status();
    return *ch;
  }

  // TLS without a client certificate (what an outsider can do).
  std::shared_ptr<grpc::Channel> AnonymousChannel() {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadAll(tls_ + "/ca.crt");
    grpc::ChannelArguments a = Args();
    SetTlsChannelArgs(&a);
    return grpc::CreateCustomChannel(harness_->address(), grpc::SslCredentials(ssl), a);
  }

  absl::StatusOr<std::string> NewToken(const std::string& device, const std::string& worker,
                                       uint32_t ttl = 0) {
    auto stub = pb::AdminService::NewStub(AdminChannel());
    grpc::ClientContext ctx;
    pb::CreateEnrollTokenRequest req;
    req.set_device(device);
    req.set_worker(worker);
    req.set_ttl_seconds(ttl);
    pb::CreateEnrollTokenResponse resp;
    grpc::Status s = stub->CreateEnrollToken(&ctx, req, &resp);
    if (!s.ok()) return absl::InternalError(s.error_message());
    return resp.token();
  }

  // Enrolls like `shoebox-agent enroll` / `shoebox-worker enroll`; on success
  // the identity is stored in <dir>/<name>.
  grpc::Status Enroll(const std::string& token, bool worker, const std::string& id_dir) {
    EnrollCall call =
        worker ? MakeEnrollCall<pb::WorkerEnrollRequest, pb::WorkerEnrollResponse>(
                     [](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
                        const pb::WorkerEnrollRequest& req, pb::WorkerEnrollResponse* resp) {
                       return pb::WorkerService::NewStub(ch)->Enroll(ctx, req, resp);
                     })
               : MakeEnrollCall<pb::EnrollRequest, pb::EnrollResponse>(
                     [](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
                        const pb::EnrollRequest& req, pb::EnrollResponse* resp) {
                       return pb::AgentService::NewStub(ch)->Enroll(ctx, req, resp);
                     });
    auto name = EnrollIdentity(harness_->address(), token, id_dir, call);
    if (name.ok()) return grpc::Status::OK;
    return grpc::Status(static_cast<grpc::StatusCode>(name.status().code()),
                        std::string(name.status().message()));
  }

  std::shared_ptr<grpc::Channel> IdentityChannel(const std::string& id_dir) {
    auto ch =
        MakeShoeboxChannel(harness_->address(), false, TlsIdentityFiles::InDir(id_dir), "", Args());
    EXPECT_TRUE(ch.ok()) << ch.status();
    return *ch;
  }

  grpc::Status Hello(const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx = nullptr) {
    grpc::ClientContext own;
    if (ctx == nullptr) ctx = &own;
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    pb::HelloRequest req;
    req.set_hostname("h");
    req.add_folders("/home/ana/Pictures");
    pb::HelloResponse resp;
    return pb::AgentService::NewStub(ch)->Hello(ctx, req, &resp);
  }

  std::vector<coordinator::AuditEntry> Audit() {
    auto a = harness_->coordinator().store().RecentAudit(1000);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *a : std::vector<coordinator::AuditEntry>{};
  }

  std::string tls_;
};

TEST_F(SecurityTest, EnrolledDeviceCallsWithItsCertificateAndNothingElse) {
  auto token = NewToken("laptop", "");
  ASSERT_TRUE(token.ok()) << token.status();
  // The token pins this coordinator's CA.
  auto parsed = ParseEnrollToken(*token);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->ca_fingerprint, ParseCert(ReadAll(tls_ + "/ca.crt"))->fingerprint_hex);

  const std::string id = harness_->dir() + "/laptop";
  ASSERT_TRUE(Enroll(*token, false, id).ok());
  struct stat st {};
  ASSERT_EQ(stat((id + "/client.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(id.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto info = ParseCert(ReadAll(id + "/client.crt"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "laptop");
  EXPECT_EQ(info->org_unit, "device");

  auto dev = IdentityChannel(id);
  grpc::Status s = Hello(dev);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The device row exists under the certificate's name.
  auto devs = harness_->coordinator().store().ListDevices();
  ASSERT_TRUE(devs.ok());
  ASSERT_EQ(devs->size(), 1u);
  EXPECT_EQ((*devs)[0].name, "laptop");

  // A device certificate does not make an admin or a worker.
  {
    grpc::ClientContext ctx;
    pb::ListDevicesResponse r;
    s = pb::AdminService::NewStub(dev)->ListDevices(&ctx, pb::ListDevicesRequest(), &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_NE(s.error_message().find("device 'laptop'"), std::string::npos) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    pb::LeaseJobsRequest req;
    pb::LeaseJobsResponse r;
    s = pb::WorkerService::NewStub(dev)->LeaseJobs(&ctx, req, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  }
  // Without a certificate: refused, and metadata identities mean nothing.
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-shoebox-device", "laptop");
    ctx.AddMetadata("x-shoebox-admin", "1");
    s = Hello(AnonymousChannel(), &ctx);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_NE(s.error_message().find("enroll"), std::string::npos) << s.error_message();
  }
  // A plain-text client cannot talk to a TLS coordinator at all.
  {
    auto plain =
        grpc::CreateCustomChannel(harness_->address(), grpc::InsecureChannelCredentials(), Args());
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-shoebox-device", "laptop");
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    pb::HelloRequest req;
    pb::HelloResponse r;
    s = pb::AgentService::NewStub(plain)->Hello(&ctx, req, &r);
    EXPECT_FALSE(s.ok());
  }
  // Refusals are in the audit log with the caller.
  bool saw_device = false, saw_anon = false;
  for (const auto& e : Audit()) {
    if (!e.allowed && e.actor_kind == "device" && e.actor == "laptop" && e.action == "ListDevices")
      saw_device = true;
    if (!e.allowed && e.actor_kind == "anonymous" && e.action == "Hello") saw_anon = true;
  }
  EXPECT_TRUE(saw_device);
  EXPECT_TRUE(saw_anon);
}

TEST_F(SecurityTest, UsedExpiredForgedAndWrongRoleTokensAreRefusedClearly) {
  auto token = NewToken("phone", "");
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(Enroll(*token, false, harness_->dir() + "/phone").ok());

  grpc::Status s = Enroll(*token, false, harness_->dir() + "/again");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("already used"), std::string::npos) << s.error_message();

  auto short_lived = NewToken("tablet", "", 1);
  ASSERT_TRUE(short_lived.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  s = Enroll(*short_lived, false, harness_->dir() + "/tablet");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("expired"), std::string::npos) << s.error_message();

  // Right CA, made-up secret.
  auto real = ParseEnrollToken(*token);
  EnrollToken forged{std::string(64, '7'), real->ca_fingerprint};
  s = Enroll(FormatEnrollToken(forged), false, harness_->dir() + "/forged");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("not known"), std::string::npos) << s.error_message();

  // A token pinning another CA is refused by the client before anything is sent.
  EnrollToken other{std::string(64, '1'), std::string(64, 'e')};
  s = Enroll(FormatEnrollToken(other), false, harness_->dir() + "/other");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("does not present the CA"), std::string::npos)
      << s.error_message();

  // A device token cannot enroll a worker (and is not consumed by trying).
  auto dev_token = NewToken("desktop", "");
  ASSERT_TRUE(dev_token.ok());
  s = Enroll(*dev_token, true, harness_->dir() + "/w");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("is for a device"), std::string::npos) << s.error_message();

  // Malformed request: a CSR that is not one.
  {
    auto prep = PrepareEnroll(harness_->address(), *dev_token);
    ASSERT_TRUE(prep.ok());
    grpc::ClientContext ctx;
    pb::EnrollRequest req;
    req.set_token(prep->token);
    req.set_csr_pem(
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
    pb::EnrollResponse resp;
    s = pb::AgentService::NewStub(prep->channel)->Enroll(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  }
  // The token survived both failures.
  EXPECT_TRUE(Enroll(*dev_token, false, harness_->dir() + "/desktop").ok());

  int refused_enrolls = 0;
  for (const auto& e : Audit())
    if (!e.allowed && e.action == "Enroll") ++refused_enrolls;
  EXPECT_GE(refused_enrolls, 3);
}

TEST_F(SecurityTest, RevokedCertificateIsRefusedOnItsNextCall) {
  auto dt = NewToken("laptop", "");
  auto wt = NewToken("", "nas-worker");
  ASSERT_TRUE(dt.ok() && wt.ok());
  ASSERT_TRUE(Enroll(*dt, false, harness_->dir() + "/laptop").ok());
  ASSERT_TRUE(Enroll(*wt, true, harness_->dir() + "/worker").ok());
  auto dev = IdentityChannel(harness_->dir() + "/laptop");
  auto wrk = IdentityChannel(harness_->dir() + "/worker");
  ASSERT_TRUE(Hello(dev).ok());
  {
    grpc::ClientContext ctx;
    pb::RegisterWorkerRequest req;
    req.add_kinds("local");
    pb::RegisterWorkerResponse r;
    grpc::Status s = pb::WorkerService::NewStub(wrk)->RegisterWorker(&ctx, req, &r);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // The worker cannot act as a device.
  EXPECT_EQ(Hello(wrk).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  auto admin = pb::AdminService::NewStub(AdminChannel());
  {
    grpc::ClientContext ctx;
    pb::ListCertificatesResponse r;
    ASSERT_TRUE(admin->ListCertificates(&ctx, pb::ListCertificatesRequest(), &r).ok());
    std::set<std::string> holders;
    for (const auto& c : r.certificates()) holders.insert(c.role() + ":" + c.name());
    EXPECT_EQ(holders,
              (std::set<std::string>{"admin:admin", "device:laptop", "worker:nas-worker"}));
  }
  {
    grpc::ClientContext ctx;
    pb::RevokeRequest req;
    req.set_device("laptop");
    pb::RevokeResponse r;
    grpc::Status s = admin->Revoke(&ctx, req, &r);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(r.revoked(), 1u);
  }
  grpc::Status s = Hello(dev);  // the same open connection, next call
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(s.error_message().find("revoked"), std::string::npos) << s.error_message();
  bool audited = false;
  for (const auto& e : Audit())
    if (!e.allowed && e.actor_kind == "device" && e.actor == "laptop" && e.action == "Hello" &&
        e.detail.find("revoked") != std::string::npos)
      audited = true;
  EXPECT_TRUE(audited) << "the refusal of the revoked device is audited under its name";
  // The worker was not affected.
  {
    grpc::ClientContext ctx;
    pb::RegisterWorkerRequest req;
    req.add_kinds("local");
    pb::RegisterWorkerResponse r;
    EXPECT_TRUE(pb::WorkerService::NewStub(wrk)->RegisterWorker(&ctx, req, &r).ok());
  }
  // Devices list shows it revoked; revoking an unknown name is NOT_FOUND.
  {
    auto devs = harness_->coordinator().store().ListDevices();
    ASSERT_TRUE(devs.ok());
    ASSERT_EQ(devs->size(), 1u);
    EXPECT_TRUE((*devs)[0].revoked);
    grpc::ClientContext ctx;
    pb::RevokeRequest req;
    req.set_worker("nobody");
    pb::RevokeResponse r;
    EXPECT_EQ(admin->Revoke(&ctx, req, &r).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  // A new token lets the device back in with a new certificate.
  auto again = NewToken("laptop", "");
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(Enroll(*again, false, harness_->dir() + "/laptop2").ok());
  EXPECT_TRUE(Hello(IdentityChannel(harness_->dir() + "/laptop2")).ok());
  EXPECT_FALSE(Hello(dev).ok());
}

TEST_F(SecurityTest, CallersOverTheirRateAreSlowedDown) {
  harness_.reset();
  StartCoordinator(/*calls_per_second=*/5);
  auto t = NewToken("busy", "");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(Enroll(*t, false, harness_->dir() + "/busy").ok());
  auto dev = IdentityChannel(harness_->dir() + "/busy");
  int ok = 0, limited = 0;
  for (int i = 0; i < 40; ++i) {
    grpc::Status s = Hello(dev);
    if (s.ok()) ++ok;
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++limited;
      EXPECT_NE(s.error_message().find("calls/s"), std::string::npos);
    }
  }
  EXPECT_GE(ok, 10);  // the burst
  EXPECT_GT(limited, 0);
  // Another caller has its own budget.
  grpc::ClientContext ctx;
  pb::ListDevicesResponse r;
  EXPECT_TRUE(pb::AdminService::NewStub(AdminChannel())
                  ->ListDevices(&ctx, pb::ListDevicesRequest(), &r)
                  .ok());
}

TEST_F(SecurityTest, KeyFilesArePrivateAndRefusedWhenReadableByOthers) {
  for (const char* f : {"ca.key", "server.key", "admin.key"}) {
    struct stat st {};
    ASSERT_EQ(stat((tls_ + "/" + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  harness_->Stop();
  auto o = harness_->options();
  ASSERT_EQ(chmod((tls_ + "/ca.key").c_str(), 0644), 0);
  auto again = coordinator::CoordinatorServer::Start(o);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(again.status().message()).find("ca.key"), std::string::npos)
      << again.status();
}

TEST_F(SecurityTest, OperatorProvidedCaSignsTheClientCertificates) {
  // The operator's own CA (e.g. shared by several coordinator replicas).
  auto ca = CreateCa("Family CA", 365);
  ASSERT_TRUE(ca.ok());
  // Outside the harness directory, which goes with the harness.
  const std::string own = absl::StrCat("/tmp/shoebox-own-ca-", getpid());
  std::filesystem::remove_all(own);
  std::filesystem::create_directories(own);
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{own};
  ASSERT_TRUE(WriteSecretFile(own + "/ca.key", ca->key_pem).ok());
  ASSERT_TRUE(WriteSecretFile(own + "/ca.crt", ca->cert_pem).ok());
  harness_.reset();
  StartHarnessTls([&](coordinator::CoordinatorOptions& o) {
    o.tls.ca_cert_file = own + "/ca.crt";
    o.tls.ca_key_file = own + "/ca.key";
  });
  ASSERT_NE(harness_, nullptr);
  tls_ = harness_->dir() + "/tls";
  EXPECT_FALSE(std::filesystem::exists(tls_ + "/ca.key")) << "no CA of its own is made";
  // The admin certificate the CLI uses is signed by the operator's CA.
  auto stub = pb::AdminService::NewStub(
      *MakeShoeboxChannel(harness_->address(), false,
                          {own + "/ca.crt", tls_ + "/admin.crt", tls_ + "/admin.key"}, "", Args()));
  grpc::ClientContext ctx;
  pb::CreateEnrollTokenRequest req;
  req.set_device("camera");
  pb::CreateEnrollTokenResponse resp;
  grpc::Status s = stub->CreateEnrollToken(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ParseEnrollToken(resp.token())->ca_fingerprint,
            ParseCert(ca->cert_pem)->fingerprint_hex);
  ASSERT_TRUE(Enroll(resp.token(), false, harness_->dir() + "/camera").ok());
  EXPECT_EQ(ReadAll(harness_->dir() + "/camera/ca.crt"), ca->cert_pem);
  tls_ = own;  // IdentityChannel uses the stored ca.crt anyway
  EXPECT_TRUE(Hello(IdentityChannel(harness_->dir() + "/camera")).ok());
}

TEST_F(SecurityTest, PlainTextOnlyOnLoopback) {
  auto o = harness_->options();
  o.insecure_dev = true;
  o.listen = "0.0.0.0:0";
  auto s = coordinator::CoordinatorServer::Start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("loopback"), std::string::npos);
}

TEST_F(SecurityTest, DatabaseDumpHoldsNoSecretInPlainText) {
  // A destination whose credentials the CLI sealed to the pool key.
  const std::string secret = "hunter2-very-secret-password";
  SealKeyPair pool = GenerateSealKeyPair();
  auto sealed = SealToPublicKey(pool.public_key,
                                AsBytes(absl::StrCat("{\"password\":\"", secret, "\"}")), "nas");
  ASSERT_TRUE(sealed.ok());
  auto admin = pb::AdminService::NewStub(AdminChannel());
  {
    grpc::ClientContext ctx;
    pb::CreateDestinationRequest req;
    req.set_name("nas");
    req.set_kind("sftp");
    req.set_settings_json(
        "{\"host\":\"127.0.0.1\",\"host_key\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\"}");
    req.set_sealed_credentials(*sealed);
    pb::Destination d;
    grpc::Status s = admin->CreateDestination(&ctx, req, &d);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  auto token = NewToken("laptop", "");
  ASSERT_TRUE(token.ok());
  auto unused = NewToken("", "spare-worker");
  ASSERT_TRUE(unused.ok());
  ASSERT_TRUE(Enroll(*token, false, harness_->dir() + "/laptop").ok());

  const std::string dump = harness_->dir() + "/dump.sql";
  std::string cmd = absl::StrCat("/usr/lib/postgresql/15/bin/pg_dump --no-owner '", url_, "' > ",
                                 dump, " 2>", dump, ".err");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << ReadAll(dump + ".err");
  const std::string text = ReadAll(dump);
  ASSERT_NE(text.find("CREATE TABLE public.destinations"), std::string::npos);  // it is a real dump
  ASSERT_NE(text.find("laptop"), std::string::npos);
  EXPECT_EQ(text.find(secret), std::string::npos);
  for (const std::string& t : {*token, *unused}) {
    auto p = ParseEnrollToken(t);
    EXPECT_EQ(text.find(p->secret), std::string::npos) << "enroll token secret in the dump";
  }
  EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
  auto master = ReadSecretFile(harness_->options().key_file);
  ASSERT_TRUE(master.ok());
  std::string master_line(absl::StripAsciiWhitespace(AbslView(*master)));
  ASSERT_GE(master_line.size(), 32u);
  EXPECT_EQ(text.find(master_line), std::string::npos);
  EXPECT_EQ(text.find(ToHex(
                std::string_view(reinterpret_cast<const char*>(pool.private_key.data()), 32))),
            std::string::npos);
}

}  // namespace
}  // namespace shoebox
