// Issue 17 against a real PostgreSQL and a TLS coordinator: what an
// attacker with a device certificate, or none, can still do. Admin
// certificates are revocable (never the last one) and their lifetime is
// configurable; enrollment consumes its token only together with the
// certificate; refusals are aggregated in a bounded audit log; one device's
// idle streams do not starve everyone else.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto/pki.h"
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
namespace fs = std::filesystem;

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

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

class AbuseTest : public testsupport::CoordinatorFixture {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp()); }

  void Start(const Tweak& tweak = nullptr) {
    StartHarnessTls(tweak);
    ASSERT_NE(harness_, nullptr);
    tls_ = harness_->dir() + "/tls";
  }

  std::shared_ptr<grpc::Channel> Channel(const std::string& address, const TlsIdentityFiles& f) {
    auto ch = MakeShoeboxChannel(address, false, f, "", Args());
    EXPECT_TRUE(ch.ok()) << ch.status();
    return *ch;
  }
  std::shared_ptr<grpc::Channel> AdminChannel() {
    return Channel(harness_->address(),
                   {tls_ + "/ca.crt", tls_ + "/admin.crt", tls_ + "/admin.key"});
  }
  std::shared_ptr<grpc::Channel> AnonymousChannel() {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadAll(tls_ + "/ca.crt");
    grpc::ChannelArguments a = Args();
    SetTlsChannelArgs(&a);
    return grpc::CreateCustomChannel(harness_->address(), grpc::SslCredentials(ssl), a);
  }

  absl::StatusOr<std::string> NewToken(const std::string& device) {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(20));
    pb::CreateEnrollTokenRequest req;
    req.set_device(device);
    pb::CreateEnrollTokenResponse resp;
    grpc::Status s = pb::AdminService::NewStub(AdminChannel())->CreateEnrollToken(&ctx, req, &resp);
    if (!s.ok()) return absl::InternalError(s.error_message());
    return resp.token();
  }

  grpc::Status Enroll(const std::string& token, const std::string& id_dir) {
    EnrollCall call = MakeEnrollCall<pb::EnrollRequest, pb::EnrollResponse>(
        [](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
           const pb::EnrollRequest& req, pb::EnrollResponse* resp) {
          return pb::AgentService::NewStub(ch)->Enroll(ctx, req, resp);
        });
    auto name = EnrollIdentity(harness_->address(), token, id_dir, call);
    if (name.ok()) return grpc::Status::OK;
    return grpc::Status(static_cast<grpc::StatusCode>(name.status().code()),
                        std::string(name.status().message()));
  }

  // An enrolled device's channel.
  std::shared_ptr<grpc::Channel> Device(const std::string& name) {
    auto t = NewToken(name);
    EXPECT_TRUE(t.ok()) << t.status();
    const std::string dir = harness_->dir() + "/" + name;
    grpc::Status s = Enroll(*t, dir);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return Channel(harness_->address(), TlsIdentityFiles::InDir(dir));
  }

  grpc::Status Hello(const std::shared_ptr<grpc::Channel>& ch, int deadline_s = 20) {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(deadline_s));
    pb::HelloRequest req;
    req.set_hostname("h");
    req.add_folders("/home/ana/Pictures");
    pb::HelloResponse resp;
    return pb::AgentService::NewStub(ch)->Hello(&ctx, req, &resp);
  }

  grpc::Status ListDevices(const std::shared_ptr<grpc::Channel>& ch, int deadline_s = 20) {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(deadline_s));
    pb::ListDevicesResponse r;
    return pb::AdminService::NewStub(ch)->ListDevices(&ctx, pb::ListDevicesRequest(), &r);
  }

  grpc::Status RevokeSerial(const std::shared_ptr<grpc::Channel>& ch, const std::string& serial,
                            pb::RevokeResponse* r) {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(20));
    pb::RevokeRequest req;
    req.set_serial(serial);
    return pb::AdminService::NewStub(ch)->Revoke(&ctx, req, r);
  }

  std::string tls_;
};

TEST_F(AbuseTest, AdminCertificatesAreRevocableButNeverTheLastOne) {
  Start();
  const std::string first_serial = ParseCert(ReadAll(tls_ + "/admin.crt"))->serial_hex;
  auto first = AdminChannel();
  pb::RevokeResponse r;
  grpc::Status s = RevokeSerial(first, first_serial, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("last valid admin certificate"), std::string::npos)
      << s.error_message();
  ASSERT_TRUE(ListDevices(first).ok()) << "the refused revocation changed nothing";

  // A second coordinator replica with the same CA and database makes its
  // own admin certificate: now there are two admins.
  const std::string replica_tls = harness_->dir() + "/replica-tls";
  fs::create_directories(replica_tls);
  auto o = harness_->options();
  o.listen = "127.0.0.1:0";
  o.tls.dir = replica_tls;
  o.tls.ca_cert_file = tls_ + "/ca.crt";
  o.tls.ca_key_file = tls_ + "/ca.key";
  auto replica = coordinator::CoordinatorServer::Start(o);
  ASSERT_TRUE(replica.ok()) << replica.status();
  const std::string second_serial = ParseCert(ReadAll(replica_tls + "/admin.crt"))->serial_hex;
  ASSERT_NE(second_serial, first_serial);
  auto second = Channel((*replica)->address(),
                        {tls_ + "/ca.crt", replica_tls + "/admin.crt", replica_tls + "/admin.key"});
  ASSERT_TRUE(ListDevices(second).ok());

  // The second admin revokes the first (say its key leaked).
  s = RevokeSerial(second, first_serial, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.revoked(), 1u);
  // Refused at once on the replica that revoked...
  s = ListDevices(
      Channel((*replica)->address(), {tls_ + "/ca.crt", tls_ + "/admin.crt", tls_ + "/admin.key"}));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  // ...and soon elsewhere (replicas re-check a certificate every 2 s; a
  // loaded machine may take longer, so poll rather than sleep a fixed time).
  for (int wait = 0; wait < 300; ++wait) {
    s = ListDevices(
        Channel(harness_->address(), {tls_ + "/ca.crt", tls_ + "/admin.crt", tls_ + "/admin.key"}));
    if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_NE(s.error_message().find("revoked"), std::string::npos) << s.error_message();
  // The second is now the last valid admin certificate.
  s = RevokeSerial(second, second_serial, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_TRUE(ListDevices(second).ok());

  // Restarting the first coordinator replaces its revoked admin certificate.
  harness_->Stop();
  auto again = coordinator::CoordinatorServer::Start(harness_->options());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(ParseCert(ReadAll(tls_ + "/admin.crt"))->serial_hex, first_serial);
  EXPECT_TRUE(ListDevices(Channel((*again)->address(),
                                  {tls_ + "/ca.crt", tls_ + "/admin.crt", tls_ + "/admin.key"}))
                  .ok());
}

TEST_F(AbuseTest, AdminCertificateLifetimeIsConfigurable) {
  Start([](coordinator::CoordinatorOptions& o) { o.tls.admin_cert_days = 30; });
  auto info = ParseCert(ReadAll(tls_ + "/admin.crt"));
  ASSERT_TRUE(info.ok());
  const int64_t days_left = (info->not_after_unix - absl::ToUnixSeconds(absl::Now())) / 86400;
  EXPECT_GE(days_left, 29);
  EXPECT_LE(days_left, 30);
}

TEST_F(AbuseTest, EnrollmentUsesTheTokenOnlyTogetherWithTheCertificate) {
  Start();
  auto token = NewToken("laptop");
  ASSERT_TRUE(token.ok()) << token.status();
  // Recording the certificate fails (a constraint stands in for any failure
  // after the token was checked: a lost connection, a full disk).
  ASSERT_TRUE(pg()->Query("ALTER TABLE certificates ADD CONSTRAINT test_refuse "
                          "CHECK (name <> 'laptop')",
                          db_)
                  .ok());
  grpc::Status s = Enroll(*token, harness_->dir() + "/laptop-1");
  EXPECT_FALSE(s.ok());
  ASSERT_TRUE(pg()->Query("ALTER TABLE certificates DROP CONSTRAINT test_refuse", db_).ok());
  // The token was not used up by the failed attempt.
  s = Enroll(*token, harness_->dir() + "/laptop-2");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(
      Hello(Channel(harness_->address(), TlsIdentityFiles::InDir(harness_->dir() + "/laptop-2")))
          .ok());
}

TEST_F(AbuseTest, RepeatedRefusalsAreOneAuditRowWithACount) {
  Start();
  auto anon = AnonymousChannel();
  constexpr int kCalls = 300;
  for (int i = 0; i < kCalls; ++i) {
    grpc::Status s = Hello(anon);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  }
  // Counts reach the row within a few housekeeping periods.
  uint64_t rows = 0, counted = 0;
  for (int wait = 0; wait < 100; ++wait) {
    rows = counted = 0;
    auto audit = harness_->coordinator().store().RecentAudit(10000);
    ASSERT_TRUE(audit.ok()) << audit.status();
    for (const auto& e : *audit) {
      if (e.actor_kind == "anonymous" && e.action == "Hello") {
        ++rows;
        counted += e.count;
        EXPECT_EQ(e.actor.find(':', 5), std::string::npos) << "address without port: " << e.actor;
      }
    }
    if (counted == kCalls) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(counted, static_cast<uint64_t>(kCalls)) << "every refusal is counted";
  EXPECT_LE(rows, 2u) << "one row per caller and reason a minute (two across a window edge)";
}

TEST_F(AbuseTest, AuditLogIsPrunedByAgeAndSize) {
  Start();
  // Old entries and more recent ones than the bound allows.
  ASSERT_TRUE(pg()->Query("INSERT INTO audit_log (at, actor_kind, actor, action, allowed) "
                          "SELECT now() - interval '100 days', 'anonymous', 'old', 'Hello', false "
                          "FROM generate_series(1, 30)",
                          db_)
                  .ok());
  ASSERT_TRUE(pg()->Query("INSERT INTO audit_log (actor_kind, actor, action, allowed) "
                          "SELECT 'anonymous', 'new' || g, 'Hello', false "
                          "FROM generate_series(1, 80) g",
                          db_)
                  .ok());
  harness_.reset();
  Start([](coordinator::CoordinatorOptions& o) {
    o.audit_retention_days = 90;
    o.audit_max_rows = 50;
  });
  std::string left;
  for (int wait = 0; wait < 50; ++wait) {
    auto q = pg()->Query(
        "SELECT count(*) FILTER (WHERE actor = 'old') || ' ' || count(*) FILTER (WHERE actor "
        "LIKE 'new%') || ' ' || coalesce(max(actor) FILTER (WHERE actor = 'new80'), '-') FROM "
        "audit_log",
        db_);
    ASSERT_TRUE(q.ok()) << q.status();
    left = *q;
    if (left == "0 50 new80\n") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(left, "0 50 new80\n") << "old entries gone, the newest 50 kept";
}

TEST_F(AbuseTest, OneDevicesIdleStreamsDoNotStarveOthers) {
  Start([](coordinator::CoordinatorOptions& o) { o.limits.stream_idle_timeout_s = 3; });
  auto attacker = Device("attacker");
  auto victim = Device("victim");
  ASSERT_TRUE(Hello(attacker).ok());
  ASSERT_TRUE(Hello(victim).ok());
  // Eighty PutChunks streams that never send anything (the default server
  // has 64 threads).
  constexpr int kStreams = 80;
  struct Open {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReaderWriter<pb::PutChunkRequest, pb::PutChunkAck>> stream;
  };
  auto stub = pb::AgentService::NewStub(attacker);
  std::vector<std::unique_ptr<Open>> open;
  for (int i = 0; i < kStreams; ++i) {
    auto o = std::make_unique<Open>();
    o->ctx.set_deadline(In(60));
    o->stream = stub->PutChunks(&o->ctx);
    open.push_back(std::move(o));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Everyone else still gets served: another device, and the CLI.
  grpc::Status s = Hello(victim, 10);
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = ListDevices(AdminChannel(), 10);
  EXPECT_TRUE(s.ok()) << s.error_message();
  // The streams over the limit were refused naming it; the idle ones within
  // it were ended by the idle timeout.
  int refused = 0, named = 0, idle_ended = 0;
  const auto started = std::chrono::steady_clock::now();
  for (auto& o : open) {
    s = o->stream->Finish();
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      // Ours names the limit; while 80 streams arrive at once a few may
      // also meet gRPC's own thread quota first.
      ++refused;
      if (s.error_message().find("limits.max_streams_per_caller") != std::string::npos) ++named;
    } else if (s.error_code() == grpc::StatusCode::CANCELLED) {
      ++idle_ended;
    } else {
      ADD_FAILURE() << s.error_code() << " " << s.error_message();
    }
  }
  EXPECT_EQ(refused + idle_ended, kStreams);
  EXPECT_GE(named, kStreams - 16 - 8);
  EXPECT_GE(idle_ended, 1);
  EXPECT_LE(idle_ended, 16) << "never more than limits.max_streams_per_caller at once";
  // Not a speed goal: the streams' own deadline is 60 s, so ending well
  // before it shows the idle timeout (3 s here) ended them.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(50))
      << "idle streams end after stream_idle_timeout_s, not at their deadline";
  // With its streams gone the device may open new ones.
  EXPECT_TRUE(Hello(attacker).ok());
}

}  // namespace
}  // namespace shoebox
