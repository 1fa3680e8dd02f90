// Identities (libpqxx 6.4): enrollment tokens and issued certificates.
// See pg_store.h.
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "coordinator/store/pg_store.h"

namespace shoebox::coordinator::pg {

namespace {

std::string FormatUtcMs(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

CertificateRow CertFromRow(const pqxx::row& row) {
  CertificateRow c;
  c.serial = row[0].c_str();
  c.role = row[1].c_str();
  c.name = row[2].c_str();
  c.fingerprint = row[3].c_str();
  c.issued_unix_ms = row[4].as<int64_t>();
  c.expires_unix_ms = row[5].as<int64_t>();
  c.revoked_unix_ms = row[6].as<int64_t>();
  return c;
}

void InsertCertificate(Tx& tx, const CertificateRow& c) {
  tx.exec_params(
      "INSERT INTO certificates (serial, role, name, fingerprint, expires_at) "
      "VALUES ($1, $2, $3, $4, to_timestamp($5::bigint / 1000.0)) ON CONFLICT (serial) DO "
      "NOTHING",
      c.serial, c.role, c.name, c.fingerprint, c.expires_unix_ms);
}

constexpr char kCertColumns[] =
    "serial, role, name, fingerprint, epoch_ms(issued_at), epoch_ms(expires_at), "
    "epoch_ms(revoked_at)";

}  // namespace

absl::Status PgStore::CreateEnrollToken(const std::string& token_sha256, const std::string& device,
                                        const std::string& worker, int64_t expires_unix_ms) {
  return Run(
      "create enroll token", TxMode::kAutocommit,
      [&](Tx& tx) {
        tx.exec_params(
            "INSERT INTO enroll_tokens (token_sha256, device, worker, expires_at) "
            "VALUES ($1, $2, $3, to_timestamp($4::bigint / 1000.0))",
            BinParam(token_sha256), device, worker, expires_unix_ms);
        return absl::OkStatus();
      },
      /*idempotent=*/false);
}

absl::StatusOr<std::string> PgStore::ConsumeEnrollToken(const std::string& token_sha256,
                                                        const std::string& role,
                                                        const std::string& used_by,
                                                        const IssueForName& issue) {
  std::string name;
  RETURN_IF_ERROR(Run(
      "use enroll token", TxMode::kTransaction,
      [&](Tx& tx) {
        pqxx::result r = tx.exec_params(
            "SELECT device, worker, epoch_ms(expires_at), epoch_ms(used_at), used_by, "
            "expires_at < now() FROM enroll_tokens WHERE token_sha256 = $1 FOR UPDATE",
            BinParam(token_sha256));
        if (r.empty()) {
          return absl::NotFoundError(
              "enroll token is not known to this coordinator (mistyped, forged, or issued by "
              "another "
              "coordinator); ask the admin for a new one: shoebox enroll-token");
        }
        const std::string device = r[0][0].c_str(), worker = r[0][1].c_str();
        if (!r[0][3].is_null() && r[0][3].as<int64_t>() != 0) {
          return absl::FailedPreconditionError(absl::StrCat(
              "enroll token was already used at ", FormatUtcMs(r[0][3].as<int64_t>()), " (by ",
              r[0][4].c_str(), "); a token works once: ask the admin for a new one"));
        }
        if (r[0][5].as<bool>()) {
          return absl::FailedPreconditionError(
              absl::StrCat("enroll token expired at ", FormatUtcMs(r[0][2].as<int64_t>()),
                           "; ask the admin for a new one (shoebox enroll-token --ttl ...)"));
        }
        const std::string token_role = device.empty() ? "worker" : "device";
        if (token_role != role) {
          return absl::PermissionDeniedError(
              absl::StrCat("enroll token is for a ", token_role, ", not a ", role, "; use shoebox-",
                           token_role == "device" ? "agent" : "worker", " enroll with it"));
        }
        tx.exec_params(
            "UPDATE enroll_tokens SET used_at = now(), used_by = $2 WHERE token_sha256 = $1",
            BinParam(token_sha256), used_by);
        name = device.empty() ? worker : device;
        // A new token for a revoked device is the admin letting it back in.
        if (!device.empty())
          tx.exec_params("UPDATE devices SET revoked = false WHERE name = $1", device);
        // The certificate is recorded in the same transaction: a token is
        // never used up without a certificate to show for it.
        absl::StatusOr<CertificateRow> c = issue(name);
        if (!c.ok()) return c.status();
        InsertCertificate(tx, *c);
        return absl::OkStatus();
      },
      /*idempotent=*/false));
  return name;
}

absl::Status PgStore::RecordCertificate(const CertificateRow& c) {
  return Run("record certificate", TxMode::kTransaction, [&](Tx& tx) {
    InsertCertificate(tx, c);
    return absl::OkStatus();
  });
}

absl::StatusOr<CertificateRow> PgStore::GetCertificate(const std::string& serial) {
  CertificateRow out;
  RETURN_IF_ERROR(Run("look up certificate", TxMode::kAutocommit, [&](Tx& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kCertColumns, " FROM certificates WHERE serial = $1"), serial);
    if (r.empty())
      return absl::NotFoundError(absl::StrCat("certificate ", serial, " is not recorded"));
    out = CertFromRow(r[0]);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<uint64_t> PgStore::RevokeIdentity(const std::string& role, const std::string& name) {
  uint64_t n = 0;
  RETURN_IF_ERROR(Run(
      "revoke", TxMode::kTransaction,
      [&](Tx& tx) {
        if (tx.exec_params("SELECT 1 FROM certificates WHERE role = $1 AND name = $2", role, name)
                .empty()) {
          return absl::NotFoundError(absl::StrCat("no certificate was issued to ", role, " '", name,
                                                  "'; see shoebox certs"));
        }
        n = tx.exec_params(
                  "UPDATE certificates SET revoked_at = now() "
                  "WHERE role = $1 AND name = $2 AND revoked_at IS NULL",
                  role, name)
                .affected_rows();
        if (role == "device")
          tx.exec_params("UPDATE devices SET revoked = true WHERE name = $1", name);
        return absl::OkStatus();
      },
      /*idempotent=*/false));
  return n;
}

absl::StatusOr<CertificateRow> PgStore::RevokeCertificate(const std::string& serial) {
  CertificateRow before;
  RETURN_IF_ERROR(Run(
      "revoke certificate", TxMode::kTransaction,
      [&](Tx& tx) {
        pqxx::result r =
            tx.exec_params(absl::StrCat("SELECT ", kCertColumns,
                                        " FROM certificates WHERE lower(serial) = lower($1)"),
                           serial);
        if (r.empty()) {
          return absl::NotFoundError(
              absl::StrCat("no certificate has serial ", serial, "; see shoebox certs"));
        }
        before = CertFromRow(r[0]);
        if (before.revoked_unix_ms != 0) return absl::OkStatus();
        if (before.role == "admin") {
          // Lock every admin certificate (in one order, so two revocations
          // at once cannot both see the other's as the remaining one).
          int others = 0;
          for (const auto& row : tx.exec_params(
                   "SELECT serial, revoked_at IS NULL AND expires_at > now() FROM certificates "
                   "WHERE role = 'admin' ORDER BY serial FOR UPDATE")) {
            if (row[0].c_str() != before.serial && row[1].as<bool>()) ++others;
          }
          if (others == 0) {
            return absl::FailedPreconditionError(absl::StrCat(
                "certificate ", before.serial,
                " is the last valid admin certificate; revoking it "
                "would leave nobody able to administer this coordinator. Make another first (a "
                "coordinator replica sharing the CA creates its own admin certificate, or move "
                "admin.crt/admin.key aside and restart), then revoke this one"));
          }
        }
        tx.exec_params(
            "UPDATE certificates SET revoked_at = now() WHERE serial = $1 AND revoked_at IS NULL",
            before.serial);
        return absl::OkStatus();
      },
      /*idempotent=*/false));
  return before;
}

absl::StatusOr<std::vector<CertificateRow>> PgStore::ListCertificates() {
  std::vector<CertificateRow> out;
  RETURN_IF_ERROR(Run("list certificates", TxMode::kAutocommit, [&](Tx& tx) {
    out.clear();
    for (const auto& row : tx.exec(absl::StrCat(
             "SELECT ", kCertColumns, " FROM certificates ORDER BY issued_at DESC, serial")))
      out.push_back(CertFromRow(row));
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace shoebox::coordinator::pg
