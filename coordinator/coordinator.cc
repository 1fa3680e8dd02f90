#include "coordinator/coordinator.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/snapshot/pg_tools.h"
#include "common/status.h"
#include "common/steady_wait.h"

namespace shoebox::coordinator {

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Open(const CoordinatorOptions& o) {
  if (o.key_file.empty()) {
    return absl::InvalidArgumentError("key_file: set coordinator.key_file to the master key path");
  }
  if (o.chunk_store.empty()) {
    return absl::InvalidArgumentError(
        "chunk_store: set chunk_store.location to a directory for chunk blobs");
  }
  std::unique_ptr<Coordinator> c(new Coordinator(o));
  ASSIGN_OR_RETURN(Key256 master, LoadOrCreateMasterKey(o.key_file, o.create_key));
  c->keys_ = DeriveKeys(master);
  c->metrics_ = std::make_unique<Metrics>();
  RETURN_IF_ERROR(c->metrics_->Expose(o.metrics_listen));
  ASSIGN_OR_RETURN(c->chunk_store_, OpenChunkStore(o.chunk_store));
  c->sealed_ = std::make_unique<SealedChunkStore>(c->chunk_store_.get(), c->keys_.data_key);
  StoreOptions so;
  so.url = o.database_url;
  so.pool_size = o.db_pool_size;
  so.connect_timeout_ms = o.db_connect_timeout_ms;
  so.unavailable_retry_ms = o.db_unavailable_retry_ms;
  ASSIGN_OR_RETURN(c->store_, Store::Open(so));
  c->verify_store_ = std::make_unique<PgVerifyStore>(c->store_.get());
  c->retention_store_ = std::make_unique<PgRetentionStore>(c->store_.get());
  c->snapshot_store_ = std::make_unique<PgSnapshotStore>(c->store_.get());
  c->album_store_ = std::make_unique<PgAlbumStore>(c->store_.get());
  c->auth_ = std::make_unique<Authenticator>(o.insecure_dev, c->store_.get(), o.limits);
  if (!o.insecure_dev) {
    ASSIGN_OR_RETURN(CoordinatorPki pki, LoadOrCreatePki(o));
    // The local admin certificate is an identity like any other: record it
    // so it can be listed and revoked.
    ASSIGN_OR_RETURN(CertInfo admin, ParseCert(pki.admin_cert_pem));
    // A revoked local admin certificate (`shoebox revoke --serial`) is
    // replaced, so the CLI on this machine works again after a restart.
    absl::StatusOr<CertificateRow> known = c->store_->GetCertificate(admin.serial_hex);
    if (known.ok() && known->revoked_unix_ms != 0) {
      RETURN_IF_ERROR(RenewLocalAdminCertificate(o, &pki));
      ASSIGN_OR_RETURN(admin, ParseCert(pki.admin_cert_pem));
    }
    CertificateRow row{admin.serial_hex,
                       "admin",
                       admin.common_name,
                       admin.fingerprint_hex,
                       0,
                       admin.not_after_unix * 1000,
                       0};
    RETURN_IF_ERROR(c->store_->RecordCertificate(row));
    c->enrollment_ =
        std::make_unique<Enrollment>(std::move(pki), c->store_.get(), o.tls.client_cert_days);
  }
  Store* const store = c->store_.get();
  VerifyStore* const verify_store = c->verify_store_.get();
  c->catalog_ = std::make_unique<Catalog>(store, verify_store, c->sealed_.get(), c->keys_, o.limits,
                                          c->metrics_.get());
  c->ingest_ = std::make_unique<Ingest>(store, c->sealed_.get(), c->keys_, c->metrics_.get());
  c->transfer_store_ = std::make_unique<PgTransferStore>(store);
  c->transfers_ = std::make_unique<Transfers>(c->transfer_store_.get(), c->ingest_.get());
  c->queue_ = std::make_unique<JobQueue>(store, verify_store, o.limits);
  c->albums_ = std::make_unique<Albums>(c->album_store_.get(), store);
  AdminStores admin_stores;
  admin_stores.catalog = store;
  admin_stores.destinations = store;
  admin_stores.queue = store;
  admin_stores.status = store;
  admin_stores.identity = store;
  admin_stores.verify = verify_store;
  c->admin_ = std::make_unique<Admin>(admin_stores, c->catalog_.get(), o.limits);
  c->admin_->set_enrollment(c->enrollment_.get(), c->auth_.get());
  VerifyOptions verify_options = o.verify;
  if (verify_options.scratch_dir.empty()) {  // test restores go under the state directory
    const std::filesystem::path key(o.key_file);
    verify_options.scratch_dir = key.has_parent_path() ? key.parent_path().string() : ".";
  }
  c->verifier_ = std::make_unique<Verifier>(verify_store, c->sealed_.get(), c->keys_,
                                            c->catalog_.get(), verify_options);
  c->verifier_->StartSchedule();
  c->retention_ = std::make_unique<Retention>(c->retention_store_.get(), store,
                                              c->chunk_store_.get(), o.prune_grace_s);
  c->retention_->StartSchedule(o.prune_interval_s);
  c->snapshots_ = std::make_unique<CatalogSnapshots>(
      [url = o.database_url] { return snapshot::DumpDatabase(url); }, c->chunk_store_.get(),
      c->snapshot_store_.get(), c->keys_.catalog_key, o.snapshot_interval_s, o.snapshot_keep);
  c->snapshots_->StartSchedule();
  notify::NotifierOptions notify_options;
  notify_options.chunk_store = o.chunk_store;
  notify_options.worker_stale_ms = o.limits.worker_stale_ms;
  notify_options.secret_key = HkdfSha256(master.data(), master.size(), "shoebox notify key");
  c->notifier_ = std::make_unique<notify::Notifier>(store, notify_options);
  c->notifier_->Start();
  c->metrics_->DatabaseUp(true);
  c->housekeeping_ = std::thread([p = c.get()] { p->Housekeeping(); });
  SPDLOG_INFO("event=coordinator_open chunk_store=\"{}\" schema_version={}",
              c->chunk_store_->Describe(), SchemaVersion());
  return c;
}

Coordinator::~Coordinator() {
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (housekeeping_.joinable()) housekeeping_.join();
}

void Coordinator::OnHealth(std::function<void(bool)> fn) {
  absl::MutexLock l(&mu_);
  on_health_ = std::move(fn);
}

void Coordinator::Housekeeping() {
  const absl::Duration period =
      absl::Milliseconds(std::max<uint32_t>(options_.housekeeping_ms, 50));
  // Intervals: on the monotonic clock (a step of the wall clock back would
  // stop the metrics and the audit pruning for its size).
  SteadyTime next_metrics = SteadyNow();
  SteadyTime next_audit_prune = SteadyNow();
  SteadyTime next_transfer_lists = SteadyNow();
  bool healthy = true;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(stop_mu_);
      stop_cv_.wait_for(l, absl::ToChronoMilliseconds(period), [this] { return stop_; });
      if (stop_) return;
    }
    // Counts of aggregated refusals; the audit log's retention, hourly.
    auth_->FlushAudit();
    if (SteadyNow() >= next_audit_prune) {
      next_audit_prune = SteadyNow() + std::chrono::hours(1);
      absl::StatusOr<uint64_t> pruned =
          store_->PruneAudit(options_.audit_retention_days, options_.audit_max_rows);
      if (!pruned.ok()) {
        next_audit_prune = SteadyNow() + std::chrono::minutes(1);
        SPDLOG_WARN("event=audit_prune_failed error=\"{}\"",
                    std::string(pruned.status().message()));
      } else if (*pruned > 0) {
        SPDLOG_INFO("event=audit_pruned rows={} retention_days={} max_rows={}", *pruned,
                    options_.audit_retention_days, options_.audit_max_rows);
      }
    }
    // Transfers (issue 21): list each active source again when it is due.
    if (options_.transfer_list_interval_s != 0 && SteadyNow() >= next_transfer_lists) {
      next_transfer_lists = SteadyNow() + std::chrono::seconds(std::min<uint32_t>(
                                              options_.transfer_list_interval_s, 60));
      absl::StatusOr<uint64_t> n = transfers_->ScheduleLists(static_cast<uint32_t>(
          std::min<uint64_t>(uint64_t{options_.transfer_list_interval_s} * 1000, UINT32_MAX)));
      if (!n.ok()) {
        SPDLOG_WARN("event=transfer_schedule_failed error=\"{}\"",
                    std::string(n.status().message()));
      } else if (*n > 0) {
        SPDLOG_INFO("event=transfer_lists_queued count={}", *n);
      }
    }
    absl::StatusOr<SweepResult> s = queue_->Sweep(false, options_.housekeeping_ms / 2);
    bool ok = s.ok();
    if (ok && SteadyNow() >= next_metrics) {
      next_metrics = SteadyNow() + std::chrono::seconds(5);
      absl::StatusOr<std::vector<uint64_t>> counts = store_->JobCountsByState();
      ok = counts.ok();
      if (ok) metrics_->SetQueueDepth(*counts);
      // Per transfer progress (counters, docs/transfers.md "Status").
      if (ok) {
        absl::StatusOr<shoebox::v1::ListTransfersResponse> tr = transfers_->List();
        if (tr.ok()) {
          std::vector<Metrics::TransferProgress> tp;
          for (const shoebox::v1::Transfer& t : tr->transfers()) {
            tp.push_back({t.name(), t.items_fetched(), t.bytes_fetched(), t.items_pending()});
          }
          metrics_->SetTransfers(tp);
        }
      }
    }
    if (ok != healthy) {
      healthy = ok;
      if (!ok) {
        SPDLOG_WARN("event=db_unhealthy error=\"{}\"",
                    s.ok() ? std::string("job count failed") : std::string(s.status().message()));
      } else {
        SPDLOG_INFO("event=db_healthy");
      }
      metrics_->DatabaseUp(ok);
      // Called under the lock so OnHealth(nullptr) guarantees no later call.
      absl::MutexLock l(&mu_);
      if (on_health_) on_health_(ok);
    }
  }
}

}  // namespace shoebox::coordinator
