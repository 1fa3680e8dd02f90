// The coordinator's checks of request fields that need no database. The
// domain classes (Catalog, JobQueue, Admin, Verifier, Retention) call these
// before they touch the store, and the libFuzzer targets in tests/fuzz/
// (agent_requests, worker_requests, admin_requests, put_chunks) call exactly
// these functions, so what is fuzzed is the production code.
//
// Every refusal is INVALID_ARGUMENT with a message that starts with the
// field ("files[3].path: ..."), unless a comment says otherwise. Text that
// ends up in a PostgreSQL `text` column must not contain NUL: libpq sends
// text parameters as C strings, so a NUL would silently cut the value short
// (a lookup of "laptop\0x" would find "laptop").
//
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/crypto/hash.h"
#include "coordinator/retention_policy.h"
#include "shoebox/v1/admin.pb.h"
#include "shoebox/v1/agent.pb.h"
#include "shoebox/v1/worker.pb.h"

namespace shoebox::coordinator {

// Largest chunk a FileReport may reference (the chunker's hard maximum).
inline constexpr uint32_t kMaxChunkRefSize = 16 * 1024 * 1024;
// Most folders one Hello may announce (each is a catalog row to upsert).
inline constexpr uint32_t kMaxHelloFolders = 1000;
// Most chunk references one ReportFiles call may carry, over all its files
// (each is a row to look up and reference in one transaction). About 500 GB
// of data at the 1 MiB average chunk; the 32 MiB message limit allows
// roughly 800 000.
inline constexpr uint32_t kMaxReportChunkRefs = 500000;
// Longest job error text kept in the catalog.
inline constexpr size_t kMaxJobErrorBytes = 4000;
inline constexpr size_t kMaxResumeStateBytes = 1 << 20;
inline constexpr size_t kMaxSealedCredentialsBytes = 64 * 1024;

// INVALID_ARGUMENT "<field>: contains a NUL byte" when `value` has one.
absl::Status CheckNoNul(std::string_view value, std::string_view field);

// ---- AgentService -------------------------------------------------------

// At most kMaxHelloFolders folders, each an absolute path; hostname at most
// 255 bytes, agent_version at most 64; neither with a control character
// (NUL, ESC, CR, DEL, ...: they reach the admin's terminal).
absl::Status ValidateHello(const shoebox::v1::HelloRequest& req);
// The whole batch: more than `max_report_batch` files, or more than
// kMaxReportChunkRefs chunk references in all, is refused as a whole.
absl::Status ValidateReportBatch(const shoebox::v1::ReportFilesRequest& req,
                                 uint32_t max_report_batch);
// One entry (files[i]): a valid relative path; for OP_UPSERT a 32-byte
// sha256 and chunks of 32-byte IDs and 1..kMaxChunkRefSize bytes whose sizes
// add up to `size`. The folder is checked against the device's folders by
// the caller (needs the catalog).
absl::Status ValidateFileReport(const shoebox::v1::FileReport& f, size_t i);
// ListVersions filters: folder (absolute) and path (relative), when given.
absl::Status ValidateVersionFilter(const shoebox::v1::ListVersionsRequest& req);
// ReadChunks: at most `max_ids` IDs, each 32 bytes.
absl::Status ValidateChunkIds(const google::protobuf::RepeatedPtrField<std::string>& ids,
                              int max_ids);
// One PutChunks message: a 32-byte ID (returned in *id), 1..max_chunk_size
// bytes of data, and the ID equal to HMAC-SHA256(chunk-ID key, data) under
// `id_hmac`. Whether the chunk was reported, and with which size, is checked
// afterwards against the catalog.
absl::Status CheckChunkUpload(const shoebox::v1::PutChunkRequest& req, const HmacSha256& id_hmac,
                              uint32_t max_chunk_size, ChunkId* id);

// ---- WorkerService ------------------------------------------------------

// At least one kind; kinds 1..64 bytes; destination names non-empty; no NUL
// in kinds, destinations or version.
absl::Status ValidateRegisterWorker(const shoebox::v1::RegisterWorkerRequest& req);
// A worker name (1-128 of letters, digits, '-', '_', '.', '@'), at most 64
// kinds of 1..64 characters and 1000 destination names, none empty or with
// NUL (SetWorkerScope, CreateEnrollToken's worker scope).
absl::Status ValidateSetWorkerScope(const shoebox::v1::SetWorkerScopeRequest& req);
// RenewLease / CompleteJob / FailJob / RepairChunk: a positive job ID and a
// lease token of 1..128 bytes without NUL.
absl::Status ValidateLease(int64_t job_id, const std::string& token);
// The lease plus no NUL in remote_ref / remote_checksum.
absl::Status ValidateCompleteJob(const shoebox::v1::CompleteJobRequest& req);
// SaveResumeState: the lease, at most kMaxResumeStateBytes of state.
absl::Status ValidateSaveResumeState(const shoebox::v1::SaveResumeStateRequest& req);
// UpdateDestinationCredentials: the lease, a destination ID and 1 byte to
// kMaxSealedCredentialsBytes of sealed credentials.
absl::Status ValidateUpdateDestinationCredentials(
    const shoebox::v1::UpdateDestinationCredentialsRequest& req);
// Issue 20, the album directory RPCs: the lease, a destination ID, an
// album key of 1..kMaxAlbumBytes bytes (any bytes: bytea), and for
// RecordAlbum an id of 1..kMaxAlbumBytes bytes (ForgetAlbum's optional id:
// at most kMaxAlbumBytes).
inline constexpr size_t kMaxAlbumBytes = 1024;
absl::Status ValidateLookupAlbum(const shoebox::v1::LookupAlbumRequest& req);
absl::Status ValidateRecordAlbum(const shoebox::v1::RecordAlbumRequest& req);
absl::Status ValidateForgetAlbum(const shoebox::v1::ForgetAlbumRequest& req);
// The error text FailJob records: invalid UTF-8 written as \xNN (Utf8Text),
// at most kMaxJobErrorBytes, cut on a UTF-8
// character boundary (PostgreSQL refuses a cut-off character), NUL bytes
// removed; a placeholder when the worker gave none.
std::string FailJobErrorText(const std::string& error);

// ---- AdminService -------------------------------------------------------

// name 1..64 of [A-Za-z0-9._-]; kind 1..64 bytes; settings_json a JSON
// object or empty; no NUL in kind, layout or settings_json.
// A destination named by a request (field `field`): 1..64 of [A-Za-z0-9._-].
absl::Status ValidateDestinationName(const std::string& name, const char* field = "name");
// A layout template: no NUL, at most 1024 bytes.
absl::Status ValidateDestinationLayout(const std::string& layout);
// Filters: no NUL in device, a valid destination name when given.
absl::Status ValidateListBindings(const shoebox::v1::ListBindingsRequest& req);
// The kind must be declared in common/destination_kinds.h and the settings
// pass its declaration (INVALID_ARGUMENT naming the key).
absl::Status ValidateCreateDestination(const shoebox::v1::CreateDestinationRequest& req);
// A settings text (empty: {}) parsed as a JSON object; INVALID_ARGUMENT
// naming `field` otherwise.
absl::StatusOr<nlohmann::json> ParseSettingsJson(const std::string& text, const char* field);
// Settings against the kind's declaration, and sealed credentials present
// when the kind requires secrets.
absl::Status ValidateDestinationConfig(const std::string& kind, const nlohmann::json& settings,
                                       bool has_credentials);
// device and destination named (no NUL); folder absolute when given.
absl::Status ValidateBindFolder(const shoebox::v1::BindFolderRequest& req);
// Every state a known JobState other than UNSPECIFIED.
absl::Status ValidateJobStates(const google::protobuf::RepeatedField<int>& states);
// ListJobs / RetryJobs: known states, no NUL in the destination.
absl::Status ValidateJobFilter(const google::protobuf::RepeatedField<int>& states,
                               const std::string& destination);
// CancelJobs: a filter, and at least one of job IDs, destination, states.
absl::Status ValidateCancelJobs(const shoebox::v1::JobSelector& sel);
// SetJobPriority: as CancelJobs for the selector, priority in -1000..1000.
absl::Status ValidateSetJobPriority(const shoebox::v1::SetJobPriorityRequest& req);
// Exactly one of device and worker, 1..128 of [A-Za-z0-9-_.@]; ttl at most
// 30 days.
absl::Status ValidateCreateEnrollToken(const shoebox::v1::CreateEnrollTokenRequest& req);
// Exactly one of device and worker, without NUL.
absl::Status ValidateRevoke(const shoebox::v1::RevokeRequest& req);
// scrub_percent in 0..100 (not NaN), test_restore at most 10000, no NUL in
// the destination.
absl::Status ValidateVerifyRequest(const shoebox::v1::VerifyRequest& req);
// GetRetention: a folder needs its device; folder absolute; no NUL in device.
absl::Status ValidateGetRetention(const shoebox::v1::GetRetentionRequest& req);
// SetRetention: device named (no NUL), folder absolute when given. The
// policy values are checked by ApplyRetentionUpdate.
absl::Status ValidateSetRetention(const shoebox::v1::SetRetentionRequest& req);
// Sets the fields the request carries on *p, then ValidateRetentionPolicy.
absl::Status ApplyRetentionUpdate(const shoebox::v1::SetRetentionRequest& req, RetentionPolicy* p);

// ---- server-side ingest (issue 21) ---------------------------------------

// Largest item an import takes (1 TiB), most albums per item, largest data
// message (1 MiB).
inline constexpr uint64_t kMaxImportItemSize = uint64_t{1} << 40;
inline constexpr int kMaxImportAlbums = 1000;
inline constexpr size_t kMaxImportDataMessage = 1 << 20;
// header.source: 1-128 of letters, digits, '-', '_', '.', '@' (a device name).
absl::Status ValidateImportHeader(const shoebox::v1::ImportHeader& h);
// item: the path rules of ReportFiles (ValidateRelativePath), size at most
// kMaxImportItemSize, a 32-byte sha256, at most kMaxImportAlbums albums of
// 1..kMaxAlbumBytes bytes each. `n` (the item's position) names it.
absl::Status ValidateImportItem(const shoebox::v1::ImportItem& item, uint64_t n);

// ---- web dashboard accounts (issue 22, docs/web.md) -----------------------

// 1-64 of [A-Za-z0-9._-], starting with a letter or digit.
absl::Status ValidateWebAccountName(const std::string& name, const char* field = "name");
// An Argon2id hash in its PHC encoding ("$argon2id$v=19$..."), at most 256
// bytes of printable ASCII: the coordinator never receives a password.
absl::Status ValidateWebPasswordHash(const std::string& hash);
// Name, role "admin" or "member", hash; at most 1000 devices, each 1-128
// bytes without NUL; an admin is bound to no device (it sees all).
absl::Status ValidateCreateWebAccount(const shoebox::v1::CreateWebAccountRequest& req);
absl::Status ValidateSetWebAccountPassword(const shoebox::v1::SetWebAccountPasswordRequest& req);
// The account is empty or a valid name; action 1-64 of [A-Za-z0-9_.:-];
// target at most 256 and detail at most 1000 bytes, neither with a control
// character.
absl::Status ValidateRecordWebAudit(const shoebox::v1::RecordWebAuditRequest& req);
// Slice 2: a valid name; enabling needs a 16..64-byte secret, disabling
// none.
absl::Status ValidateSetWebAccountTotp(const shoebox::v1::SetWebAccountTotpRequest& req);
// A valid name and a time step > 0.
absl::Status ValidateUseWebAccountTotpStep(const shoebox::v1::UseWebAccountTotpStepRequest& req);
// A valid name and a device name of 1-128 bytes without NUL.
absl::Status ValidateBindWebAccountDevice(const shoebox::v1::BindWebAccountDeviceRequest& req);
// before_id >= 0, limit <= 500.
absl::Status ValidateListAuditLog(const shoebox::v1::ListAuditLogRequest& req);

// ---- notifications (issue 22, docs/notifications.md) -----------------------

// 1-64 of [A-Za-z0-9._-], starting with a letter or digit.
absl::Status ValidateNotifyChannelName(const std::string& name);
// Kind email (smtp:// or smtps:// URL, a plain recipient address,
// insecure_smtp only with smtp://), webhook (http(s) URL) or ntfy (http(s)
// URL, no secret); URLs at most 2048 bytes without spaces or control
// characters; a secret at most 4096 bytes.
absl::Status ValidateAddNotifyChannel(const shoebox::v1::AddNotifyChannelRequest& req);
// The device 1-128 bytes without NUL; the URL "" or http(s) as above.
absl::Status ValidateSetDevicePingUrl(const shoebox::v1::SetDevicePingUrlRequest& req);

// ---- recently deleted and restore requests (issue 22, docs/web.md) --------

// Device names 1-128 bytes without NUL; limit <= 1000; cursors >= 0.
absl::Status ValidateListDeleted(const shoebox::v1::ListDeletedRequest& req);
// A device, a relative path (ReportFiles rules), version_id >= 0,
// requested_by at most 256 bytes.
absl::Status ValidateRequestRestore(const shoebox::v1::RequestRestoreRequest& req);
absl::Status ValidateListRestoreRequests(const shoebox::v1::ListRestoreRequestsRequest& req);
// request_id > 0; reason at most 4096 bytes; restored_path a relative path
// when ok.
absl::Status ValidateReportRestore(const shoebox::v1::ReportRestoreRequest& req);

}  // namespace shoebox::coordinator
