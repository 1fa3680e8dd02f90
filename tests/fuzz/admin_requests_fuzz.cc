// AdminService request validation: the first byte picks the request type,
// the rest is parsed as that message the way the gRPC server parses it, and
// the coordinator's own checks run on it (coordinator/validate.h and the
// retention policy limits). Refusals must be INVALID_ARGUMENT with a
// printable message; what is accepted must satisfy what the store relies on.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "coordinator/retention_policy.h"
#include "coordinator/validate.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using shoebox::fuzz::Check;
using shoebox::fuzz::CheckDbText;
using shoebox::fuzz::CheckRefusal;
using shoebox::fuzz::Parse;
namespace v1 = shoebox::v1;
namespace co = shoebox::coordinator;

void CheckAbsolute(const std::string& p) {
  Check(!p.empty() && p.size() <= 4096 && p.front() == '/' && p.find('\0') == std::string::npos);
}

void CheckStates(const google::protobuf::RepeatedField<int>& states) {
  for (int s : states) Check(v1::JobState_IsValid(s) && s != v1::JOB_STATE_UNSPECIFIED);
}

void CreateDestination(const uint8_t* d, size_t n) {
  v1::CreateDestinationRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateCreateDestination(req);
  if (!st.ok()) return CheckRefusal(st);
  Check(!req.name().empty() && req.name().size() <= 64);
  for (char c : req.name())
    Check(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  Check(!req.kind().empty() && req.kind().size() <= 64);
  CheckDbText(req.kind());
  CheckDbText(req.layout());
  CheckDbText(req.settings_json());
  if (!req.settings_json().empty()) Check(req.settings_json().find('{') != std::string::npos);
}

void BindFolder(const uint8_t* d, size_t n) {
  v1::BindFolderRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateBindFolder(req);
  if (!st.ok()) return CheckRefusal(st);
  Check(!req.device().empty() && !req.destination().empty());
  CheckDbText(req.device());
  CheckDbText(req.destination());
  if (!req.folder().empty()) CheckAbsolute(req.folder());
}

void ListJobs(const uint8_t* d, size_t n) {
  v1::ListJobsRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateJobFilter(req.states(), req.destination());
  if (!st.ok()) return CheckRefusal(st);
  CheckStates(req.states());
  CheckDbText(req.destination());
}

void SelectJobs(const uint8_t* d, size_t n) {
  v1::JobSelector sel;
  if (!Parse(d, n, &sel)) return;
  absl::Status retry = co::ValidateJobFilter(sel.states(), sel.destination());
  absl::Status cancel = co::ValidateCancelJobs(sel);
  if (!retry.ok()) {
    CheckRefusal(retry);
    Check(!cancel.ok());  // cancelling is at least as strict as retrying
    return CheckRefusal(cancel);
  }
  CheckStates(sel.states());
  CheckDbText(sel.destination());
  if (!cancel.ok()) {
    CheckRefusal(cancel);
    Check(sel.job_ids().empty() && sel.destination().empty() && sel.states().empty());
  }
}

void SetJobPriority(const uint8_t* d, size_t n) {
  v1::SetJobPriorityRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateSetJobPriority(req);
  if (!st.ok()) return CheckRefusal(st);
  CheckStates(req.selector().states());
  CheckDbText(req.selector().destination());
  Check(req.priority() >= -1000 && req.priority() <= 1000);
  const auto& s = req.selector();
  Check(!s.job_ids().empty() || !s.destination().empty() || !s.states().empty());
}

void CreateEnrollToken(const uint8_t* d, size_t n) {
  v1::CreateEnrollTokenRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateCreateEnrollToken(req);
  if (!st.ok()) return CheckRefusal(st);
  Check(req.device().empty() != req.worker().empty());
  const std::string& name = req.device().empty() ? req.worker() : req.device();
  Check(!name.empty() && name.size() <= 128);
  for (char c : name) {
    Check(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '@');
  }
  Check(req.ttl_seconds() <= 30 * 86400);
  // A scope only on worker tokens, with names the scope table can hold.
  if (req.worker_kinds_size() + req.worker_destinations_size() > 0) Check(!req.worker().empty());
  for (const std::string& k : req.worker_kinds()) {
    Check(!k.empty() && k.size() <= 64);
    CheckDbText(k);
  }
  for (const std::string& dst : req.worker_destinations()) {
    Check(!dst.empty() && dst.size() <= 256);
    CheckDbText(dst);
  }
}

// Workers scoped by the admin (issue 17): what is accepted is a valid worker
// name and lists the text[] columns can hold.
void SetWorkerScope(const uint8_t* d, size_t n) {
  v1::SetWorkerScopeRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateSetWorkerScope(req);
  if (!st.ok()) return CheckRefusal(st);
  Check(!req.worker().empty() && req.worker().size() <= 128);
  for (char c : req.worker()) {
    Check(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '@');
  }
  Check(req.kinds_size() <= 64 && req.destinations_size() <= 1000);
  for (const std::string& k : req.kinds()) {
    Check(!k.empty() && k.size() <= 64);
    CheckDbText(k);
  }
  for (const std::string& dst : req.destinations()) {
    Check(!dst.empty() && dst.size() <= 256);
    CheckDbText(dst);
  }
}

void ListVersions(const uint8_t* d, size_t n) {
  v1::ListVersionsRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateVersionFilter(req);
  if (!st.ok()) return CheckRefusal(st);
  if (!req.folder().empty()) CheckAbsolute(req.folder());
}

void ReadChunks(const uint8_t* d, size_t n) {
  v1::ReadChunksRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateChunkIds(req.ids(), 8);
  if (!st.ok()) return CheckRefusal(st);
  for (const std::string& id : req.ids()) Check(id.size() == 32);
}

void Verify(const uint8_t* d, size_t n) {
  v1::VerifyRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateVerifyRequest(req);
  if (!st.ok()) return CheckRefusal(st);
  Check(!std::isnan(req.scrub_percent()) && req.scrub_percent() >= 0 && req.scrub_percent() <= 100);
  Check(req.test_restore() <= 10000);
  CheckDbText(req.destination());
}

void Revoke(const uint8_t* d, size_t n) {
  v1::RevokeRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateRevoke(req);
  if (!st.ok()) return CheckRefusal(st);
  Check(req.device().empty() != req.worker().empty());
  CheckDbText(req.device());
  CheckDbText(req.worker());
}

void GetRetention(const uint8_t* d, size_t n) {
  v1::GetRetentionRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateGetRetention(req);
  if (!st.ok()) return CheckRefusal(st);
  CheckDbText(req.device());
  if (!req.folder().empty()) {
    Check(!req.device().empty());
    CheckAbsolute(req.folder());
  }
}

void SetRetention(const uint8_t* d, size_t n) {
  v1::SetRetentionRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateSetRetention(req);
  if (!st.ok()) return CheckRefusal(st);
  Check(!req.device().empty());
  CheckDbText(req.device());
  if (!req.folder().empty()) CheckAbsolute(req.folder());
  co::RetentionPolicy p = co::DefaultRetentionPolicy();
  st = co::ApplyRetentionUpdate(req, &p);
  if (!st.ok()) return CheckRefusal(st);
  Check(p.keep_all_days <= 36500 && p.deleted_keep_days <= 36500);
  Check(p.keep_daily <= 100000 && p.keep_weekly <= 100000 && p.keep_monthly <= 100000 &&
        p.keep_yearly <= 100000);
  (void)co::DescribeRetentionPolicy(p);
  // The pure decision over a few versions must keep the current one.
  co::FileFacts f;
  const int64_t now = 1700000000000;
  for (int i = 0; i < 6; ++i) {
    f.versions.push_back({i + 1, now - int64_t{i} * 40 * 86400000, i % 2 == 0});
  }
  f.current_version_id = 1;
  co::RetentionDecision r = co::DecideRetention(p, f, now);
  Check(r.keep.size() + r.remove.size() == f.versions.size());
  Check(!r.keep.empty() && r.keep.front() == 1);
}

void Prune(const uint8_t* d, size_t n) {
  v1::PruneRequest req;
  (void)Parse(d, n, &req);  // one bool
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t* d = data + 1;
  const size_t n = size - 1;
  switch (data[0] % 14) {
    case 0:
      CreateDestination(d, n);
      break;
    case 1:
      BindFolder(d, n);
      break;
    case 2:
      ListJobs(d, n);
      break;
    case 3:
      SelectJobs(d, n);
      break;
    case 4:
      SetJobPriority(d, n);
      break;
    case 5:
      CreateEnrollToken(d, n);
      break;
    case 6:
      ListVersions(d, n);
      break;
    case 7:
      ReadChunks(d, n);
      break;
    case 8:
      Verify(d, n);
      break;
    case 9:
      Revoke(d, n);
      break;
    case 10:
      GetRetention(d, n);
      break;
    case 11:
      SetRetention(d, n);
      break;
    case 12:
      Prune(d, n);
      break;
    case 13:
      SetWorkerScope(d, n);
      break;
  }
  return 0;
}
