// See proto_convert.h.
#include "coordinator/proto_convert.h"

namespace shoebox::coordinator {

namespace {

std::vector<JobState> States(const google::protobuf::RepeatedField<int>& states) {
  std::vector<JobState> out;
  out.reserve(states.size());
  for (int s : states) out.push_back(static_cast<JobState>(s));
  return out;
}

void CountsToProto(const DeliveryCounts& c, shoebox::v1::Counts* p) {
  p->set_pending_files(c.pending_files);
  p->set_pending_bytes(c.pending_bytes);
  p->set_in_flight_files(c.in_flight_files);
  p->set_in_flight_bytes(c.in_flight_bytes);
  p->set_delivered_files(c.delivered_files);
  p->set_delivered_bytes(c.delivered_bytes);
  p->set_failed_files(c.failed_files);
  p->set_failed_bytes(c.failed_bytes);
  p->set_dead_files(c.dead_files);
  p->set_dead_bytes(c.dead_bytes);
}

}  // namespace

// Folder problems kept per heartbeat (more are dropped).
constexpr size_t kMaxFolderProblems = 64;

HeartbeatFacts FromProto(const shoebox::v1::HeartbeatRequest& req) {
  HeartbeatFacts h;
  h.files_pending = req.files_pending();
  h.bytes_pending = req.bytes_pending();
  h.upload_rate_bps = req.upload_rate_bps();
  h.paused = req.paused();
  // A status line each: a bounded number, reasons cut to one short line.
  for (const auto& p : req.folder_problems()) {
    if (h.folder_problems.size() >= kMaxFolderProblems) break;
    h.folder_problems.push_back(FolderProblem{p.path(), p.reason().substr(0, 200)});
  }
  return h;
}

VersionQuery FromProto(const shoebox::v1::ListVersionsRequest& req) {
  VersionQuery q;
  q.folder = req.folder();
  q.path = req.path();
  q.at_unix_ms = req.at_unix_ms();
  q.all_versions = req.all_versions();
  q.after_version_id = req.after_version_id();
  q.limit = req.limit();
  return q;
}

NewDestination FromProto(const shoebox::v1::CreateDestinationRequest& req) {
  NewDestination d;
  d.name = req.name();
  d.kind = req.kind();
  d.settings_json = req.settings_json();
  d.sealed_credentials = req.sealed_credentials();
  d.layout = req.layout();
  d.max_concurrency = req.max_concurrency();
  return d;
}

JobCompletion FromProto(const shoebox::v1::CompleteJobRequest& req) {
  JobCompletion c;
  c.job_id = req.job_id();
  c.lease_token = req.lease_token();
  c.remote_ref = req.remote_ref();
  c.remote_size = req.remote_size();
  c.remote_checksum = req.remote_checksum();
  c.verified_ok = req.verified_ok();
  return c;
}

JobFilter FromProto(const shoebox::v1::ListJobsRequest& req) {
  JobFilter f;
  f.states = States(req.states());
  f.destination = req.destination();
  f.limit = req.limit();
  f.after_job_id = req.after_job_id();
  return f;
}

JobSelection FromProto(const shoebox::v1::JobSelector& sel) {
  JobSelection s;
  s.job_ids.assign(sel.job_ids().begin(), sel.job_ids().end());
  s.destination = sel.destination();
  s.states = States(sel.states());
  return s;
}

VerifyRunResult FromProto(const shoebox::v1::VerifyResponse& r) {
  VerifyRunResult v;
  v.chunks_scrubbed = r.chunks_scrubbed();
  v.chunks_bad = r.chunks_bad();
  v.remote_checks_queued = r.remote_checks_queued();
  v.repairs_queued = r.repairs_queued();
  v.test_restored_files = r.test_restored_files();
  v.test_restore_failed = r.test_restore_failed();
  v.unrepairable_files = static_cast<uint64_t>(r.unrepairable_size());
  return v;
}

shoebox::v1::FileReport ToProto(const DamagedFile& f) {
  shoebox::v1::FileReport p;
  p.set_folder(f.folder);
  p.set_path(f.path);
  p.set_op(shoebox::v1::FileReport::OP_UPSERT);
  p.set_size(f.size);
  p.set_mtime_ns(f.mtime_ns);
  p.set_sha256(f.sha256);
  return p;
}

shoebox::v1::Device ToProto(const DeviceRow& d) {
  shoebox::v1::Device p;
  p.set_id(d.id);
  p.set_name(d.name);
  p.set_hostname(d.hostname);
  p.set_last_seen_unix_ms(d.last_seen_unix_ms);
  p.set_revoked(d.revoked);
  for (const std::string& f : d.folders) p.add_folders(f);
  return p;
}

shoebox::v1::FileVersion ToProto(const FileVersion& v) {
  shoebox::v1::FileVersion p;
  p.set_version_id(v.version_id);
  p.set_device(v.device);
  p.set_folder(v.folder);
  p.set_path(v.path);
  p.set_size(v.size);
  p.set_mtime_ns(v.mtime_ns);
  p.set_sha256(v.sha256);
  for (const ChunkRef& c : v.chunks) {
    auto* pc = p.add_chunks();
    pc->set_id(c.id);
    pc->set_size(c.size);
  }
  p.set_created_unix_ms(v.created_unix_ms);
  p.set_deleted_unix_ms(v.deleted_unix_ms);
  p.set_state(static_cast<shoebox::v1::VersionState>(v.state));
  p.set_mode(v.mode);
  p.set_chunks_dropped(v.chunks_dropped);
  for (const VersionCopy& c : v.copies) {
    auto* pc = p.add_copies();
    pc->set_destination(c.destination);
    pc->set_state(c.state);
    pc->set_remote_ref(c.remote_ref);
    pc->set_finished_unix_ms(c.finished_unix_ms);
  }
  return p;
}

shoebox::v1::ListVersionsResponse ToProto(const VersionPage& page) {
  shoebox::v1::ListVersionsResponse p;
  for (const FileVersion& v : page.versions) *p.add_versions() = ToProto(v);
  p.set_next_after_version_id(page.next_after_version_id);
  return p;
}

shoebox::v1::Destination ToProto(const Destination& d) {
  shoebox::v1::Destination p;
  p.set_id(d.id);
  p.set_name(d.name);
  p.set_kind(d.kind);
  p.set_settings_json(d.settings_json);
  p.set_sealed_credentials(d.sealed_credentials);
  p.set_layout(d.layout);
  p.set_max_concurrency(d.max_concurrency);
  p.set_paused_unix_ms(d.paused_unix_ms);
  p.set_last_check_state(static_cast<shoebox::v1::JobState>(d.last_check_state));
  p.set_last_check_detail(d.last_check_detail);
  p.set_last_check_unix_ms(d.last_check_unix_ms);
  return p;
}

shoebox::v1::DestinationCheck ToProto(const DestinationCheckRow& c) {
  shoebox::v1::DestinationCheck p;
  p.set_job_id(c.job_id);
  p.set_destination(c.destination);
  p.set_state(static_cast<shoebox::v1::JobState>(c.state));
  p.set_detail(c.detail);
  p.set_error(c.error);
  p.set_created_unix_ms(c.created_unix_ms);
  p.set_workers_serving(c.workers_serving);
  return p;
}

shoebox::v1::Binding ToProto(const BindingRow& b) {
  shoebox::v1::Binding p;
  p.set_device(b.device);
  p.set_folder(b.folder);
  p.set_destination(b.destination);
  p.set_created_unix_ms(b.created_unix_ms);
  return p;
}

shoebox::v1::Job ToProto(const LeasedJob& j) {
  shoebox::v1::Job p;
  p.set_job_id(j.job_id);
  p.set_kind(static_cast<shoebox::v1::JobKind>(j.kind));
  p.set_lease_token(j.lease_token);
  p.set_lease_deadline_unix_ms(j.lease_deadline_unix_ms);
  p.set_attempt(j.attempt);
  *p.mutable_destination() = ToProto(j.destination);
  *p.mutable_file() = ToProto(j.file);  // present (empty) for jobs without a file
  p.set_remote_ref(j.remote_ref);
  for (const std::string& id : j.repair_chunk_ids) p.add_repair_chunk_ids(id);
  p.set_resume_state(j.resume_state);
  for (const std::string& a : j.albums) p.add_albums(a);
  p.set_capture_unix_ns(j.capture_ns);
  if (!j.transfer.empty()) {
    p.mutable_transfer()->set_name(j.transfer);
    p.mutable_transfer()->set_size(j.transfer_size);
    p.mutable_transfer()->set_mtime_ns(j.transfer_mtime_ns);
  }
  return p;
}

shoebox::v1::RenewLeaseResponse ToProto(const LeaseRenewal& r) {
  shoebox::v1::RenewLeaseResponse p;
  p.set_lease_deadline_unix_ms(r.lease_deadline_unix_ms);
  p.set_cancelled(r.cancelled);
  return p;
}

shoebox::v1::FailJobResponse ToProto(const FailOutcome& f) {
  shoebox::v1::FailJobResponse p;
  p.set_state(static_cast<shoebox::v1::JobState>(f.state));
  p.set_next_attempt_unix_ms(f.next_attempt_unix_ms);
  return p;
}

shoebox::v1::JobInfo ToProto(const JobRow& j) {
  shoebox::v1::JobInfo p;
  p.set_job_id(j.job_id);
  p.set_kind(static_cast<shoebox::v1::JobKind>(j.kind));
  p.set_state(static_cast<shoebox::v1::JobState>(j.state));
  p.set_destination(j.destination);
  p.set_device(j.device);
  p.set_path(j.path);
  p.set_attempts(j.attempts);
  p.set_last_error(j.last_error);
  p.set_waiting_reason(j.waiting_reason);
  p.set_next_attempt_unix_ms(j.next_attempt_unix_ms);
  p.set_created_unix_ms(j.created_unix_ms);
  p.set_priority(j.priority);
  return p;
}

shoebox::v1::StatusResponse ToProto(const StatusSummary& s) {
  shoebox::v1::StatusResponse p;
  for (const DeviceStatus& d : s.devices) {
    auto* pd = p.add_devices();
    pd->set_name(d.name);
    pd->set_last_seen_unix_ms(d.last_seen_unix_ms);
    pd->set_files(d.files);
    pd->set_bytes(d.bytes);
    pd->set_files_awaiting_chunks(d.files_awaiting_chunks);
    CountsToProto(d.deliveries, pd->mutable_deliveries());  // always present
    pd->set_agent_files_pending(d.agent_files_pending);
    pd->set_agent_bytes_pending(d.agent_bytes_pending);
    pd->set_agent_upload_rate_bps(d.agent_upload_rate_bps);
  }
  for (const DestinationStatus& d : s.destinations) {
    auto* pd = p.add_destinations();
    pd->set_name(d.name);
    pd->set_kind(d.kind);
    CountsToProto(d.deliveries, pd->mutable_deliveries());  // always present
    pd->set_oldest_pending_unix_ms(d.oldest_pending_unix_ms);
    pd->set_oldest_pending_reason(d.oldest_pending_reason);
    pd->set_health(d.health);
    pd->set_workers_serving(d.workers_serving);
    pd->set_last_verified_unix_ms(d.last_verified_unix_ms);
  }
  p.set_chunks_stored(s.chunks_stored);
  p.set_chunk_bytes(s.chunk_bytes);
  p.set_stored_bytes(s.stored_bytes);
  p.set_duplicate_files(s.duplicate_files);
  for (const StatusProblem& sp : s.problems) {
    auto* pp = p.add_problems();
    pp->set_kind(sp.kind);
    pp->set_device(sp.device);
    pp->set_destination(sp.destination);
    pp->set_message(sp.message);
  }
  return p;
}

shoebox::v1::AffectedFile ToProto(const AffectedFile& f) {
  shoebox::v1::AffectedFile p;
  p.set_device(f.device);
  p.set_folder(f.folder);
  p.set_path(f.path);
  p.set_version_id(f.version_id);
  for (const std::string& d : f.destinations) p.add_destinations(d);
  return p;
}

shoebox::v1::DamagedChunk ToProto(const DamagedChunk& d) {
  shoebox::v1::DamagedChunk p;
  p.set_id(d.id);
  p.set_error(d.error);
  p.set_found_unix_ms(d.found_unix_ms);
  p.set_repair_queued(d.repair_queued);
  for (const AffectedFile& f : d.files) *p.add_files() = ToProto(f);
  return p;
}

void AddToProto(const CopySummary& s, shoebox::v1::StatusResponse* resp) {
  resp->set_files_with_1_copy(s.files_with_1_copy);
  resp->set_files_with_2_copies(s.files_with_2_copies);
  resp->set_files_with_3_copies(s.files_with_3_copies);
  resp->set_files_with_no_copy(s.files_with_no_copy);
  resp->set_damaged_chunks(s.damaged_chunks);
  resp->set_last_verify_unix_ms(s.last_verify_unix_ms);
}

}  // namespace shoebox::coordinator
