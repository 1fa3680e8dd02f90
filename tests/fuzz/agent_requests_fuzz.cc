// AgentService request validation: the first byte picks the request type,
// the rest is parsed as that message the way the gRPC server parses it, and
// the coordinator's own checks (coordinator/validate.h, the enrollment
// token and CSR parsers) run on it. Refusals must be INVALID_ARGUMENT with a
// printable message; whatever is accepted must satisfy what the catalog
// relies on (paths that cannot escape, exact ID and hash lengths, chunk
// sizes that add up, text PostgreSQL can store).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/crypto/pki.h"
#include "coordinator/validate.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using shoebox::fuzz::Check;
using shoebox::fuzz::CheckDbText;
using shoebox::fuzz::CheckRefusal;
using shoebox::fuzz::Parse;
namespace v1 = shoebox::v1;
namespace co = shoebox::coordinator;

void CheckRelative(const std::string& p) {
  Check(!p.empty() && p.size() <= 4096 && p.front() != '/' && p.find('\0') == std::string::npos);
  for (absl::string_view c : absl::StrSplit(p, '/')) {
    Check(!c.empty() && c != "." && c != ".." && c.size() <= 255);
  }
}

void CheckAbsolute(const std::string& p) {
  Check(!p.empty() && p.size() <= 4096 && p.front() == '/' && p.find('\0') == std::string::npos);
}

const shoebox::HmacSha256& IdHmac() {
  static const shoebox::HmacSha256 h([] {
    static uint8_t k[32];
    for (int i = 0; i < 32; ++i) k[i] = static_cast<uint8_t>(i * 13 + 5);
    return shoebox::ByteSpan(k, 32);
  }());
  return h;
}

void Enroll(const uint8_t* d, size_t n) {
  v1::EnrollRequest req;
  if (!Parse(d, n, &req)) return;
  // What Enrollment::Enroll checks before it consumes the token.
  absl::StatusOr<shoebox::EnrollToken> t = shoebox::ParseEnrollToken(req.token());
  if (t.ok()) {
    Check(t->secret.size() == 64 && t->ca_fingerprint.size() == 64);
    absl::StatusOr<shoebox::EnrollToken> back =
        shoebox::ParseEnrollToken(shoebox::FormatEnrollToken(*t));
    Check(back.ok() && back->secret == t->secret && back->ca_fingerprint == t->ca_fingerprint);
  } else {
    CheckRefusal(t.status());
  }
  absl::StatusOr<std::string> pub = shoebox::CsrPublicKeyPem(req.csr_pem());
  if (!pub.ok()) CheckRefusal(pub.status());
}

void Hello(const uint8_t* d, size_t n) {
  v1::HelloRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateHello(req);
  if (!st.ok()) return CheckRefusal(st);
  for (const std::string& f : req.folders()) CheckAbsolute(f);
  Check(req.hostname().size() <= 255);
  // hostname is bytes since issue 18; the catalog stores Utf8Text of it.
  Check(req.hostname().find('\0') == std::string::npos);
  CheckDbText(shoebox::Utf8Text(req.hostname()));
  CheckDbText(req.agent_version());
}

void ReportFiles(const uint8_t* d, size_t n) {
  v1::ReportFilesRequest req;
  if (!Parse(d, n, &req)) return;
  constexpr uint32_t kBatch = 16;  // small, so that the fuzzer reaches it
  absl::Status st = co::ValidateReportBatch(req, kBatch);
  if (!st.ok()) {
    Check(static_cast<uint32_t>(req.files_size()) > kBatch);
    return CheckRefusal(st);
  }
  for (int i = 0; i < req.files_size(); ++i) {
    const v1::FileReport& f = req.files(i);
    st = co::ValidateFileReport(f, i);
    if (!st.ok()) {
      CheckRefusal(st);
      continue;
    }
    CheckRelative(f.path());
    if (f.op() == v1::FileReport::OP_DELETE) continue;
    Check(f.op() == v1::FileReport::OP_UPSERT);
    Check(f.sha256().size() == 32);
    uint64_t sum = 0;
    for (const auto& c : f.chunks()) {
      Check(c.id().size() == 32);
      Check(c.size() >= 1 && c.size() <= co::kMaxChunkRefSize);
      sum += c.size();
    }
    Check(sum == f.size());
  }
}

void PutChunk(const uint8_t* d, size_t n) {
  v1::PutChunkRequest req;
  if (!Parse(d, n, &req)) return;
  shoebox::ChunkId id;
  absl::Status st = co::CheckChunkUpload(req, IdHmac(), 4096, &id);
  if (!st.ok()) return CheckRefusal(st);
  Check(shoebox::DigestToString(id) == req.id());
  Check(!req.data().empty() && req.data().size() <= 4096);
  Check(IdHmac().Compute(req.data()) == id);
}

void ListVersions(const uint8_t* d, size_t n) {
  v1::ListVersionsRequest req;
  if (!Parse(d, n, &req)) return;
  absl::Status st = co::ValidateVersionFilter(req);
  if (!st.ok()) return CheckRefusal(st);
  if (!req.folder().empty()) CheckAbsolute(req.folder());
  if (!req.path().empty()) CheckRelative(req.path());
}

void ReadChunks(const uint8_t* d, size_t n) {
  v1::ReadChunksRequest req;
  if (!Parse(d, n, &req)) return;
  constexpr int kMax = 8;
  absl::Status st = co::ValidateChunkIds(req.ids(), kMax);
  if (!st.ok()) return CheckRefusal(st);
  Check(req.ids_size() <= kMax);
  for (const std::string& id : req.ids()) {
    shoebox::ChunkId c;
    Check(shoebox::DigestFromString(id, &c));
  }
}

void Heartbeat(const uint8_t* d, size_t n) {
  v1::HeartbeatRequest req;
  (void)Parse(d, n, &req);  // numbers only; stored as they are
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t* d = data + 1;
  const size_t n = size - 1;
  switch (data[0] % 7) {
    case 0:
      Enroll(d, n);
      break;
    case 1:
      Hello(d, n);
      break;
    case 2:
      ReportFiles(d, n);
      break;
    case 3:
      PutChunk(d, n);
      break;
    case 4:
      ListVersions(d, n);
      break;
    case 5:
      ReadChunks(d, n);
      break;
    case 6:
      Heartbeat(d, n);
      break;
  }
  return 0;
}
