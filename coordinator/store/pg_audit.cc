// The audit log (libpqxx 6.4). See pg_store.h.
#include "common/status.h"
#include "coordinator/store/pg_store.h"

namespace shoebox::coordinator::pg {

absl::Status PgStore::Audit(const AuditEntry& e) {
  return Run(
      "audit", TxMode::kAutocommit,
      [&](Tx& tx) {
        tx.exec_params(
            "INSERT INTO audit_log (actor_kind, actor, action, target, allowed, detail) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            e.actor_kind, e.actor, e.action, e.target, e.allowed, e.detail);
        return absl::OkStatus();
      },
      /*idempotent=*/false);
}

absl::StatusOr<std::vector<AuditEntry>> PgStore::RecentAudit(uint32_t limit) {
  std::vector<AuditEntry> out;
  RETURN_IF_ERROR(Run("read audit log", TxMode::kAutocommit, [&](Tx& tx) {
    out.clear();
    for (const auto& row :
         tx.exec_params("SELECT actor_kind, actor, action, target, allowed, detail FROM audit_log "
                        "ORDER BY id DESC LIMIT $1",
                        static_cast<int64_t>(limit))) {
      out.push_back(AuditEntry{row[0].c_str(), row[1].c_str(), row[2].c_str(), row[3].c_str(),
                               row[4].as<bool>(), row[5].c_str()});
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace shoebox::coordinator::pg
