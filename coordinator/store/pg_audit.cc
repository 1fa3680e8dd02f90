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

absl::StatusOr<int64_t> PgStore::InsertAudit(const AuditEntry& e) {
  int64_t id = 0;
  RETURN_IF_ERROR(Run(
      "audit", TxMode::kAutocommit,
      [&](Tx& tx) {
        id = tx.exec_params1(
                   "INSERT INTO audit_log (actor_kind, actor, action, target, allowed, detail, "
                   "count) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                   e.actor_kind, e.actor, e.action, e.target, e.allowed, e.detail,
                   static_cast<int64_t>(e.count))[0]
                 .as<int64_t>();
        return absl::OkStatus();
      },
      /*idempotent=*/false));
  return id;
}

absl::Status PgStore::AddAuditCount(int64_t id, uint64_t n) {
  return Run(
      "audit count", TxMode::kAutocommit,
      [&](Tx& tx) {
        tx.exec_params("UPDATE audit_log SET count = count + $2, last_at = now() WHERE id = $1", id,
                       static_cast<int64_t>(n));
        return absl::OkStatus();
      },
      /*idempotent=*/false);
}

absl::StatusOr<uint64_t> PgStore::PruneAudit(uint32_t keep_days, uint64_t max_rows) {
  uint64_t n = 0;
  RETURN_IF_ERROR(Run("prune audit log", TxMode::kTransaction, [&](Tx& tx) {
    n = 0;
    if (keep_days != 0) {
      n += tx.exec_params("DELETE FROM audit_log WHERE at < now() - make_interval(days => $1::int)",
                          static_cast<int64_t>(keep_days))
               .affected_rows();
    }
    if (max_rows != 0) {
      n += tx.exec_params(
                 "DELETE FROM audit_log WHERE id <= (SELECT id FROM audit_log ORDER BY id DESC "
                 "OFFSET $1 LIMIT 1)",
                 static_cast<int64_t>(max_rows))
               .affected_rows();
    }
    return absl::OkStatus();
  }));
  return n;
}

absl::StatusOr<std::vector<AuditEntry>> PgStore::RecentAudit(uint32_t limit) {
  std::vector<AuditEntry> out;
  RETURN_IF_ERROR(Run("read audit log", TxMode::kAutocommit, [&](Tx& tx) {
    out.clear();
    for (const auto& row : tx.exec_params(
             "SELECT actor_kind, actor, action, target, allowed, detail, count FROM audit_log "
             "ORDER BY id DESC LIMIT $1",
             static_cast<int64_t>(limit))) {
      AuditEntry e{row[0].c_str(), row[1].c_str(),    row[2].c_str(),
                   row[3].c_str(), row[4].as<bool>(), row[5].c_str()};
      e.count = static_cast<uint64_t>(row[6].as<int64_t>());
      out.push_back(std::move(e));
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace shoebox::coordinator::pg
