#include "coordinator/validate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <initializer_list>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bytes.h"
#include "common/destination_kinds.h"
#include "common/paths.h"
#include "common/status.h"

namespace shoebox::coordinator {

namespace {

bool ValidDestinationName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

}  // namespace

absl::Status CheckNoNul(std::string_view value, std::string_view field) {
  if (value.find('\0') == std::string_view::npos) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(AbslView(field), ": contains a NUL byte"));
}

// ---- AgentService -------------------------------------------------------

absl::Status ValidateHello(const shoebox::v1::HelloRequest& req) {
  if (static_cast<uint32_t>(req.folders_size()) > kMaxHelloFolders) {
    return absl::InvalidArgumentError(
        absl::StrCat("folders: ", req.folders_size(), " folders exceed the limit of ",
                     kMaxHelloFolders, " per device; back up a common parent folder instead"));
  }
  for (int i = 0; i < req.folders_size(); ++i) {
    RETURN_IF_ERROR(ValidateAbsolutePath(req.folders(i), absl::StrCat("folders[", i, "]")));
  }
  if (req.hostname().size() > 255) {
    return absl::InvalidArgumentError("hostname: longer than 255 bytes");
  }
  if (req.agent_version().size() > 64) {
    return absl::InvalidArgumentError("agent_version: longer than 64 bytes");
  }
  RETURN_IF_ERROR(CheckNoNul(req.hostname(), "hostname"));
  RETURN_IF_ERROR(CheckNoNul(req.agent_version(), "agent_version"));
  for (const auto& [value, field] :
       {std::pair{&req.hostname(), "hostname"}, std::pair{&req.agent_version(), "agent_version"}}) {
    for (char ch : *value) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7f) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": contains a control character (byte ", c, ")"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateReportBatch(const shoebox::v1::ReportFilesRequest& req,
                                 uint32_t max_report_batch) {
  if (static_cast<uint32_t>(req.files_size()) > max_report_batch) {
    return absl::InvalidArgumentError(
        absl::StrCat("files: ", req.files_size(), " entries exceed max_report_batch (",
                     max_report_batch, "); split the report into smaller batches"));
  }
  uint64_t refs = 0;
  for (const auto& f : req.files()) refs += static_cast<uint64_t>(f.chunks_size());
  if (refs > kMaxReportChunkRefs) {
    return absl::InvalidArgumentError(
        absl::StrCat("files: ", refs, " chunk references in one call exceed the limit of ",
                     kMaxReportChunkRefs, "; report fewer files per call (agent.report_batch)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateFileReport(const shoebox::v1::FileReport& f, size_t i) {
  const std::string at = absl::StrCat("files[", i, "]");
  RETURN_IF_ERROR(ValidateRelativePath(f.path(), at + ".path"));
  if (f.op() == shoebox::v1::FileReport::OP_DELETE) return absl::OkStatus();
  if (f.op() != shoebox::v1::FileReport::OP_UPSERT) {
    return absl::InvalidArgumentError(at + ".op: must be OP_UPSERT or OP_DELETE");
  }
  if (f.sha256().size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(at, ".sha256: must be 32 bytes, got ", f.sha256().size()));
  }
  uint64_t sum = 0;
  for (int j = 0; j < f.chunks_size(); ++j) {
    const auto& c = f.chunks(j);
    if (c.id().size() != 32) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ".chunks[", j, "].id: must be 32 bytes, got ", c.id().size()));
    }
    if (c.size() == 0 || c.size() > kMaxChunkRefSize) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ".chunks[", j, "].size: ", c.size(), " is outside 1..16777216"));
    }
    sum += c.size();
  }
  if (sum != f.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(at, ".chunks: chunk sizes add up to ", sum, " bytes but size is ", f.size()));
  }
  return absl::OkStatus();
}

absl::Status ValidateVersionFilter(const shoebox::v1::ListVersionsRequest& req) {
  if (!req.folder().empty()) RETURN_IF_ERROR(ValidateAbsolutePath(req.folder(), "folder"));
  if (!req.path().empty()) RETURN_IF_ERROR(ValidateRelativePath(req.path(), "path"));
  return absl::OkStatus();
}

absl::Status ValidateChunkIds(const google::protobuf::RepeatedPtrField<std::string>& ids,
                              int max_ids) {
  if (ids.size() > max_ids) {
    return absl::InvalidArgumentError(
        absl::StrCat("ids: ", ids.size(), " IDs exceed the limit of ", max_ids, " per call"));
  }
  for (int i = 0; i < ids.size(); ++i) {
    if (ids[i].size() != 32) {
      return absl::InvalidArgumentError(absl::StrCat("ids[", i, "]: must be 32 bytes"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckChunkUpload(const shoebox::v1::PutChunkRequest& req, const HmacSha256& id_hmac,
                              uint32_t max_chunk_size, ChunkId* id) {
  if (!DigestFromString(req.id(), id)) {
    return absl::InvalidArgumentError(absl::StrCat("id: must be 32 bytes, got ", req.id().size()));
  }
  if (req.data().empty() || req.data().size() > max_chunk_size) {
    return absl::InvalidArgumentError(absl::StrCat("data: chunk ", ToHex(req.id()), " has ",
                                                   req.data().size(),
                                                   " bytes; chunks must have 1..", max_chunk_size));
  }
  if (id_hmac.Compute(req.data()) != *id) {
    return absl::InvalidArgumentError(
        absl::StrCat("data: the bytes of chunk ", ToHex(req.id()),
                     " do not match its ID (HMAC-SHA256 with the chunk-ID key); re-read the file"));
  }
  return absl::OkStatus();
}

// ---- WorkerService ------------------------------------------------------

absl::Status ValidateRegisterWorker(const shoebox::v1::RegisterWorkerRequest& req) {
  if (req.kinds().empty()) {
    return absl::InvalidArgumentError(
        "kinds: list the destination kinds this worker has connectors for");
  }
  for (int i = 0; i < req.kinds_size(); ++i) {
    if (req.kinds(i).empty() || req.kinds(i).size() > 64) {
      return absl::InvalidArgumentError(absl::StrCat("kinds[", i, "]: must be 1..64 characters"));
    }
    RETURN_IF_ERROR(CheckNoNul(req.kinds(i), absl::StrCat("kinds[", i, "]")));
  }
  for (int i = 0; i < req.destinations_size(); ++i) {
    if (req.destinations(i).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("destinations[", i, "]: empty name"));
    }
    RETURN_IF_ERROR(CheckNoNul(req.destinations(i), absl::StrCat("destinations[", i, "]")));
  }
  return CheckNoNul(req.version(), "version");
}

absl::Status ValidateSetWorkerScope(const shoebox::v1::SetWorkerScopeRequest& req) {
  const std::string& name = req.worker();
  if (name.empty() || name.size() > 128 ||
      name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789-_.@") != std::string::npos) {
    return absl::InvalidArgumentError(
        "worker: 1-128 characters of letters, digits, '-', '_', '.', '@'");
  }
  if (req.kinds_size() > 64) return absl::InvalidArgumentError("kinds: at most 64");
  for (int i = 0; i < req.kinds_size(); ++i) {
    if (req.kinds(i).empty() || req.kinds(i).size() > 64) {
      return absl::InvalidArgumentError(absl::StrCat("kinds[", i, "]: must be 1..64 characters"));
    }
    RETURN_IF_ERROR(CheckNoNul(req.kinds(i), absl::StrCat("kinds[", i, "]")));
  }
  if (req.destinations_size() > 1000) {
    return absl::InvalidArgumentError("destinations: at most 1000");
  }
  for (int i = 0; i < req.destinations_size(); ++i) {
    if (req.destinations(i).empty() || req.destinations(i).size() > 256) {
      return absl::InvalidArgumentError(
          absl::StrCat("destinations[", i, "]: must be 1..256 characters"));
    }
    RETURN_IF_ERROR(CheckNoNul(req.destinations(i), absl::StrCat("destinations[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status ValidateLease(int64_t job_id, const std::string& token) {
  if (job_id <= 0) return absl::InvalidArgumentError("job_id: must be positive");
  if (token.empty() || token.size() > 128 || token.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("lease_token: give the token LeaseJobs returned");
  }
  return absl::OkStatus();
}

absl::Status ValidateCompleteJob(const shoebox::v1::CompleteJobRequest& req) {
  RETURN_IF_ERROR(ValidateLease(req.job_id(), req.lease_token()));
  RETURN_IF_ERROR(CheckNoNul(req.remote_ref(), "remote_ref"));
  return CheckNoNul(req.remote_checksum(), "remote_checksum");
}

absl::Status ValidateSaveResumeState(const shoebox::v1::SaveResumeStateRequest& req) {
  RETURN_IF_ERROR(ValidateLease(req.job_id(), req.lease_token()));
  if (req.resume_state().size() > kMaxResumeStateBytes) {
    return absl::InvalidArgumentError(absl::StrCat("job ", req.job_id(), ": resume state of ",
                                                   req.resume_state().size(),
                                                   " bytes is larger than 1 MiB"));
  }
  return absl::OkStatus();
}

absl::Status ValidateUpdateDestinationCredentials(
    const shoebox::v1::UpdateDestinationCredentialsRequest& req) {
  RETURN_IF_ERROR(ValidateLease(req.job_id(), req.lease_token()));
  if (req.destination_id() <= 0 || req.sealed_credentials().empty() ||
      req.sealed_credentials().size() > kMaxSealedCredentialsBytes) {
    return absl::InvalidArgumentError(
        "UpdateDestinationCredentials: a destination ID and 1 byte to 64 KiB of sealed "
        "credentials are required");
  }
  return absl::OkStatus();
}

namespace {

absl::Status ValidateAlbumKey(int64_t job_id, const std::string& token, int64_t destination_id,
                              const std::string& key) {
  RETURN_IF_ERROR(ValidateLease(job_id, token));
  if (destination_id <= 0) {
    return absl::InvalidArgumentError(
        "destination_id: give the ID of the leased job's destination (Job.destination.id)");
  }
  if (key.empty() || key.size() > kMaxAlbumBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("album_key: 1 to ", kMaxAlbumBytes, " bytes are required, not ", key.size()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateLookupAlbum(const shoebox::v1::LookupAlbumRequest& req) {
  return ValidateAlbumKey(req.job_id(), req.lease_token(), req.destination_id(), req.album_key());
}

absl::Status ValidateRecordAlbum(const shoebox::v1::RecordAlbumRequest& req) {
  RETURN_IF_ERROR(
      ValidateAlbumKey(req.job_id(), req.lease_token(), req.destination_id(), req.album_key()));
  if (req.remote_id().empty() || req.remote_id().size() > kMaxAlbumBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "remote_id: 1 to ", kMaxAlbumBytes, " bytes are required, not ", req.remote_id().size()));
  }
  return absl::OkStatus();
}

absl::Status ValidateForgetAlbum(const shoebox::v1::ForgetAlbumRequest& req) {
  RETURN_IF_ERROR(
      ValidateAlbumKey(req.job_id(), req.lease_token(), req.destination_id(), req.album_key()));
  if (req.remote_id().size() > kMaxAlbumBytes) {
    return absl::InvalidArgumentError(absl::StrCat("remote_id: at most ", kMaxAlbumBytes,
                                                   " bytes, not ", req.remote_id().size()));
  }
  return absl::OkStatus();
}

std::string FailJobErrorText(const std::string& error) {
  if (error.empty()) return "(worker gave no error text)";
  // FailJobRequest.error is bytes (issue 18): a worker may quote a
  // non-UTF-8 name; jobs.last_error is UTF-8 text, so invalid bytes become
  // \xNN (common/bytes.h, Utf8Text) before the cut.
  std::string out(Utf8Prefix(Utf8Text(error), kMaxJobErrorBytes));
  out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
  if (out.empty()) return "(worker gave no error text)";
  return out;
}

// ---- AdminService -------------------------------------------------------

absl::Status ValidateCreateDestination(const shoebox::v1::CreateDestinationRequest& req) {
  if (!ValidDestinationName(req.name())) {
    return absl::InvalidArgumentError(
        "name: 1 to 64 characters of letters, digits, '.', '-' and '_'");
  }
  if (req.kind().empty() || req.kind().size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: name the connector kind (", DestinationKindNames(), ")"));
  }
  RETURN_IF_ERROR(CheckNoNul(req.kind(), "kind"));
  RETURN_IF_ERROR(CheckNoNul(req.layout(), "layout"));
  ASSIGN_OR_RETURN(nlohmann::json settings,
                   ParseSettingsJson(req.settings_json(), "settings_json"));
  return ValidateDestinationConfig(req.kind(), settings, !req.sealed_credentials().empty());
}

absl::Status ValidateDestinationName(const std::string& name, const char* field) {
  if (ValidDestinationName(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": 1 to 64 characters of letters, digits, '.', '-' and '_'"));
}

absl::Status ValidateDestinationLayout(const std::string& layout) {
  if (layout.size() > 1024) return absl::InvalidArgumentError("layout: at most 1024 bytes");
  return CheckNoNul(layout, "layout");
}

absl::Status ValidateListBindings(const shoebox::v1::ListBindingsRequest& req) {
  RETURN_IF_ERROR(CheckNoNul(req.device(), "device"));
  if (!req.destination().empty()) return ValidateDestinationName(req.destination(), "destination");
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> ParseSettingsJson(const std::string& text, const char* field) {
  // nlohmann's parser stops at a NUL as at the end of input, so "{}\0junk"
  // would pass as "{}" (and libpq would store only "{}").
  RETURN_IF_ERROR(CheckNoNul(text, field));
  if (text.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be a JSON object"));
  }
  return j;
}

absl::Status ValidateDestinationConfig(const std::string& kind, const nlohmann::json& settings,
                                       bool has_credentials) {
  ASSIGN_OR_RETURN(const KindSpec* spec, LookUpDestinationKind(kind));
  RETURN_IF_ERROR(ValidateDestinationSettings(kind, settings));
  if (KindRequiresSecrets(*spec) && !has_credentials) {
    std::vector<std::string> keys;
    for (const SettingSpec& s : spec->keys)
      if (s.secret && s.required) keys.push_back(s.key);
    return absl::InvalidArgumentError(
        absl::StrCat("sealed_credentials: kind ", kind, " needs credentials (",
                     absl::StrJoin(keys, ", "), "); pass them with --secret"));
  }
  return absl::OkStatus();
}

absl::Status ValidateBindFolder(const shoebox::v1::BindFolderRequest& req) {
  if (req.device().empty()) return absl::InvalidArgumentError("device: name the device");
  if (req.destination().empty()) {
    return absl::InvalidArgumentError("destination: name the destination");
  }
  RETURN_IF_ERROR(CheckNoNul(req.device(), "device"));
  RETURN_IF_ERROR(CheckNoNul(req.destination(), "destination"));
  if (!req.folder().empty()) RETURN_IF_ERROR(ValidateAbsolutePath(req.folder(), "folder"));
  return absl::OkStatus();
}

absl::Status ValidateJobStates(const google::protobuf::RepeatedField<int>& states) {
  for (int i = 0; i < states.size(); ++i) {
    if (!shoebox::v1::JobState_IsValid(states[i]) ||
        states[i] == shoebox::v1::JOB_STATE_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("states[", i, "]: unknown job state ", states[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateJobFilter(const google::protobuf::RepeatedField<int>& states,
                               const std::string& destination) {
  RETURN_IF_ERROR(ValidateJobStates(states));
  return CheckNoNul(destination, "destination");
}

absl::Status ValidateCancelJobs(const shoebox::v1::JobSelector& sel) {
  RETURN_IF_ERROR(ValidateJobFilter(sel.states(), sel.destination()));
  if (sel.job_ids().empty() && sel.destination().empty() && sel.states().empty()) {
    return absl::InvalidArgumentError(
        "job_ids: give job IDs, a destination or states; refusing to cancel every job");
  }
  return absl::OkStatus();
}

absl::Status ValidateSetJobPriority(const shoebox::v1::SetJobPriorityRequest& req) {
  const shoebox::v1::JobSelector& sel = req.selector();
  RETURN_IF_ERROR(ValidateJobFilter(sel.states(), sel.destination()));
  if (sel.job_ids().empty() && sel.destination().empty() && sel.states().empty()) {
    return absl::InvalidArgumentError(
        "selector: give job IDs, a destination or states to choose the jobs to reprioritise");
  }
  if (req.priority() < -1000 || req.priority() > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority: ", req.priority(), " is outside -1000..1000"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCreateEnrollToken(const shoebox::v1::CreateEnrollTokenRequest& req) {
  if (req.device().empty() == req.worker().empty()) {
    return absl::InvalidArgumentError("device: give exactly one of device and worker");
  }
  const std::string& name = req.device().empty() ? req.worker() : req.device();
  if (name.size() > 128 ||
      name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789-_.@") != std::string::npos) {
    return absl::InvalidArgumentError(
        "name: 1-128 characters of letters, digits, '-', '_', '.', '@'");
  }
  if (req.ttl_seconds() > 30 * 86400) {
    return absl::InvalidArgumentError("ttl_seconds: at most 30 days (2592000)");
  }
  if (req.worker_kinds_size() + req.worker_destinations_size() > 0) {
    if (req.worker().empty()) {
      return absl::InvalidArgumentError(
          "worker_kinds: a scope is for worker tokens only; drop it or give worker");
    }
    shoebox::v1::SetWorkerScopeRequest scope;
    scope.set_worker(req.worker());
    *scope.mutable_kinds() = req.worker_kinds();
    *scope.mutable_destinations() = req.worker_destinations();
    RETURN_IF_ERROR(ValidateSetWorkerScope(scope));
  }
  return absl::OkStatus();
}

absl::Status ValidateRevoke(const shoebox::v1::RevokeRequest& req) {
  if (!req.device().empty() + !req.worker().empty() + !req.serial().empty() != 1) {
    return absl::InvalidArgumentError(
        "device: give exactly one of device, worker and serial to revoke");
  }
  if (!req.serial().empty() &&
      (req.serial().size() > 64 ||
       req.serial().find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)) {
    return absl::InvalidArgumentError(
        "serial: a certificate serial is up to 64 hex digits, as `shoebox certs` lists it");
  }
  RETURN_IF_ERROR(CheckNoNul(req.device(), "device"));
  return CheckNoNul(req.worker(), "worker");
}

absl::Status ValidateVerifyRequest(const shoebox::v1::VerifyRequest& req) {
  if (req.scrub_percent() < 0 || req.scrub_percent() > 100 || std::isnan(req.scrub_percent())) {
    return absl::InvalidArgumentError("scrub_percent: must be between 0 and 100");
  }
  if (req.test_restore() > 10000) {
    return absl::InvalidArgumentError("test_restore: at most 10000 files per run");
  }
  return CheckNoNul(req.destination(), "destination");
}

absl::Status ValidateGetRetention(const shoebox::v1::GetRetentionRequest& req) {
  RETURN_IF_ERROR(CheckNoNul(req.device(), "device"));
  if (!req.folder().empty()) {
    if (req.device().empty()) return absl::InvalidArgumentError("device: name the folder's device");
    RETURN_IF_ERROR(ValidateAbsolutePath(req.folder(), "folder"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSetRetention(const shoebox::v1::SetRetentionRequest& req) {
  if (req.device().empty()) return absl::InvalidArgumentError("device: name the device");
  RETURN_IF_ERROR(CheckNoNul(req.device(), "device"));
  if (!req.folder().empty()) RETURN_IF_ERROR(ValidateAbsolutePath(req.folder(), "folder"));
  return absl::OkStatus();
}

absl::Status ApplyRetentionUpdate(const shoebox::v1::SetRetentionRequest& req, RetentionPolicy* p) {
  if (req.has_keep_all_days()) p->keep_all_days = req.keep_all_days();
  if (req.has_keep_daily()) p->keep_daily = req.keep_daily();
  if (req.has_keep_weekly()) p->keep_weekly = req.keep_weekly();
  if (req.has_keep_monthly()) p->keep_monthly = req.keep_monthly();
  if (req.has_keep_yearly()) p->keep_yearly = req.keep_yearly();
  if (req.has_deleted_keep_days()) p->deleted_keep_days = req.deleted_keep_days();
  if (req.has_pass_through()) p->pass_through = req.pass_through();
  return ValidateRetentionPolicy(*p);
}

absl::Status ValidateImportHeader(const shoebox::v1::ImportHeader& h) {
  const std::string& name = h.source();
  if (name.empty() || name.size() > 128 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789-_.@") != std::string::npos) {
    return absl::InvalidArgumentError(
        "header.source: 1-128 characters of letters, digits, '-', '_', '.', '@' (the device "
        "the imported items belong to, e.g. \"takeout\")");
  }
  return absl::OkStatus();
}

absl::Status ValidateImportItem(const shoebox::v1::ImportItem& item, uint64_t n) {
  const std::string at = absl::StrCat("items[", n, "]");
  RETURN_IF_ERROR(ValidateRelativePath(item.path(), at + ".path"));
  if (item.size() > kMaxImportItemSize) {
    return absl::InvalidArgumentError(absl::StrCat(at, ".size: ", item.size(),
                                                   " bytes exceed the limit of ",
                                                   kMaxImportItemSize, " per item"));
  }
  if (item.sha256().size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(at, ".sha256: must be 32 bytes, got ", item.sha256().size()));
  }
  if (item.albums_size() > kMaxImportAlbums) {
    return absl::InvalidArgumentError(absl::StrCat(at, ".albums: ", item.albums_size(),
                                                   " albums exceed the limit of ", kMaxImportAlbums,
                                                   " per item"));
  }
  for (int i = 0; i < item.albums_size(); ++i) {
    const size_t len = item.albums(i).size();
    if (len == 0 || len > kMaxAlbumBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ".albums[", i, "]: ", len, " bytes is outside 1..", kMaxAlbumBytes));
    }
  }
  return absl::OkStatus();
}

// ---- web dashboard accounts ------------------------------------------------

namespace {

bool HasControlChar(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

absl::Status ValidateWebAccountName(const std::string& name, const char* field) {
  if (name.empty() || name.size() > 64 ||
      name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789._-") != std::string::npos ||
      name[0] == '.' || name[0] == '-' || name[0] == '_') {
    return absl::InvalidArgumentError(absl::StrCat(
        field,
        ": a web account name is 1-64 letters, digits, '.', '_' or '-', starting with a "
        "letter or digit"));
  }
  return absl::OkStatus();
}

absl::Status ValidateWebPasswordHash(const std::string& hash) {
  if (hash.rfind("$argon2id$", 0) != 0 || hash.size() > 256) {
    return absl::InvalidArgumentError(
        "password_hash: must be an Argon2id hash in PHC form (\"$argon2id$...\", at most 256 "
        "bytes); the web process hashes, the coordinator never takes a password");
  }
  for (unsigned char c : hash) {
    if (c <= 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError("password_hash: only printable ASCII");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCreateWebAccount(const shoebox::v1::CreateWebAccountRequest& req) {
  RETURN_IF_ERROR(ValidateWebAccountName(req.name()));
  if (req.role() != "admin" && req.role() != "member") {
    return absl::InvalidArgumentError("role: must be \"admin\" or \"member\"");
  }
  RETURN_IF_ERROR(ValidateWebPasswordHash(req.password_hash()));
  if (req.role() == "admin" && req.devices_size() > 0) {
    return absl::InvalidArgumentError(
        "devices: an admin sees every device; bind devices to members only");
  }
  if (req.devices_size() > 1000) return absl::InvalidArgumentError("devices: at most 1000");
  for (int i = 0; i < req.devices_size(); ++i) {
    const std::string& d = req.devices(i);
    if (d.empty() || d.size() > 128) {
      return absl::InvalidArgumentError(absl::StrCat("devices[", i, "]: must be 1..128 bytes"));
    }
    RETURN_IF_ERROR(CheckNoNul(d, absl::StrCat("devices[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status ValidateSetWebAccountPassword(const shoebox::v1::SetWebAccountPasswordRequest& req) {
  RETURN_IF_ERROR(ValidateWebAccountName(req.name()));
  return ValidateWebPasswordHash(req.password_hash());
}

absl::Status ValidateRecordWebAudit(const shoebox::v1::RecordWebAuditRequest& req) {
  if (!req.account().empty()) RETURN_IF_ERROR(ValidateWebAccountName(req.account(), "account"));
  const std::string& a = req.action();
  if (a.empty() || a.size() > 64 ||
      a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                          "0123456789_.:-") != std::string::npos) {
    return absl::InvalidArgumentError("action: 1-64 letters, digits, '_', '.', ':' or '-'");
  }
  if (req.target().size() > 256 || HasControlChar(req.target())) {
    return absl::InvalidArgumentError("target: at most 256 bytes without control characters");
  }
  if (req.detail().size() > 1000 || HasControlChar(req.detail())) {
    return absl::InvalidArgumentError("detail: at most 1000 bytes without control characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateSetWebAccountTotp(const shoebox::v1::SetWebAccountTotpRequest& req) {
  RETURN_IF_ERROR(ValidateWebAccountName(req.name()));
  if (req.enable() && (req.secret().size() < 16 || req.secret().size() > 64)) {
    return absl::InvalidArgumentError("secret: a TOTP key of 16 to 64 bytes");
  }
  if (!req.enable() && !req.secret().empty()) {
    return absl::InvalidArgumentError("secret: give none when turning TOTP off");
  }
  return absl::OkStatus();
}

absl::Status ValidateUseWebAccountTotpStep(const shoebox::v1::UseWebAccountTotpStepRequest& req) {
  RETURN_IF_ERROR(ValidateWebAccountName(req.name()));
  if (req.step() <= 0) return absl::InvalidArgumentError("step: a TOTP time step > 0");
  return absl::OkStatus();
}

absl::Status ValidateBindWebAccountDevice(const shoebox::v1::BindWebAccountDeviceRequest& req) {
  RETURN_IF_ERROR(ValidateWebAccountName(req.name()));
  if (req.device().empty() || req.device().size() > 128 ||
      req.device().find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("device: 1-128 bytes without NUL (see `shoebox devices`)");
  }
  return absl::OkStatus();
}

absl::Status ValidateListAuditLog(const shoebox::v1::ListAuditLogRequest& req) {
  if (req.before_id() < 0) return absl::InvalidArgumentError("before_id: 0 or an entry's ID");
  if (req.limit() > 500) return absl::InvalidArgumentError("limit: at most 500 entries a page");
  return absl::OkStatus();
}

namespace {

absl::Status CheckUrl(const std::string& url, const char* field,
                      std::initializer_list<const char*> schemes) {
  bool scheme_ok = false;
  std::string names;
  for (const char* sc : schemes) {
    if (url.rfind(sc, 0) == 0 && url.size() > std::string(sc).size()) scheme_ok = true;
    absl::StrAppend(&names, names.empty() ? "" : " or ", sc);
  }
  if (!scheme_ok || url.size() > 2048 || HasControlChar(url) ||
      url.find(' ') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": \"", url.substr(0, 100),
                                                   "\" is not a URL starting with ", names,
                                                   " (at most 2048 bytes, no spaces)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateNotifyChannelName(const std::string& name) {
  if (name.empty() || name.size() > 64 ||
      name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789._-") != std::string::npos ||
      name[0] == '.' || name[0] == '-' || name[0] == '_') {
    return absl::InvalidArgumentError(
        "name: a notification channel name is 1-64 letters, digits, '.', '_' or '-', starting "
        "with a letter or digit");
  }
  return absl::OkStatus();
}

absl::Status ValidateAddNotifyChannel(const shoebox::v1::AddNotifyChannelRequest& req) {
  RETURN_IF_ERROR(ValidateNotifyChannelName(req.name()));
  if (req.secret().size() > 4096) {
    return absl::InvalidArgumentError("secret: at most 4096 bytes");
  }
  if (req.kind() == "email") {
    RETURN_IF_ERROR(CheckUrl(req.url(), "url", {"smtp://", "smtps://"}));
    const std::string& to = req.email_to();
    if (to.empty() || to.size() > 254 || to.find('@') == std::string::npos ||
        to.find_first_of("<>,; ") != std::string::npos || HasControlChar(to)) {
      return absl::InvalidArgumentError(
          "email_to: one plain address like ana@example.org (no name, no list)");
    }
    if (req.smtp_user().size() > 256 || HasControlChar(req.smtp_user())) {
      return absl::InvalidArgumentError("smtp_user: at most 256 bytes without control characters");
    }
    if (req.insecure_smtp() && req.url().rfind("smtps://", 0) == 0) {
      return absl::InvalidArgumentError(
          "insecure_smtp: an smtps:// URL is always TLS; --insecure-smtp is for a plain smtp:// "
          "relay on the LAN");
    }
    return absl::OkStatus();
  }
  if (req.kind() == "webhook" || req.kind() == "ntfy") {
    RETURN_IF_ERROR(CheckUrl(req.url(), "url", {"http://", "https://"}));
    if (!req.email_to().empty() || !req.smtp_user().empty() || req.insecure_smtp()) {
      return absl::InvalidArgumentError(
          absl::StrCat("a ", req.kind(),
                       " channel takes a URL only (--to, --user and --insecure-smtp are "
                       "for email)"));
    }
    if (req.kind() == "ntfy" && !req.secret().empty()) {
      return absl::InvalidArgumentError("secret: an ntfy channel takes no secret");
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("kind: \"", req.kind().substr(0, 32), "\" is not email, webhook or ntfy"));
}

absl::Status ValidateSetDevicePingUrl(const shoebox::v1::SetDevicePingUrlRequest& req) {
  if (req.device().empty() || req.device().size() > 128) {
    return absl::InvalidArgumentError("device: must be 1..128 bytes");
  }
  RETURN_IF_ERROR(CheckNoNul(req.device(), "device"));
  if (!req.url().empty()) RETURN_IF_ERROR(CheckUrl(req.url(), "url", {"http://", "https://"}));
  return absl::OkStatus();
}

// ---- recently deleted and restore requests (issue 22) ---------------------

namespace {
absl::Status CheckDeviceNames(const google::protobuf::RepeatedPtrField<std::string>& names) {
  if (names.size() > 1000) return absl::InvalidArgumentError("devices: at most 1000 names");
  for (const std::string& n : names) {
    if (n.empty() || n.size() > 128 || n.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("devices: each a device name of 1-128 bytes without NUL");
    }
  }
  return absl::OkStatus();
}
}  // namespace

absl::Status ValidateListDeleted(const shoebox::v1::ListDeletedRequest& req) {
  RETURN_IF_ERROR(CheckDeviceNames(req.devices()));
  if (req.limit() > 1000) return absl::InvalidArgumentError("limit: at most 1000 files a page");
  if (req.before_deleted_unix_us() < 0 || req.before_version_id() < 0) {
    return absl::InvalidArgumentError(
        "before_deleted_unix_us, before_version_id: the previous page's next_* values (>= 0)");
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestRestore(const shoebox::v1::RequestRestoreRequest& req) {
  if (req.device().empty() || req.device().size() > 128 ||
      req.device().find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("device: the device to restore on (1-128 bytes)");
  }
  if (req.path().empty()) {
    return absl::InvalidArgumentError("path: the file's path relative to its folder");
  }
  RETURN_IF_ERROR(ValidateRelativePath(req.path(), "path"));
  if (req.version_id() < 0) return absl::InvalidArgumentError("version_id: >= 0 (0: newest)");
  if (req.requested_by().size() > 256) {
    return absl::InvalidArgumentError("requested_by: at most 256 bytes");
  }
  return absl::OkStatus();
}

absl::Status ValidateListRestoreRequests(const shoebox::v1::ListRestoreRequestsRequest& req) {
  RETURN_IF_ERROR(CheckDeviceNames(req.devices()));
  if (req.limit() > 1000) return absl::InvalidArgumentError("limit: at most 1000 requests");
  if (req.before_id() < 0 || req.ids_size() > 1000) {
    return absl::InvalidArgumentError("before_id >= 0, at most 1000 ids");
  }
  return absl::OkStatus();
}

absl::Status ValidateReportRestore(const shoebox::v1::ReportRestoreRequest& req) {
  if (req.request_id() <= 0) {
    return absl::InvalidArgumentError("request_id: the ID of a RestoreOrder (> 0)");
  }
  if (req.reason().size() > 4096) return absl::InvalidArgumentError("reason: at most 4096 bytes");
  if (req.ok()) RETURN_IF_ERROR(ValidateRelativePath(req.restored_path(), "restored_path"));
  return absl::OkStatus();
}

}  // namespace shoebox::coordinator
