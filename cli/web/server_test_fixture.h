// The fixture of the web server tests (server_test.cc, pages_test.cc): a
// scripted AdminService on a real in-process gRPC server and `shoebox web
// serve` on loopback HTTPS in front of it.
#pragma once

#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "cli/web/password.h"
#include "cli/web/server.h"
#include "common/crypto/pki.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli::web::webtest {

namespace pb = shoebox::v1;
using nlohmann::json;

class FakeAdmin final : public pb::AdminService::Service {
 public:
  grpc::Status GetStatus(grpc::ServerContext*, const pb::GetStatusRequest*,
                         pb::StatusResponse* r) override {
    std::lock_guard<std::mutex> l(mu);
    *r = status;
    return grpc::Status::OK;
  }
  grpc::Status GetWebAccountCredential(grpc::ServerContext*,
                                       const pb::GetWebAccountCredentialRequest* req,
                                       pb::WebAccountCredential* r) override {
    std::lock_guard<std::mutex> l(mu);
    auto it = accounts.find(req->name());
    if (it == accounts.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such account");
    r->mutable_account()->set_name(req->name());
    r->mutable_account()->set_role(it->second.first);
    r->set_password_hash(it->second.second);
    for (const std::string& d : devices[req->name()]) r->mutable_account()->add_devices(d);
    return grpc::Status::OK;
  }
  grpc::Status GetWebAccountTotp(grpc::ServerContext*, const pb::GetWebAccountTotpRequest* req,
                                 pb::WebAccountTotp* r) override {
    std::lock_guard<std::mutex> l(mu);
    if (!accounts.count(req->name())) return grpc::Status(grpc::StatusCode::NOT_FOUND, "none");
    r->set_name(req->name());
    if (auto it = totp.find(req->name()); it != totp.end()) {
      r->set_enabled(true);
      r->set_secret(it->second);
      r->set_last_step(last_step[req->name()]);
    }
    for (const auto& [name, key] : totp) {
      if (accounts[name].first == "admin") r->set_admins_require_totp(true);
    }
    return grpc::Status::OK;
  }
  grpc::Status UseWebAccountTotpStep(grpc::ServerContext*,
                                     const pb::UseWebAccountTotpStepRequest* req,
                                     pb::UseWebAccountTotpStepResponse* r) override {
    std::lock_guard<std::mutex> l(mu);
    int64_t& last = last_step[req->name()];
    r->set_accepted(req->step() > last);
    if (req->step() > last) last = req->step();
    return grpc::Status::OK;
  }
  grpc::Status ListDevices(grpc::ServerContext*, const pb::ListDevicesRequest*,
                           pb::ListDevicesResponse* r) override {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& d : status.devices()) {
      pb::Device* x = r->add_devices();
      x->set_name(d.name());
      x->add_folders("/home/" + d.name() + "/Pictures");
    }
    return grpc::Status::OK;
  }
  grpc::Status CreateEnrollToken(grpc::ServerContext*, const pb::CreateEnrollTokenRequest* req,
                                 pb::CreateEnrollTokenResponse* r) override {
    if (req->device().find('<') != std::string::npos) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "device: letters, digits, -_.@");
    }
    r->set_token("tok-" + req->device());
    r->set_expires_unix_ms(1);
    return grpc::Status::OK;
  }
  grpc::Status ListDestinations(grpc::ServerContext*, const pb::ListDestinationsRequest*,
                                pb::ListDestinationsResponse* r) override {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& [name, at] : paused) {
      pb::Destination* d = r->add_destinations();
      d->set_name(name);
      d->set_paused_unix_ms(at);
    }
    return grpc::Status::OK;
  }
  grpc::Status PauseDestination(grpc::ServerContext*, const pb::PauseDestinationRequest* req,
                                pb::Destination* r) override {
    std::lock_guard<std::mutex> l(mu);
    if (!paused.count(req->name())) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such");
    paused[req->name()] = req->paused() ? 1700000000000 : 0;
    r->set_name(req->name());
    r->set_paused_unix_ms(paused[req->name()]);
    return grpc::Status::OK;
  }
  grpc::Status ListJobs(grpc::ServerContext*, const pb::ListJobsRequest* req,
                        pb::ListJobsResponse* r) override {
    std::lock_guard<std::mutex> l(mu);
    list_jobs_limits.push_back(req->limit());
    for (const pb::JobInfo& j : jobs) {
      if (j.job_id() <= req->after_job_id()) continue;
      if (req->states_size() > 0 && j.state() != req->states(0)) continue;
      if (!req->destination().empty() && j.destination() != req->destination()) continue;
      if (static_cast<uint32_t>(r->jobs_size()) >= req->limit()) break;
      *r->add_jobs() = j;
    }
    return grpc::Status::OK;
  }
  grpc::Status CancelJobs(grpc::ServerContext*, const pb::JobSelector* sel,
                          pb::JobActionResponse* r) override {
    return SetState(*sel, pb::JOB_STATE_CANCELLED, r);
  }
  grpc::Status RetryJobs(grpc::ServerContext*, const pb::JobSelector* sel,
                         pb::JobActionResponse* r) override {
    return SetState(*sel, pb::JOB_STATE_QUEUED, r);
  }
  grpc::Status SetJobPriority(grpc::ServerContext*, const pb::SetJobPriorityRequest* req,
                              pb::JobActionResponse* r) override {
    std::lock_guard<std::mutex> l(mu);
    for (pb::JobInfo& j : jobs) {
      for (int64_t id : req->selector().job_ids()) {
        if (j.job_id() == id) {
          j.set_priority(req->priority());
          r->set_affected(r->affected() + 1);
        }
      }
    }
    return grpc::Status::OK;
  }
  grpc::Status ListAuditLog(grpc::ServerContext*, const pb::ListAuditLogRequest* req,
                            pb::ListAuditLogResponse* r) override {
    std::lock_guard<std::mutex> l(mu);
    for (int64_t i = static_cast<int64_t>(audits.size()); i >= 1; --i) {
      if (req->before_id() != 0 && i >= req->before_id()) continue;
      if (static_cast<uint32_t>(r->entries_size()) >= req->limit()) break;
      pb::AuditLogEntry* e = r->add_entries();
      e->set_id(i);
      e->set_action(audits[static_cast<size_t>(i - 1)]);
      e->set_allowed(true);
      e->set_count(1);
    }
    return grpc::Status::OK;
  }
  grpc::Status SetState(const pb::JobSelector& sel, pb::JobState to, pb::JobActionResponse* r) {
    std::lock_guard<std::mutex> l(mu);
    for (pb::JobInfo& j : jobs) {
      for (int64_t id : sel.job_ids()) {
        if (j.job_id() == id) {
          j.set_state(to);
          r->set_affected(r->affected() + 1);
        }
      }
    }
    return grpc::Status::OK;
  }
  grpc::Status SetWebAccountPassword(grpc::ServerContext*,
                                     const pb::SetWebAccountPasswordRequest* req,
                                     pb::WebAccount* r) override {
    std::lock_guard<std::mutex> l(mu);
    accounts[req->name()].second = req->password_hash();
    r->set_name(req->name());
    return grpc::Status::OK;
  }
  grpc::Status RecordWebAudit(grpc::ServerContext*, const pb::RecordWebAuditRequest* req,
                              pb::RecordWebAuditResponse*) override {
    std::lock_guard<std::mutex> l(mu);
    audits.push_back(req->action() + " " + req->account() + " " + req->target() +
                     (req->allowed() ? " allowed" : " refused"));
    return grpc::Status::OK;
  }
  std::vector<std::string> Audits() {
    std::lock_guard<std::mutex> l(mu);
    return audits;
  }
  void SetCopies(uint64_t at1) {
    std::lock_guard<std::mutex> l(mu);
    status.set_files_with_1_copy(at1);
  }

  // Browse (browse_test.cc): `versions` filtered as the coordinator does
  // (device, folder, path or a folder prefix, after, limit; every version,
  // as all_versions), their plaintext chunks in `chunks`.
  grpc::Status ListVersions(grpc::ServerContext*, const pb::ListVersionsRequest* req,
                            pb::ListVersionsResponse* r) override {
    std::lock_guard<std::mutex> l(mu);
    list_versions_limits.push_back(req->limit());
    for (const pb::FileVersion& v : versions) {
      const std::string& p = req->path();
      if (v.device() != req->device() || v.folder() != req->folder()) continue;
      if (!p.empty() && v.path() != p && v.path().rfind(p + "/", 0) != 0) continue;
      if (v.version_id() <= req->after_version_id()) continue;
      if (static_cast<uint32_t>(r->versions_size()) >= req->limit()) {
        r->set_next_after_version_id(r->versions(r->versions_size() - 1).version_id());
        break;
      }
      *r->add_versions() = v;
    }
    return grpc::Status::OK;
  }
  grpc::Status ReadChunks(grpc::ServerContext*, const pb::ReadChunksRequest* req,
                          grpc::ServerWriter<pb::ChunkData>* w) override {
    for (const std::string& id : req->ids()) {
      pb::ChunkData d;
      {
        std::lock_guard<std::mutex> l(mu);
        auto it = chunks.find(id);
        if (it == chunks.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no chunk");
        d.set_id(id);
        d.set_data(it->second);
      }
      w->Write(d);
    }
    return grpc::Status::OK;
  }
  std::vector<pb::FileVersion> versions;
  std::map<std::string, std::string> chunks;
  std::vector<uint32_t> list_versions_limits;

  std::mutex mu;
  std::map<std::string, std::pair<std::string, std::string>> accounts;  // role, hash
  pb::StatusResponse status;
  std::vector<std::string> audits;
  std::map<std::string, std::vector<std::string>> devices;  // a member's
  std::map<std::string, std::string> totp;                  // account → key
  std::map<std::string, int64_t> last_step;
  std::map<std::string, int64_t> paused;  // destination → paused_unix_ms
  std::vector<pb::JobInfo> jobs;
  std::vector<uint32_t> list_jobs_limits;
};

inline constexpr char kPassword[] = "a-long-enough-password";

class WebServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("shoebox-web-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto ca = CreateCa("web test CA", 1);
    ASSERT_TRUE(ca.ok());
    auto key = GenerateKeyPem();
    ASSERT_TRUE(key.ok());
    IssueParams p;
    p.public_key_pem = *PublicKeyPem(*key);
    p.common_name = "shoebox-web";
    p.org_unit = "server";
    p.days = 1;
    p.server = true;
    p.dns_names = {"localhost"};
    p.ip_addresses = {"127.0.0.1"};
    auto cert = IssueCert(*ca, p);
    ASSERT_TRUE(cert.ok());
    std::ofstream(dir_ / "server.crt") << *cert << ca->cert_pem;
    std::ofstream(dir_ / "server.key") << *key;
    std::ofstream(dir_ / "ca.crt") << ca->cert_pem;

    fake_.accounts["ana"] = {"admin", *HashPassword(kPassword)};
    fake_.status.set_files_with_1_copy(5);
    fake_.status.set_files_with_2_copies(2);
    fake_.status.add_devices()->set_name("phone");
    grpc::ServerBuilder b;
    int grpc_port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port);
    b.RegisterService(&fake_);
    grpc_ = b.BuildAndStart();
    ASSERT_NE(grpc_, nullptr);
    stub_ = pb::AdminService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port),
                                                          grpc::InsecureChannelCredentials()));

    WebOptions o;
    o.listen = "127.0.0.1:0";
    o.cert_file = (dir_ / "server.crt").string();
    o.key_file = (dir_ / "server.key").string();
    o.poll_interval = absl::Milliseconds(100);
    o.coordinator_address = "coord.example:7443";
    CoordinatorLink link;
    link.stub = stub_.get();
    link.context = [] {
      auto c = std::make_unique<grpc::ClientContext>();
      c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      return c;
    };
    auto s = WebServer::Start(o, link);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }
  void TearDown() override {
    server_.reset();
    if (grpc_) grpc_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<httplib::SSLClient> Client() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port());
    c->set_ca_cert_path((dir_ / "ca.crt").string().c_str());
    c->enable_server_certificate_verification(true);
    return c;
  }
  httplib::Result Login(const std::string& name, const std::string& password) {
    return Client()->Post("/api/login", json{{"name", name}, {"password", password}}.dump(),
                          "application/json");
  }
  // The session cookie ("__Host-shoebox=...") and CSRF token of a log-in.
  std::pair<std::string, std::string> LoggedIn() {
    auto r = Login("ana", kPassword);
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    std::string cookie = r->get_header_value("Set-Cookie");
    cookie = cookie.substr(0, cookie.find(';'));
    return {cookie, json::parse(r->body)["csrf"].get<std::string>()};
  }

  std::filesystem::path dir_;
  FakeAdmin fake_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<pb::AdminService::Stub> stub_;
  std::unique_ptr<WebServer> server_;
};

}  // namespace shoebox::cli::web::webtest
