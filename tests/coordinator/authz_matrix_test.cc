// Default deny, pinned (issue 17 item 6): every method of every service in
// proto/shoebox/v1 (read from the generated descriptors, so a new RPC is
// picked up without anyone remembering this file) is called as every role
// over real mutual TLS against a real coordinator and PostgreSQL, and the
// status code must be the one in kExpected below. A method without a row
// fails the test: add the row here and the rule in
// coordinator/auth_rules.cc.
//
// Roles: no client certificate; a certificate from another CA; a revoked
// device, worker and admin; a device and another device (the request names
// the first device's objects); a worker holding the leases and a worker
// without them; the admin. Requests are minimal: empty, except where the
// method is about an object (then they name the device's file, chunk or the
// holder's job and token). Unary and streaming calls go through one generic
// call: open, send one message, half-close, read until the status.
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/crypto/pki.h"
#include "common/tls_client.h"
#include "coordinator/auth.h"
#include "coordinator/store/store.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "tests/support/coordinator_fixture.h"
#include "tests/support/data_gen.h"

namespace shoebox {
namespace {

namespace pb = shoebox::v1;
using Code = grpc::StatusCode;

const std::string kFolder = "/home/ana/Pictures";

enum class Who {
  kNoCert,
  kOtherCa,
  kRevokedDevice,
  kRevokedWorker,
  kRevokedAdmin,
  kOtherDevice,
  kWorkerWithoutLease,
  kAdmin,
  kDevice,
  kWorker,  // holds the leases; called last, so its completions come after the rest
};
constexpr Who kAllRoles[] = {
    Who::kNoCert,       Who::kOtherCa,     Who::kRevokedDevice,      Who::kRevokedWorker,
    Who::kRevokedAdmin, Who::kOtherDevice, Who::kWorkerWithoutLease, Who::kAdmin,
    Who::kDevice,       Who::kWorker};

const char* WhoName(Who w) {
  switch (w) {
    case Who::kNoCert:
      return "anonymous (no certificate)";
    case Who::kOtherCa:
      return "certificate of another CA";
    case Who::kRevokedDevice:
      return "revoked device";
    case Who::kRevokedWorker:
      return "revoked worker";
    case Who::kRevokedAdmin:
      return "revoked admin";
    case Who::kOtherDevice:
      return "other device";
    case Who::kWorkerWithoutLease:
      return "worker without the lease";
    case Who::kAdmin:
      return "admin";
    case Who::kDevice:
      return "device";
    case Who::kWorker:
      return "worker (lease holder)";
  }
  return "?";
}

// Who owns a method and what its owner and the "other" of the owner's role
// (another device / a worker without the lease) get with the minimal
// request. Everyone else: PERMISSION_DENIED with a valid certificate of
// another role, UNAUTHENTICATED without one or revoked, UNAVAILABLE with a
// certificate of another CA (the TLS handshake fails). Methods open to
// anonymous callers (Enroll) answer everyone alike but the other CA.
enum class Owner { kAnonymous, kDevice, kWorker, kAdmin };
struct Expected {
  Owner owner;
  Code owner_code;
  Code other_code;  // same role, other device / worker without the lease
};

const std::map<std::string, Expected>& ExpectedTable() {
  static const std::map<std::string, Expected> kExpected = {
      // Enroll with an empty token: refused alike for everyone (the token is
      // the credential, not a certificate).
      {"/shoebox.v1.AgentService/Enroll",
       {Owner::kAnonymous, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.WorkerService/Enroll",
       {Owner::kAnonymous, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AgentService/Hello", {Owner::kDevice, Code::OK, Code::OK}},
      {"/shoebox.v1.AgentService/Heartbeat", {Owner::kDevice, Code::OK, Code::OK}},
      {"/shoebox.v1.AgentService/ReportFiles", {Owner::kDevice, Code::OK, Code::OK}},
      // One empty PutChunkRequest: refused in its ack, the stream ends OK.
      {"/shoebox.v1.AgentService/PutChunks", {Owner::kDevice, Code::OK, Code::OK}},
      // device = the first device: the other is refused.
      {"/shoebox.v1.AgentService/ListVersions",
       {Owner::kDevice, Code::OK, Code::PERMISSION_DENIED}},
      // A chunk of the first device's file: the other device gets nothing.
      {"/shoebox.v1.AgentService/ReadChunks", {Owner::kDevice, Code::OK, Code::NOT_FOUND}},
      {"/shoebox.v1.WorkerService/RegisterWorker",
       {Owner::kWorker, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.WorkerService/LeaseJobs", {Owner::kWorker, Code::OK, Code::OK}},
      // The holder's job and token; the other worker is refused.
      {"/shoebox.v1.WorkerService/RenewLease", {Owner::kWorker, Code::OK, Code::PERMISSION_DENIED}},
      {"/shoebox.v1.WorkerService/CompleteJob",
       {Owner::kWorker, Code::OK, Code::PERMISSION_DENIED}},
      {"/shoebox.v1.WorkerService/FailJob", {Owner::kWorker, Code::OK, Code::PERMISSION_DENIED}},
      // Issue 23: an empty batch; each entry's lease is judged in its
      // result (tests/coordinator/complete_jobs_test.cc), not the call.
      {"/shoebox.v1.WorkerService/CompleteJobs", {Owner::kWorker, Code::OK, Code::OK}},
      {"/shoebox.v1.WorkerService/ReadChunks", {Owner::kWorker, Code::OK, Code::PERMISSION_DENIED}},
      // A delivery job, not a verify job: the holder may not repair with it.
      {"/shoebox.v1.WorkerService/RepairChunk",
       {Owner::kWorker, Code::FAILED_PRECONDITION, Code::PERMISSION_DENIED}},
      // The holder's job, token and destination: stored; the other worker,
      // with the same job ID and token, is refused.
      {"/shoebox.v1.WorkerService/UpdateDestinationCredentials",
       {Owner::kWorker, Code::OK, Code::PERMISSION_DENIED}},
      {"/shoebox.v1.WorkerService/SaveResumeState",
       {Owner::kWorker, Code::OK, Code::FAILED_PRECONDITION}},
      // Issue 20: the holder's job, token and destination: answered; the
      // worker without the lease, with the same job ID and token, is refused.
      {"/shoebox.v1.WorkerService/LookupAlbum",
       {Owner::kWorker, Code::OK, Code::PERMISSION_DENIED}},
      {"/shoebox.v1.WorkerService/RecordAlbum",
       {Owner::kWorker, Code::OK, Code::PERMISSION_DENIED}},
      {"/shoebox.v1.WorkerService/ForgetAlbum",
       {Owner::kWorker, Code::OK, Code::PERMISSION_DENIED}},
      // Issue 21: an empty request holds no lease of a transfer's list job;
      // an empty first message is not the header.
      {"/shoebox.v1.WorkerService/ReportListing",
       {Owner::kWorker, Code::PERMISSION_DENIED, Code::PERMISSION_DENIED}},
      {"/shoebox.v1.WorkerService/IngestItem",
       {Owner::kWorker, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/CreateDestination",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/ListDestinations", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/UpdateDestination",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/RemoveDestination",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/PauseDestination",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/CheckDestination",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/GetDestinationCheck",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/ListBindings", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/UnbindFolder",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/BindFolder",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/ListDevices", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/GetStatus", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/ListJobs", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/CancelJobs",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/RetryJobs", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/SetJobPriority",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/CreateEnrollToken",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/ListVersions",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/ReadChunks", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/Verify", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/ListCertificates", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/Revoke",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/SetRetention",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/GetRetention", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/Prune", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/CreateSnapshot", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/ListSnapshots", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/SetWorkerScope",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      // Issue 21: an empty first message is not the header.
      {"/shoebox.v1.AdminService/ImportItems",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      // Issue 22: empty requests name no account (no action to record).
      {"/shoebox.v1.AdminService/CreateWebAccount",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/ListWebAccounts", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/SetWebAccountPassword",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/GetWebAccountCredential",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/RecordWebAudit",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      // Issue 22, slice 2: empty requests name no account; the audit log
      // lists.
      {"/shoebox.v1.AdminService/SetWebAccountTotp",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/GetWebAccountTotp",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/UseWebAccountTotpStep",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/BindWebAccountDevice",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/ListAuditLog", {Owner::kAdmin, Code::OK, Code::OK}},
      // Issue 21: empty requests name no transfer.
      {"/shoebox.v1.AdminService/AddTransfer",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/ListTransfers", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/PauseTransfer",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/ResumeTransfer",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/CancelTransfer",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      // Issue 22: notifications; empty requests name no channel, key or device.
      {"/shoebox.v1.AdminService/AddNotifyChannel",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/ListNotify", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/RemoveNotifyChannel",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/TestNotifyChannel",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/SetNotifySetting",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/SetDevicePingUrl",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      // Issue 22: recently deleted lists; an empty restore request names no
      // device; an empty report names no request.
      {"/shoebox.v1.AdminService/ListDeleted", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AdminService/RequestRestore",
       {Owner::kAdmin, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
      {"/shoebox.v1.AdminService/ListRestoreRequests", {Owner::kAdmin, Code::OK, Code::OK}},
      {"/shoebox.v1.AgentService/ReportRestore",
       {Owner::kDevice, Code::INVALID_ARGUMENT, Code::INVALID_ARGUMENT}},
  };
  return kExpected;
}

Code ExpectedCode(const Expected& e, Who who) {
  if (who == Who::kOtherCa) return Code::UNAVAILABLE;
  if (e.owner == Owner::kAnonymous) return e.owner_code;
  if (who == Who::kNoCert || who == Who::kRevokedDevice || who == Who::kRevokedWorker ||
      who == Who::kRevokedAdmin) {
    return Code::UNAUTHENTICATED;
  }
  switch (e.owner) {
    case Owner::kDevice:
      if (who == Who::kDevice) return e.owner_code;
      if (who == Who::kOtherDevice) return e.other_code;
      break;
    case Owner::kWorker:
      if (who == Who::kWorker) return e.owner_code;
      if (who == Who::kWorkerWithoutLease) return e.other_code;
      break;
    case Owner::kAdmin:
      if (who == Who::kAdmin) return e.owner_code;
      break;
    case Owner::kAnonymous:
      break;
  }
  return Code::PERMISSION_DENIED;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  ::chmod(path.c_str(), mode);
}

// One call of `method` with `request` (serialized) as the only message.
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& ch, const std::string& method,
                     const std::string& request) {
  grpc::GenericStub stub(ch);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto call = stub.PrepareCall(&ctx, method, &cq);
  void* tag = nullptr;
  bool ok = false;
  auto wait = [&](intptr_t want) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  if (wait(1)) {
    grpc::Slice slice(request);
    grpc::ByteBuffer buf(&slice, 1);
    call->Write(buf, reinterpret_cast<void*>(2));
    if (wait(2)) {
      call->WritesDone(reinterpret_cast<void*>(3));
      wait(3);
    }
    grpc::ByteBuffer reply;
    for (;;) {
      call->Read(&reply, reinterpret_cast<void*>(4));
      if (!wait(4)) break;
    }
  }
  grpc::Status st;
  call->Finish(&st, reinterpret_cast<void*>(5));
  wait(5);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return st;
}

class AuthzMatrixTest : public testsupport::CoordinatorFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    // Enroll is called 20 times from one address here; its rate limit is
    // security_test.cc's.
    StartHarnessTls([](coordinator::CoordinatorOptions& o) { o.limits.enroll_per_second = 0; });
    ASSERT_NE(harness_, nullptr);
    tls_ = harness_->dir() + "/tls";
    ca_ = KeyAndCert{ReadAll(tls_ + "/ca.key"), ReadAll(tls_ + "/ca.crt")};
  }

  // A client identity signed by `ca` (recorded in the catalog when it is
  // ours, then revoked when asked), in its own directory.
  std::shared_ptr<grpc::Channel> Identity(const std::string& role, const std::string& name,
                                          bool revoked = false, bool other_ca = false) {
    auto key = GenerateKeyPem();
    EXPECT_TRUE(key.ok());
    IssueParams p;
    p.public_key_pem = *PublicKeyPem(*key);
    p.common_name = name;
    p.org_unit = role;
    p.days = 30;
    KeyAndCert ca = ca_;
    if (other_ca) ca = *CreateCa("another coordinator", 30);
    auto cert = IssueCert(ca, p);
    EXPECT_TRUE(cert.ok()) << cert.status();
    if (!other_ca) {
      auto info = ParseCert(*cert);
      CertificateRowFor(role, name, *info, revoked);
    }
    const std::string dir = absl::StrCat(harness_->dir(), "/id-", role, "-", name);
    ::mkdir(dir.c_str(), 0700);
    const TlsIdentityFiles f = TlsIdentityFiles::InDir(dir);
    WriteFile(f.ca_file, ca_.cert_pem, 0644);
    WriteFile(f.cert_file, *cert, 0644);
    WriteFile(f.key_file, *key, 0600);
    grpc::ChannelArguments a;
    a.SetMaxReceiveMessageSize(64 << 20);
    auto ch = MakeShoeboxChannel(harness_->address(), false, f, "", a);
    EXPECT_TRUE(ch.ok()) << ch.status();
    return *ch;
  }

  void CertificateRowFor(const std::string& role, const std::string& name, const CertInfo& info,
                         bool revoked) {
    coordinator::CertificateRow row;
    row.serial = info.serial_hex;
    row.role = role;
    row.name = name;
    row.fingerprint = info.fingerprint_hex;
    row.issued_unix_ms = 1;
    row.expires_unix_ms = info.not_after_unix * 1000;
    auto& store = harness_->coordinator().store();
    ASSERT_TRUE(store.RecordCertificate(row).ok());
    if (revoked) {
      ASSERT_TRUE(store.RevokeCertificate(info.serial_hex).ok());
    }
  }

  std::shared_ptr<grpc::Channel> NoCert() {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca_.cert_pem;
    grpc::ChannelArguments a;
    SetTlsChannelArgs(&a);
    return grpc::CreateCustomChannel(harness_->address(), grpc::SslCredentials(ssl), a);
  }

  std::string tls_;
  KeyAndCert ca_;
};

TEST_F(AuthzMatrixTest, EveryMethodAsEveryRoleGetsTheCodeInTheTable) {
  std::map<Who, std::shared_ptr<grpc::Channel>> ch;
  ch[Who::kNoCert] = NoCert();
  ch[Who::kOtherCa] = Identity("admin", "intruder", false, /*other_ca=*/true);
  ch[Who::kRevokedDevice] = Identity("device", "lost-laptop", /*revoked=*/true);
  ch[Who::kRevokedWorker] = Identity("worker", "old-worker", /*revoked=*/true);
  ch[Who::kRevokedAdmin] = Identity("admin", "old-admin", /*revoked=*/true);
  ch[Who::kDevice] = Identity("device", "laptop");
  ch[Who::kOtherDevice] = Identity("device", "phone");
  ch[Who::kWorker] = Identity("worker", "w-holder");
  ch[Who::kWorkerWithoutLease] = Identity("worker", "w-other");
  ch[Who::kAdmin] = MakeShoeboxChannel(harness_->address(), false,
                                       {tls_ + "/ca.crt", tls_ + "/admin.crt", tls_ + "/admin.key"},
                                       "", grpc::ChannelArguments())
                        .value();

  // The objects the requests name: a destination bound to the laptop, three
  // files of the laptop (each one delivery job) and the holder's leases.
  auto admin = pb::AdminService::NewStub(ch[Who::kAdmin]);
  auto agent = pb::AgentService::NewStub(ch[Who::kDevice]);
  auto worker = pb::WorkerService::NewStub(ch[Who::kWorker]);
  auto call_ok = [](const grpc::Status& st) { ASSERT_TRUE(st.ok()) << st.error_message(); };
  {
    grpc::ClientContext ctx;
    pb::CreateDestinationRequest req;
    req.set_name("nas");
    req.set_kind("local");
    req.set_settings_json(R"({"root":"/srv/backup"})");
    pb::Destination d;
    call_ok(admin->CreateDestination(&ctx, req, &d));
  }
  pb::HelloResponse hello;
  {
    grpc::ClientContext ctx;
    pb::HelloRequest req;
    req.set_hostname("laptop.lan");
    req.add_folders(kFolder);
    call_ok(agent->Hello(&ctx, req, &hello));
  }
  {
    grpc::ClientContext ctx;
    pb::BindFolderRequest req;
    req.set_device("laptop");
    req.set_destination("nas");
    pb::BindFolderResponse r;
    call_ok(admin->BindFolder(&ctx, req, &r));
  }
  std::vector<std::string> chunk_of;  // one chunk ID per file
  for (int i = 0; i < 3; ++i) {
    const std::string data = testsupport::PseudoRandomBytes(1000, 10 + i);
    const std::string id = DigestToString(HmacSha256(AsBytes(hello.chunk_id_key())).Compute(data));
    pb::ReportFilesRequest rep;
    pb::FileReport* f = rep.add_files();
    f->set_folder(kFolder);
    f->set_path(absl::StrCat("f", i, ".jpg"));
    f->set_op(pb::FileReport::OP_UPSERT);
    f->set_size(data.size());
    f->set_mtime_ns(1700000000000000000);
    f->set_sha256(DigestToString(Sha256::Of(data)));
    pb::ChunkRef* c = f->add_chunks();
    c->set_id(id);
    c->set_size(data.size());
    {
      grpc::ClientContext ctx;
      pb::ReportFilesResponse r;
      call_ok(agent->ReportFiles(&ctx, rep, &r));
    }
    grpc::ClientContext ctx;
    auto stream = agent->PutChunks(&ctx);
    pb::PutChunkRequest put;
    put.set_id(id);
    put.set_data(data);
    ASSERT_TRUE(stream->Write(put));
    pb::PutChunkAck ack;
    ASSERT_TRUE(stream->Read(&ack));
    ASSERT_EQ(ack.code(), 0) << ack.message();
    stream->WritesDone();
    call_ok(stream->Finish());
    chunk_of.push_back(id);
  }
  for (const char* w : {"w-holder", "w-other"}) {
    grpc::ClientContext ctx;
    pb::RegisterWorkerRequest req;
    req.add_kinds("local");
    pb::RegisterWorkerResponse r;
    call_ok(pb::WorkerService::NewStub(
                ch[std::string(w) == "w-holder" ? Who::kWorker : Who::kWorkerWithoutLease])
                ->RegisterWorker(&ctx, req, &r));
  }
  std::map<std::string, pb::Job> job_of;  // by file path
  {
    grpc::ClientContext ctx;
    pb::LeaseJobsRequest req;
    req.set_max_jobs(10);
    pb::LeaseJobsResponse r;
    call_ok(worker->LeaseJobs(&ctx, req, &r));
    ASSERT_EQ(r.jobs_size(), 3);
    for (const pb::Job& j : r.jobs()) job_of[j.file().path()] = j;
  }
  const pb::Job& kept = job_of["f0.jpg"];       // renewed, read, repaired
  const pb::Job& completed = job_of["f1.jpg"];  // completed
  const pb::Job& failed = job_of["f2.jpg"];     // failed

  // Minimal requests; the object-level ones name the objects above.
  std::map<std::string, std::string> request;
  {
    pb::ListVersionsRequest r;
    r.set_device("laptop");
    request["/shoebox.v1.AgentService/ListVersions"] = r.SerializeAsString();
    pb::ReadChunksRequest rc;
    rc.add_ids(chunk_of[0]);
    request["/shoebox.v1.AgentService/ReadChunks"] = rc.SerializeAsString();
    pb::RenewLeaseRequest rn;
    rn.set_job_id(kept.job_id());
    rn.set_lease_token(kept.lease_token());
    request["/shoebox.v1.WorkerService/RenewLease"] = rn.SerializeAsString();
    pb::CompleteJobRequest cj;
    cj.set_job_id(completed.job_id());
    cj.set_lease_token(completed.lease_token());
    cj.set_remote_ref("nas/f1.jpg");
    request["/shoebox.v1.WorkerService/CompleteJob"] = cj.SerializeAsString();
    pb::FailJobRequest fj;
    fj.set_job_id(failed.job_id());
    fj.set_lease_token(failed.lease_token());
    fj.set_retryable(true);
    fj.set_error("401 Unauthorized");
    fj.set_auth_failure(true);
    request["/shoebox.v1.WorkerService/FailJob"] = fj.SerializeAsString();
    pb::WorkerReadChunksRequest wr;
    wr.add_ids(chunk_of[0]);
    request["/shoebox.v1.WorkerService/ReadChunks"] = wr.SerializeAsString();
    pb::RepairChunkRequest rp;
    rp.set_job_id(kept.job_id());
    rp.set_lease_token(kept.lease_token());
    rp.set_id(chunk_of[0]);
    rp.set_data("x");
    request["/shoebox.v1.WorkerService/RepairChunk"] = rp.SerializeAsString();
    pb::UpdateDestinationCredentialsRequest uc;
    uc.set_job_id(kept.job_id());
    uc.set_lease_token(kept.lease_token());
    uc.set_destination_id(kept.destination().id());
    uc.set_sealed_credentials("sealed");
    request["/shoebox.v1.WorkerService/UpdateDestinationCredentials"] = uc.SerializeAsString();
    pb::SaveResumeStateRequest rs;
    rs.set_job_id(kept.job_id());
    rs.set_lease_token(kept.lease_token());
    rs.set_resume_state("offset=0");
    request["/shoebox.v1.WorkerService/SaveResumeState"] = rs.SerializeAsString();
    pb::LookupAlbumRequest la;
    la.set_job_id(kept.job_id());
    la.set_lease_token(kept.lease_token());
    la.set_destination_id(kept.destination().id());
    la.set_album_key("Camera 2023");
    request["/shoebox.v1.WorkerService/LookupAlbum"] = la.SerializeAsString();
    pb::RecordAlbumRequest ra;
    ra.set_job_id(kept.job_id());
    ra.set_lease_token(kept.lease_token());
    ra.set_destination_id(kept.destination().id());
    ra.set_album_key("Camera 2023");
    ra.set_remote_id("set-1");
    request["/shoebox.v1.WorkerService/RecordAlbum"] = ra.SerializeAsString();
    pb::ForgetAlbumRequest fa;
    fa.set_job_id(kept.job_id());
    fa.set_lease_token(kept.lease_token());
    fa.set_destination_id(kept.destination().id());
    fa.set_album_key("Camera 2023");
    request["/shoebox.v1.WorkerService/ForgetAlbum"] = fa.SerializeAsString();
  }

  // Every method of every service in proto/shoebox/v1 (every .proto there
  // is linked into this binary through shoebox_proto).
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  std::vector<const google::protobuf::FileDescriptor*> files;
  for (const char* name : {"shoebox/v1/agent.proto", "shoebox/v1/worker.proto",
                           "shoebox/v1/admin.proto", "shoebox/v1/common.proto"}) {
    const google::protobuf::FileDescriptor* f = pool->FindFileByName(name);
    ASSERT_NE(f, nullptr) << name;
    files.push_back(f);
  }
  int calls = 0, methods = 0;
  std::set<std::string> seen;
  for (const google::protobuf::FileDescriptor* file : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const std::string full =
            absl::StrCat("/", service->full_name(), "/", service->method(m)->name());
        ++methods;
        seen.insert(full);
        auto row = ExpectedTable().find(full);
        if (row == ExpectedTable().end()) {
          ADD_FAILURE() << full
                        << " has no row in this test's table: decide who may call it, add the "
                           "row here and the rule in coordinator/auth_rules.cc";
          continue;
        }
        EXPECT_NE(coordinator::FindMethodRule(full), nullptr)
            << full << " has no rule in coordinator/auth_rules.cc";
        const std::string req = request.count(full) ? request[full] : std::string();
        for (Who who : kAllRoles) {
          grpc::Status st = RawCall(ch[who], full, req);
          ++calls;
          EXPECT_EQ(st.error_code(), ExpectedCode(row->second, who))
              << full << " as " << WhoName(who) << ": " << st.error_message();
        }
      }
    }
  }
  for (const auto& [m, e] : ExpectedTable()) {
    EXPECT_TRUE(seen.count(m)) << m << " is in the table but not in the protos";
  }
  EXPECT_GE(methods, 43);
  EXPECT_EQ(calls, methods * 10);

  // What the refused workers tried left no trace: the completed job is the
  // holder's completion, the failed one the holder's failure.
  grpc::ClientContext ctx;
  pb::ListJobsResponse jobs;
  call_ok(admin->ListJobs(&ctx, pb::ListJobsRequest(), &jobs));
  for (const pb::JobInfo& j : jobs.jobs()) {
    if (j.job_id() == kept.job_id()) {
      EXPECT_EQ(j.state(), pb::JOB_STATE_LEASED);
    }
    if (j.job_id() == completed.job_id()) {
      EXPECT_EQ(j.state(), pb::JOB_STATE_DONE);
    }
  }
}

TEST_F(AuthzMatrixTest, EveryRuleNamesAMethodThatExists) {
  // A stale rule would admit callers to a method someone may add later with
  // other intentions.
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const coordinator::MethodRule& r : coordinator::MethodRules()) {
    std::string name = r.method;
    if (name.rfind("/grpc.health.v1.", 0) == 0) continue;  // not ours
    name = name.substr(1);
    name[name.find('/')] = '.';
    EXPECT_NE(pool->FindMethodByName(name), nullptr) << r.method;
  }
  // Health answers without a certificate.
  grpc::Status st = RawCall(NoCert(), "/grpc.health.v1.Health/Check", "");
  EXPECT_TRUE(st.ok()) << st.error_message();
}

}  // namespace
}  // namespace shoebox
