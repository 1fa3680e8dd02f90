#include "coordinator/options.h"

#include "absl/strings/str_cat.h"
#include "common/loopback.h"
#include "common/status.h"

namespace shoebox::coordinator {
namespace {

absl::Status GetU32(const Config& c, std::string_view key, uint32_t* v) {
  ASSIGN_OR_RETURN(int64_t x, c.GetInt(key, *v));
  if (x < 0 || x > 0xffffffffLL) {
    return absl::InvalidArgumentError(absl::StrCat(c.source(), ": key '", std::string(key),
                                                   "' must be between 0 and 4294967295"));
  }
  *v = static_cast<uint32_t>(x);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CoordinatorOptions> OptionsFromConfig(const Config& c) {
  CoordinatorOptions o;
  ASSIGN_OR_RETURN(o.listen, c.GetString("coordinator.listen", o.listen));
  ASSIGN_OR_RETURN(o.database_url, c.RequireString("database.url"));
  ASSIGN_OR_RETURN(o.chunk_store, c.RequireString("chunk_store.location"));
  ASSIGN_OR_RETURN(o.key_file, c.RequireString("coordinator.key_file"));
  ASSIGN_OR_RETURN(o.create_key, c.GetBool("coordinator.create_key", o.create_key));
  ASSIGN_OR_RETURN(o.metrics_listen, c.GetString("coordinator.metrics_listen", o.metrics_listen));
  ASSIGN_OR_RETURN(o.insecure_dev, c.GetBool("coordinator.insecure_dev", o.insecure_dev));
  ASSIGN_OR_RETURN(o.log_level, c.GetString("coordinator.log_level", o.log_level));
  ASSIGN_OR_RETURN(o.log_json, c.GetBool("coordinator.log_json", o.log_json));
  RETURN_IF_ERROR(GetU32(c, "coordinator.max_threads", &o.max_threads));
  RETURN_IF_ERROR(GetU32(c, "coordinator.housekeeping_ms", &o.housekeeping_ms));
  RETURN_IF_ERROR(GetU32(c, "coordinator.prune_interval_s", &o.prune_interval_s));
  RETURN_IF_ERROR(GetU32(c, "coordinator.prune_grace_s", &o.prune_grace_s));
  RETURN_IF_ERROR(GetU32(c, "coordinator.snapshot_interval_s", &o.snapshot_interval_s));
  RETURN_IF_ERROR(GetU32(c, "coordinator.transfer_list_interval_s", &o.transfer_list_interval_s));
  RETURN_IF_ERROR(GetU32(c, "coordinator.snapshot_keep", &o.snapshot_keep));
  RETURN_IF_ERROR(GetU32(c, "database.pool_size", &o.db_pool_size));
  RETURN_IF_ERROR(GetU32(c, "database.connect_timeout_ms", &o.db_connect_timeout_ms));
  RETURN_IF_ERROR(GetU32(c, "database.unavailable_retry_ms", &o.db_unavailable_retry_ms));
  Limits& l = o.limits;
  RETURN_IF_ERROR(GetU32(c, "limits.max_report_batch", &l.max_report_batch));
  RETURN_IF_ERROR(GetU32(c, "limits.max_chunk_size", &l.max_chunk_size));
  RETURN_IF_ERROR(GetU32(c, "limits.lease_ms", &l.lease_ms));
  RETURN_IF_ERROR(GetU32(c, "limits.max_attempts", &l.max_attempts));
  RETURN_IF_ERROR(GetU32(c, "limits.backoff_base_ms", &l.backoff_base_ms));
  RETURN_IF_ERROR(GetU32(c, "limits.backoff_max_ms", &l.backoff_max_ms));
  RETURN_IF_ERROR(GetU32(c, "limits.auth_probe_interval_ms", &l.auth_probe_interval_ms));
  RETURN_IF_ERROR(GetU32(c, "limits.max_lease_batch", &l.max_lease_batch));
  RETURN_IF_ERROR(GetU32(c, "limits.max_lease_wait_ms", &l.max_lease_wait_ms));
  RETURN_IF_ERROR(GetU32(c, "limits.worker_stale_ms", &l.worker_stale_ms));
  RETURN_IF_ERROR(GetU32(c, "limits.calls_per_second", &l.calls_per_second));
  RETURN_IF_ERROR(GetU32(c, "limits.enroll_per_second", &l.enroll_per_second));
  RETURN_IF_ERROR(GetU32(c, "limits.max_streams_per_caller", &l.max_streams_per_caller));
  RETURN_IF_ERROR(GetU32(c, "limits.stream_idle_timeout_s", &l.stream_idle_timeout_s));
  RETURN_IF_ERROR(GetU32(c, "audit.retention_days", &o.audit_retention_days));
  RETURN_IF_ERROR(GetU32(c, "audit.max_rows", &o.audit_max_rows));
  VerifyOptions& vo = o.verify;
  RETURN_IF_ERROR(GetU32(c, "verify.interval_s", &vo.interval_s));
  RETURN_IF_ERROR(GetU32(c, "verify.test_restore", &vo.test_restore));
  ASSIGN_OR_RETURN(vo.scrub_percent, c.GetDouble("verify.scrub_percent", vo.scrub_percent));
  ASSIGN_OR_RETURN(vo.remote_percent, c.GetDouble("verify.remote_percent", vo.remote_percent));
  ASSIGN_OR_RETURN(vo.scratch_dir, c.GetString("verify.scratch_dir", vo.scratch_dir));
  if (vo.scrub_percent < 0 || vo.scrub_percent > 100 || vo.remote_percent < 0 ||
      vo.remote_percent > 100) {
    return absl::InvalidArgumentError(absl::StrCat(
        c.source(), ": [verify]: scrub_percent and remote_percent must be between 0 and 100"));
  }
  TlsOptions& t = o.tls;
  ASSIGN_OR_RETURN(t.dir, c.GetString("tls.dir", t.dir));
  ASSIGN_OR_RETURN(t.ca_cert_file, c.GetString("tls.ca_cert_file", t.ca_cert_file));
  ASSIGN_OR_RETURN(t.ca_key_file, c.GetString("tls.ca_key_file", t.ca_key_file));
  ASSIGN_OR_RETURN(t.cert_file, c.GetString("tls.cert_file", t.cert_file));
  ASSIGN_OR_RETURN(t.key_file, c.GetString("tls.key_file", t.key_file));
  ASSIGN_OR_RETURN(t.names, c.GetStrings("tls.names", t.names));
  RETURN_IF_ERROR(GetU32(c, "tls.client_cert_days", &t.client_cert_days));
  RETURN_IF_ERROR(GetU32(c, "tls.admin_cert_days", &t.admin_cert_days));
  if (t.admin_cert_days == 0 || t.admin_cert_days > 36500) {
    return absl::InvalidArgumentError(
        absl::StrCat(c.source(), ": key 'tls.admin_cert_days' must be between 1 and 36500"));
  }
  if (t.ca_cert_file.empty() != t.ca_key_file.empty() ||
      t.cert_file.empty() != t.key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        c.source(),
        ": [tls]: give ca_cert_file with ca_key_file, and cert_file with key_file (or none)"));
  }
  if (o.db_pool_size == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(c.source(), ": key 'database.pool_size' must be at least 1"));
  }
  if (l.max_attempts == 0 || l.lease_ms < 1000 || l.max_report_batch == 0 ||
      l.max_chunk_size == 0 || l.max_chunk_size > 16 * 1024 * 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        c.source(),
        ": [limits]: max_attempts and max_report_batch must be >= 1, lease_ms >= 1000, "
        "max_chunk_size between 1 and 16777216"));
  }
  o.warnings = c.UnknownKeyWarnings();
  return o;
}

bool IsLoopbackListen(const std::string& listen) { return IsLoopbackTarget(listen); }

}  // namespace shoebox::coordinator
