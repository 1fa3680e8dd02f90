// Notifications end to end (issue 22, docs/notifications.md): a real
// coordinator on a real PostgreSQL, a real SMTP server with STARTTLS
// (aiosmtpd, smtp_sink.py) and a local webhook receiver that checks the HMAC
// signature (webhook_sink.py). The evaluation interval is 1 s and the
// thresholds are seconds, so an outage of many evaluations is simulated in a
// few seconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "coordinator/coordinator.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "tests/support/coordinator_fixture.h"
#include "tests/support/servers.h"
#include "tests/support/temp_dir.h"

namespace shoebox {
namespace {

namespace pb = shoebox::v1;
namespace fs = std::filesystem;
using testsupport::ScopedProcess;

const std::string kFolder = "/home/ana/Pictures";
const std::string kScripts = SHOEBOX_SOURCE_DIR "/tests/notify";

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Files of `dir` with extension `ext`, by name (the sinks number them).
std::vector<std::string> FilesIn(const std::string& dir, const std::string& ext) {
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ext) paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> out;
  for (const fs::path& p : paths) out.push_back(ReadAll(p));
  return out;
}

bool WaitUntil(const std::function<bool()>& pred, int timeout_s = 30) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

class NotifyTest : public testsupport::CoordinatorFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    tmp_ = std::make_unique<testsupport::TempDir>("notify");
    mail_dir_ = tmp_->path() + "/mail";
    hook_dir_ = tmp_->path() + "/hook";
    fs::create_directories(mail_dir_);
    fs::create_directories(hook_dir_);
    cert_ = tmp_->path() + "/cert.pem";
    const std::string key = tmp_->path() + "/key.pem";
    ASSERT_EQ(std::system(absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -keyout ", key,
                                       " -out ", cert_,
                                       " -days 2 -subj /CN=127.0.0.1 -addext "
                                       "subjectAltName=IP:127.0.0.1 2>/dev/null")
                              .c_str()),
              0);
    absl::StatusOr<int> sp = testsupport::FreeLoopbackPort();
    ASSERT_TRUE(sp.ok());
    smtp_port_ = *sp;
    StartSmtp(key);
    absl::StatusOr<int> hp = testsupport::FreeLoopbackPort();
    ASSERT_TRUE(hp.ok());
    hook_port_ = *hp;
    auto hook =
        ScopedProcess::Start({"/usr/bin/python3", kScripts + "/webhook_sink.py", "--port",
                              std::to_string(hook_port_), "--dir", hook_dir_, "--secret", kSecret},
                             tmp_->path() + "/hook.log");
    ASSERT_TRUE(hook.ok()) << hook.status();
    hook_ = std::move(*hook);
    ASSERT_TRUE(hook_->WaitForPort(hook_port_).ok());
    StartHarness(KeepState());
  }

  // The same master key and chunk store across restarts, as on a server
  // (the channels' secrets are sealed under the master key).
  Tweak KeepState() {
    const std::string dir = tmp_->path();
    return [dir](coordinator::CoordinatorOptions& o) {
      o.key_file = dir + "/master.key";
      o.chunk_store = dir + "/chunks";
    };
  }

  void StartSmtp(const std::string& key) {
    auto smtp = ScopedProcess::Start(
        {"/usr/bin/python3", kScripts + "/smtp_sink.py", "--port", std::to_string(smtp_port_),
         "--dir", mail_dir_, "--cert", cert_, "--key", key, "--require-starttls"},
        tmp_->path() + "/smtp.log");
    ASSERT_TRUE(smtp.ok()) << smtp.status();
    smtp_ = std::move(*smtp);
    ASSERT_TRUE(smtp_->WaitForPort(smtp_port_).ok());
  }

  coordinator::Coordinator& c() { return harness_->coordinator(); }

  std::unique_ptr<pb::AdminService::Stub> Admin() { return pb::AdminService::NewStub(channel()); }

  grpc::Status Set(const std::string& key, const std::string& value) {
    grpc::ClientContext ctx;
    testsupport::AsAdmin(&ctx);
    pb::SetNotifySettingRequest req;
    req.set_key(key);
    req.set_value(value);
    pb::ListNotifyResponse resp;
    return Admin()->SetNotifySetting(&ctx, req, &resp);
  }

  // The email and webhook channels, a 1 s evaluation, seconds for thresholds.
  void Configure(const std::string& failing_after = "2s") {
    grpc::ClientContext ctx;
    testsupport::AsAdmin(&ctx);
    pb::AddNotifyChannelRequest mail;
    mail.set_name("mail");
    mail.set_kind("email");
    mail.set_url(absl::StrCat("smtp://127.0.0.1:", smtp_port_));
    mail.set_email_to("ana@example.org");
    pb::NotifyChannel made;
    grpc::Status s = Admin()->AddNotifyChannel(&ctx, mail, &made);
    ASSERT_TRUE(s.ok()) << s.error_message();
    grpc::ClientContext ctx2;
    testsupport::AsAdmin(&ctx2);
    pb::AddNotifyChannelRequest hook;
    hook.set_name("hook");
    hook.set_kind("webhook");
    hook.set_url(absl::StrCat("http://127.0.0.1:", hook_port_, "/hook"));
    hook.set_secret(kSecret);
    s = Admin()->AddNotifyChannel(&ctx2, hook, &made);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(made.has_secret());
    // This machine's own state (a full /tmp) must not add alerts to count.
    ASSERT_TRUE(Set("disk_full_percent", "0").ok());
    ASSERT_TRUE(Set("tls_ca_file", cert_).ok());
    ASSERT_TRUE(Set("destination_failing_after", failing_after).ok());
    ASSERT_TRUE(Set("interval", "1s").ok());
  }

  std::vector<std::string> Mails() { return FilesIn(mail_dir_, ".eml"); }
  std::vector<nlohmann::json> Hooks(const std::string& method = "POST") {
    std::vector<nlohmann::json> out;
    for (const std::string& s : FilesIn(hook_dir_, ".json")) {
      nlohmann::json j = nlohmann::json::parse(s);
      if (j["method"] == method) out.push_back(j);
    }
    return out;
  }
  int MailsWith(const std::string& text) {
    int n = 0;
    for (const std::string& m : Mails()) n += absl::StrContains(m, text);
    return n;
  }
  int HooksWith(const std::string& event, const std::string& kind) {
    int n = 0;
    for (const nlohmann::json& h : Hooks()) {
      nlohmann::json body = nlohmann::json::parse(h["body"].get<std::string>());
      n += body["event"] == event && body["kind"] == kind;
    }
    return n;
  }

  // A device, a local destination bound to it, and one delivery leased.
  pb::Job OneLeasedDelivery() {
    pb::HelloRequest hello;
    hello.add_folders(kFolder);
    EXPECT_TRUE(c().catalog().Hello("laptop", hello).ok());
    pb::RegisterWorkerRequest reg;
    reg.add_kinds("local");
    EXPECT_TRUE(c().queue().Register("w1", reg).ok());
    pb::CreateDestinationRequest dest;
    dest.set_name("nas");
    dest.set_kind("local");
    dest.set_settings_json(R"({"root":"/srv/nas"})");
    EXPECT_TRUE(c().admin().CreateDestination("admin", dest).ok());
    pb::BindFolderRequest bind;
    bind.set_device("laptop");
    bind.set_folder(kFolder);
    bind.set_destination("nas");
    EXPECT_TRUE(c().admin().BindFolder("admin", bind).ok());
    Report("a.jpg");
    std::vector<pb::Job> jobs = Lease();
    EXPECT_EQ(jobs.size(), 1u);
    return jobs.empty() ? pb::Job() : jobs[0];
  }

  // An empty file: complete at once.
  void Report(const std::string& path) {
    pb::ReportFilesRequest report;
    pb::FileReport* f = report.add_files();
    f->set_folder(kFolder);
    f->set_path(path);
    f->set_op(pb::FileReport::OP_UPSERT);
    f->set_sha256(std::string(32, '\0'));
    auto r = c().catalog().ReportFiles("laptop", report);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  std::vector<pb::Job> Lease() {
    pb::LeaseJobsRequest lease;
    lease.set_max_jobs(1);
    lease.set_wait_ms(2000);
    auto jobs = c().queue().Lease("w1", lease);
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    if (!jobs.ok()) return {};
    return {jobs->jobs().begin(), jobs->jobs().end()};
  }

  static constexpr char kSecret[] = "s3cret-shared-with-the-receiver";
  std::unique_ptr<testsupport::TempDir> tmp_;
  std::string mail_dir_, hook_dir_, cert_;
  int smtp_port_ = 0, hook_port_ = 0;
  std::unique_ptr<ScopedProcess> smtp_, hook_;
};

TEST_F(NotifyTest, RefusedCredentialsStartOnceSurviveARestartAndClearOnce) {
  ASSERT_NO_FATAL_FAILURE(Configure("2s"));
  pb::Job job = OneLeasedDelivery();
  pb::FailJobRequest auth;
  auth.set_job_id(job.job_id());
  auth.set_lease_token(job.lease_token());
  auth.set_auth_failure(true);
  auth.set_error("401 Unauthorized");
  ASSERT_TRUE(c().queue().Fail("w1", auth).ok());

  ASSERT_TRUE(WaitUntil([&] {
    return MailsWith("Problem: destination \"nas\"") >= 1 &&
           HooksWith("started", "destination_failing") >= 1;
  })) << Mails().size()
      << " mails";
  // The outage goes on for many evaluations (1 s each): still one message.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_EQ(MailsWith("Problem: destination \"nas\""), 1);
  EXPECT_EQ(HooksWith("started", "destination_failing"), 1);
  // A coordinator restart during the outage: no second "started".
  StartHarness(KeepState());
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(MailsWith("Problem: destination \"nas\""), 1);
  EXPECT_EQ(HooksWith("started", "destination_failing"), 1);

  // New credentials lift the hold; the delivery goes through.
  pb::UpdateDestinationRequest up;
  up.set_name("nas");
  up.set_settings_patch_json(R"({"root":"/srv/nas2"})");
  ASSERT_TRUE(c().admin().UpdateDestination("admin", up).ok());
  std::vector<pb::Job> again = Lease();
  ASSERT_EQ(again.size(), 1u);
  pb::CompleteJobRequest done;
  done.set_job_id(again[0].job_id());
  done.set_lease_token(again[0].lease_token());
  done.set_remote_ref("a.jpg");
  done.set_verified_ok(true);
  ASSERT_TRUE(c().queue().Complete("w1", done).ok());
  ASSERT_TRUE(WaitUntil([&] {
    return MailsWith("Resolved: destination \"nas\"") >= 1 &&
           HooksWith("cleared", "destination_failing") >= 1;
  }));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(MailsWith("Resolved: destination \"nas\""), 1);
  EXPECT_EQ(HooksWith("cleared", "destination_failing"), 1);
  // (Other alerts of this machine, a full /tmp disk, may come too.)
  EXPECT_EQ(MailsWith("destination \"nas\""), 2);

  // The mail went over STARTTLS with the headers of a real message.
  std::string first;
  for (const std::string& m : Mails()) {
    if (first.empty() && absl::StrContains(m, "Problem: destination \"nas\"")) first = m;
  }
  EXPECT_TRUE(absl::StrContains(first, "X-Sink-TLS: yes")) << first;
  EXPECT_TRUE(absl::StrContains(first, "X-Sink-Rcpt-To: ana@example.org")) << first;
  EXPECT_TRUE(absl::StrContains(first, "\r\nDate: ")) << first;
  EXPECT_TRUE(absl::StrContains(first, "\r\nMessage-ID: <")) << first;
  EXPECT_TRUE(absl::StrContains(first, "What to do: give it working credentials")) << first;
  // Every webhook was signed with the shared secret, and says what happened.
  for (const nlohmann::json& h : Hooks()) {
    EXPECT_EQ(h["signature_ok"], true) << h.dump();
    nlohmann::json body = nlohmann::json::parse(h["body"].get<std::string>());
    if (body["kind"] == "disk_full") continue;
    EXPECT_EQ(body["object"], "destination \"nas\"");
    EXPECT_EQ(body["source"], "shoebox");
  }
}

TEST_F(NotifyTest, DeadJobsAndASilentDeviceEachAlertOnceAndPingTheDevice) {
  ASSERT_NO_FATAL_FAILURE(Configure("off"));
  {
    grpc::ClientContext ctx;
    testsupport::AsAdmin(&ctx);
    pb::SetDevicePingUrlRequest req;
    req.set_device("laptop");
    req.set_url(absl::StrCat("http://127.0.0.1:", hook_port_, "/ping/laptop"));
    pb::SetDevicePingUrlResponse resp;
    // Not enrolled yet: refused, naming the device.
    grpc::Status s = Admin()->SetDevicePingUrl(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_TRUE(absl::StrContains(s.error_message(), "device \"laptop\"")) << s.error_message();
  }
  pb::HelloRequest hello;
  hello.add_folders(kFolder);
  ASSERT_TRUE(c().catalog().Hello("laptop", hello).ok());
  {
    grpc::ClientContext ctx;
    testsupport::AsAdmin(&ctx);
    pb::SetDevicePingUrlRequest req;
    req.set_device("laptop");
    req.set_url(absl::StrCat("http://127.0.0.1:", hook_port_, "/ping/laptop"));
    pb::SetDevicePingUrlResponse resp;
    grpc::Status s = Admin()->SetDevicePingUrl(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  pb::Job job = OneLeasedDelivery();  // Hello again, a completed version: a backup
  ASSERT_TRUE(WaitUntil([&] {
    for (const nlohmann::json& h : Hooks("GET")) {
      if (h["path"] == "/ping/laptop") return true;
    }
    return false;
  })) << "no backup ping";
  pb::FailJobRequest dead;
  dead.set_job_id(job.job_id());
  dead.set_lease_token(job.lease_token());
  dead.set_error("root is read-only");
  ASSERT_TRUE(c().queue().Fail("w1", dead).ok());
  ASSERT_TRUE(WaitUntil([&] { return HooksWith("started", "dead_jobs") == 1; }));
  EXPECT_TRUE(WaitUntil([&] { return MailsWith("deliveries gave up") == 1; }));
  EXPECT_EQ(MailsWith("root is read-only"), 1);

  // The device goes quiet for longer than its threshold (2 s here).
  ASSERT_TRUE(Set("device_silent_after", "3s").ok());
  ASSERT_TRUE(WaitUntil([&] { return HooksWith("started", "device_silent") == 1; }));
  EXPECT_TRUE(WaitUntil([&] { return MailsWith("Problem: device \"laptop\": not seen") == 1; }));
  EXPECT_TRUE(WaitUntil([&] {
    for (const nlohmann::json& h : Hooks("GET")) {
      if (h["path"] == "/ping/laptop/fail") return true;
    }
    return false;
  })) << "no /fail ping";
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(HooksWith("started", "device_silent"), 1);
  EXPECT_EQ(HooksWith("started", "dead_jobs"), 1);
  // It comes back: cleared once.
  ASSERT_TRUE(c().catalog().Hello("laptop", hello).ok());
  ASSERT_TRUE(WaitUntil([&] { return HooksWith("cleared", "device_silent") == 1; }));

  // `notify list` shows the open alert and the ping, never the secret.
  grpc::ClientContext ctx;
  testsupport::AsAdmin(&ctx);
  pb::ListNotifyResponse list;
  ASSERT_TRUE(Admin()->ListNotify(&ctx, pb::ListNotifyRequest(), &list).ok());
  EXPECT_FALSE(absl::StrContains(list.SerializeAsString(), kSecret));
  ASSERT_EQ(list.channels_size(), 2);
  bool dead_open = false;
  for (const pb::NotifyAlert& a : list.alerts()) dead_open |= a.kind() == "dead_jobs";
  EXPECT_TRUE(dead_open);
  ASSERT_EQ(list.pings_size(), 1);
  EXPECT_EQ(list.pings(0).last_error(), "");
}

TEST_F(NotifyTest, TestMessageReportsTheServersAnswerOrNamesTheChannelAndServer) {
  ASSERT_NO_FATAL_FAILURE(Configure());
  {
    grpc::ClientContext ctx;
    testsupport::AsAdmin(&ctx);
    pb::TestNotifyChannelRequest req;
    req.set_name("mail");
    pb::TestNotifyChannelResponse resp;
    grpc::Status s = Admin()->TestNotifyChannel(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.answer().rfind("SMTP 250", 0), 0u) << resp.answer();
    EXPECT_EQ(MailsWith("Test message to channel \"mail\""), 1);
  }
  {
    grpc::ClientContext ctx;
    testsupport::AsAdmin(&ctx);
    pb::TestNotifyChannelRequest req;
    req.set_name("hook");
    pb::TestNotifyChannelResponse resp;
    grpc::Status s = Admin()->TestNotifyChannel(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.answer(), "HTTP 200");
  }
  {
    // ntfy: the text as the body, Title, Priority and Tags as headers.
    grpc::ClientContext ctx;
    testsupport::AsAdmin(&ctx);
    pb::AddNotifyChannelRequest ntfy;
    ntfy.set_name("phone");
    ntfy.set_kind("ntfy");
    ntfy.set_url(absl::StrCat("http://127.0.0.1:", hook_port_, "/ntfy/shoebox-topic"));
    pb::NotifyChannel made;
    ASSERT_TRUE(Admin()->AddNotifyChannel(&ctx, ntfy, &made).ok());
    grpc::ClientContext ctx2;
    testsupport::AsAdmin(&ctx2);
    pb::TestNotifyChannelRequest req;
    req.set_name("phone");
    pb::TestNotifyChannelResponse resp;
    grpc::Status s = Admin()->TestNotifyChannel(&ctx2, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    nlohmann::json got;
    for (const nlohmann::json& h : Hooks()) {
      if (h["path"] == "/ntfy/shoebox-topic") got = h;
    }
    ASSERT_FALSE(got.is_null());
    EXPECT_EQ(got["headers"]["Title"], "[Shoebox] Test message to channel \"phone\"");
    EXPECT_EQ(got["headers"]["Priority"], "3");
    EXPECT_EQ(got["headers"]["Tags"], "test_tube");
    EXPECT_TRUE(absl::StrContains(got["body"].get<std::string>(), "What to do: nothing"))
        << got.dump();
  }
  smtp_->Stop();
  grpc::ClientContext ctx;
  testsupport::AsAdmin(&ctx);
  pb::TestNotifyChannelRequest req;
  req.set_name("mail");
  pb::TestNotifyChannelResponse resp;
  grpc::Status s = Admin()->TestNotifyChannel(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "notification channel \"mail\""))
      << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), absl::StrCat("smtp://127.0.0.1:", smtp_port_)))
      << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "is the SMTP server running"))
      << s.error_message();
  // An unknown channel and a bad setting are refused with what to do.
  grpc::ClientContext ctx2;
  testsupport::AsAdmin(&ctx2);
  req.set_name("pager");
  s = Admin()->TestNotifyChannel(&ctx2, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "shoebox notify list")) << s.error_message();
  grpc::Status bad = Set("device_silent_after", "soon");
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(bad.error_message(), "15m")) << bad.error_message();
}

TEST_F(NotifyTest, AMessageTheServerCouldNotTakeIsDeliveredWhenItIsBack) {
  ASSERT_NO_FATAL_FAILURE(Configure("1s"));
  smtp_->Stop();
  pb::Job job = OneLeasedDelivery();
  pb::FailJobRequest auth;
  auth.set_job_id(job.job_id());
  auth.set_lease_token(job.lease_token());
  auth.set_auth_failure(true);
  auth.set_error("401");
  ASSERT_TRUE(c().queue().Fail("w1", auth).ok());
  ASSERT_TRUE(WaitUntil([&] { return HooksWith("started", "destination_failing") == 1; }));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(Mails().size(), 0u);
  ASSERT_NO_FATAL_FAILURE(StartSmtp(tmp_->path() + "/key.pem"));
  EXPECT_TRUE(WaitUntil([&] { return MailsWith("Problem: destination \"nas\"") == 1; }));
}

TEST_F(NotifyTest, TheCliAddsTestsListsAndSetsWithoutShowingTheSecret) {
  const std::string addr = harness_->address();
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {SHOEBOX_CLI_BINARY, "--coordinator", addr, "--insecure-dev"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  const std::string secret_file = tmp_->path() + "/hook.key";
  std::ofstream(secret_file) << kSecret << "\n";
  std::string out;
  ASSERT_TRUE(testsupport::RunCommand(cli({"notify", "add", "webhook", "home", "--url",
                                           absl::StrCat("http://127.0.0.1:", hook_port_, "/hook"),
                                           "--secret-file", secret_file}),
                                      &out)
                  .ok());
  EXPECT_TRUE(absl::StrContains(out, "added webhook channel 'home'")) << out;
  ASSERT_TRUE(
      testsupport::RunCommand(cli({"notify", "add", "email", "family", "--to", "ana@example.org",
                                   "--smtp", absl::StrCat("smtp://127.0.0.1:", smtp_port_)}),
                              &out)
          .ok());
  ASSERT_TRUE(testsupport::RunCommand(cli({"notify", "set", "tls_ca_file", cert_}), &out).ok());
  ASSERT_TRUE(testsupport::RunCommand(cli({"notify", "test", "family"}), &out).ok());
  EXPECT_TRUE(absl::StrContains(out, "test message to 'family' accepted: SMTP 250")) << out;
  ASSERT_TRUE(testsupport::RunCommand(cli({"notify", "test", "home"}), &out).ok());
  EXPECT_TRUE(absl::StrContains(out, "HTTP 200")) << out;
  ASSERT_EQ(HooksWith("test", "test"), 1);
  for (const nlohmann::json& h : Hooks()) EXPECT_EQ(h["signature_ok"], true);
  ASSERT_TRUE(testsupport::RunCommand(cli({"notify", "list"}), &out).ok());
  EXPECT_TRUE(absl::StrContains(out, "home")) << out;
  EXPECT_TRUE(absl::StrContains(out, "(secret set)")) << out;
  EXPECT_TRUE(absl::StrContains(out, "destination_failing_after")) << out;
  EXPECT_FALSE(absl::StrContains(out, kSecret)) << out;
  // Errors: exit non-zero, naming the object and what to do.
  absl::Status unknown =
      testsupport::RunCommand(cli({"device", "ping-url", "nosuch", "http://x/"}));
  EXPECT_FALSE(unknown.ok());
  EXPECT_TRUE(absl::StrContains(unknown.message(), "device \"nosuch\" is not enrolled")) << unknown;
  absl::Status bad = testsupport::RunCommand(cli({"notify", "set", "interval", "fast"}));
  EXPECT_TRUE(absl::StrContains(bad.message(), "notify setting interval")) << bad;
  smtp_->Stop();
  absl::Status down = testsupport::RunCommand(cli({"notify", "test", "family"}));
  EXPECT_FALSE(down.ok());
  EXPECT_TRUE(absl::StrContains(down.message(), "notification channel \"family\"")) << down;
  EXPECT_TRUE(absl::StrContains(down.message(), absl::StrCat("127.0.0.1:", smtp_port_))) << down;
}

}  // namespace
}  // namespace shoebox
