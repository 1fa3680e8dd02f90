// WorkerService request validation: the first byte picks the request type,
// the rest is parsed as that message the way the gRPC server parses it, and
// the coordinator's own checks run on it (coordinator/validate.h, the
// enrollment token and CSR parsers). Refusals must be INVALID_ARGUMENT with
// a printable message; what is accepted must be storable (text without NUL,
// valid UTF-8, bounded lengths).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/crypto/pki.h"
#include "coordinator/store/chunk_list_format.h"
#include "coordinator/validate.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using shoebox::fuzz::Check;
using shoebox::fuzz::CheckDbText;
using shoebox::fuzz::CheckRefusal;
using shoebox::fuzz::Parse;
namespace v1 = shoebox::v1;
namespace co = shoebox::coordinator;

void CheckLease(int64_t job_id, const std::string& token) {
  Check(job_id > 0);
  Check(!token.empty() && token.size() <= 128);
  CheckDbText(token);
}

void Enroll(const uint8_t* d, size_t n) {
  v1::WorkerEnrollRequest req;
  if (!Parse(d, n, &req)) return;
  absl::StatusOr<shoebox::EnrollToken> t = shoebox::ParseEnrollToken(req.token());
  if (t.ok()) {
    Check(t->secret.size() == 64 && t->ca_fingerprint.size() == 64);
  } else {
    CheckRefusal(t.status());
  }
  absl::StatusOr<std::string> pub = shoebox::CsrPublicKeyPem(req.csr_pem());
  if (!pub.ok()) CheckRefusal(pub.status());
}

void Register(const uint8_t* d, size_t n) {
  v1::RegisterWorkerRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateRegisterWorker(req);
  if (!st.ok()) return CheckRefusal(st);
  Check(req.kinds_size() > 0);
  for (const std::string& k : req.kinds()) {
    Check(!k.empty() && k.size() <= 64);
    CheckDbText(k);
  }
  for (const std::string& dst : req.destinations()) {
    Check(!dst.empty());
    CheckDbText(dst);
  }
  CheckDbText(req.version());
}

void Lease(const uint8_t* d, size_t n) {
  v1::LeaseJobsRequest req;
  (void)Parse(d, n, &req);  // numbers only; JobQueue::Lease clamps them
}

void Renew(const uint8_t* d, size_t n) {
  v1::RenewLeaseRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateLease(req.job_id(), req.lease_token());
  if (!st.ok()) return CheckRefusal(st);
  CheckLease(req.job_id(), req.lease_token());
}

void Complete(const uint8_t* d, size_t n) {
  v1::CompleteJobRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateCompleteJob(req);
  if (!st.ok()) return CheckRefusal(st);
  CheckLease(req.job_id(), req.lease_token());
  // remote_ref is bytea since issue 18 (a non-UTF-8 name is a valid
  // reference); it is refused with a NUL all the same.
  Check(req.remote_ref().find('\0') == std::string::npos);
  CheckDbText(req.remote_checksum());
}

void Fail(const uint8_t* d, size_t n) {
  v1::FailJobRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateLease(req.job_id(), req.lease_token());
  if (!st.ok()) return CheckRefusal(st);
  CheckLease(req.job_id(), req.lease_token());
  // The text JobQueue::Fail writes to jobs.last_error.
  const std::string text = co::FailJobErrorText(req.error());
  Check(!text.empty() && text.size() <= co::kMaxJobErrorBytes);
  CheckDbText(text);
  if (req.error().size() <= co::kMaxJobErrorBytes && req.error().find('\0') == std::string::npos &&
      !req.error().empty() && shoebox::IsValidUtf8(req.error())) {
    Check(text == req.error());  // short, clean texts are kept as they are
  }
  // Invalid UTF-8 (a quoted non-UTF-8 name, issue 18) is written as \xNN,
  // never dropped: every byte of it is still named in the text.
  if (!shoebox::IsValidUtf8(req.error()) && req.error().size() * 4 <= co::kMaxJobErrorBytes &&
      req.error().find('\0') == std::string::npos) {
    Check(text.find("\\x") != std::string::npos);
  }
}

void ReadChunks(const uint8_t* d, size_t n) {
  v1::WorkerReadChunksRequest req;
  if (!Parse(d, n, &req)) return;
  constexpr int kMax = 8;
  absl::Status st = co::ValidateChunkIds(req.ids(), kMax);
  if (!st.ok()) return CheckRefusal(st);
  Check(req.ids_size() <= kMax);
  for (const std::string& id : req.ids()) Check(id.size() == 32);
  // The lease check (issue 17): is each ID one of the records of a leased
  // version's chunk list? The input bytes stand in for a stored list (the
  // catalog's own, or damage); ChunkListContains must agree with decoding
  // the list, so an ID found at a misaligned offset never passes.
  const std::string_view list(reinterpret_cast<const char*>(d), n);
  absl::StatusOr<std::vector<co::ChunkRef>> decoded = co::DecodeChunkList(list);
  for (const std::string& id : req.ids()) {
    absl::StatusOr<bool> in = co::ChunkListContains(list, id);
    Check(in.ok() == decoded.ok());
    if (!in.ok()) {
      Check(in.status().code() == absl::StatusCode::kDataLoss);
      continue;
    }
    bool naive = false;
    for (const co::ChunkRef& c : *decoded) naive = naive || c.id == id;
    Check(*in == naive);
  }
}

void SaveResume(const uint8_t* d, size_t n) {
  v1::SaveResumeStateRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateSaveResumeState(req);
  if (!st.ok()) return CheckRefusal(st);
  CheckLease(req.job_id(), req.lease_token());
  Check(req.resume_state().size() <= co::kMaxResumeStateBytes);  // bytea: any bytes
}

void UpdateCredentials(const uint8_t* d, size_t n) {
  v1::UpdateDestinationCredentialsRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateUpdateDestinationCredentials(req);
  if (!st.ok()) return CheckRefusal(st);
  CheckLease(req.job_id(), req.lease_token());
  Check(req.destination_id() > 0);
  Check(!req.sealed_credentials().empty() &&
        req.sealed_credentials().size() <= co::kMaxSealedCredentialsBytes);
}

// Issue 20, the album directory: what is accepted is a lease, a
// destination ID and a bytea key (and id) within kMaxAlbumBytes.
template <typename Req>
void CheckAlbumRequest(const Req& req) {
  CheckLease(req.job_id(), req.lease_token());
  Check(req.destination_id() > 0);
  Check(!req.album_key().empty() && req.album_key().size() <= co::kMaxAlbumBytes);
  Check(req.remote_id().size() <= co::kMaxAlbumBytes);  // bytea: any bytes
}

void LookupAlbum(const uint8_t* d, size_t n) {
  v1::LookupAlbumRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateLookupAlbum(req);
  if (!st.ok()) return CheckRefusal(st);
  CheckLease(req.job_id(), req.lease_token());
  Check(req.destination_id() > 0);
  Check(!req.album_key().empty() && req.album_key().size() <= co::kMaxAlbumBytes);
}

void RecordAlbum(const uint8_t* d, size_t n) {
  v1::RecordAlbumRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateRecordAlbum(req);
  if (!st.ok()) return CheckRefusal(st);
  CheckAlbumRequest(req);
  Check(!req.remote_id().empty());
}

void ForgetAlbum(const uint8_t* d, size_t n) {
  v1::ForgetAlbumRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateForgetAlbum(req);
  if (!st.ok()) return CheckRefusal(st);
  CheckAlbumRequest(req);  // an empty id: forget whatever the key maps to
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t* d = data + 1;
  const size_t n = size - 1;
  // Bytes 0..242 pick as they did before the album requests (243 = 27 * 9),
  // so the kept corpus keeps its meaning; 243..255 pick the album requests.
  const unsigned pick = data[0] < 243 ? data[0] % 9 : 9 + (data[0] - 243) % 3;
  switch (pick) {
    case 0:
      Enroll(d, n);
      break;
    case 1:
      Register(d, n);
      break;
    case 2:
      Lease(d, n);
      break;
    case 3:
      Renew(d, n);
      break;
    case 4:
      Complete(d, n);
      break;
    case 5:
      Fail(d, n);
      break;
    case 6:
      ReadChunks(d, n);
      break;
    case 7:
      SaveResume(d, n);
      break;
    case 8:
      UpdateCredentials(d, n);
      break;
    case 9:
      LookupAlbum(d, n);
      break;
    case 10:
      RecordAlbum(d, n);
      break;
    case 11:
      ForgetAlbum(d, n);
      break;
  }
  return 0;
}
