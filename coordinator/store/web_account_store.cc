#include "coordinator/store/web_account_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "coordinator/store/store.h"

namespace shoebox::coordinator {

namespace {

constexpr char kColumns[] = "name, role, password_hash, epoch_ms(created_at), epoch_ms(changed_at)";

WebAccountRow FromRow(const pqxx::row& r) {
  WebAccountRow a;
  a.name = r[0].as<std::string>();
  a.role = r[1].as<std::string>();
  a.password_hash = r[2].as<std::string>();
  a.created_unix_ms = r[3].as<int64_t>();
  a.changed_unix_ms = r[4].as<int64_t>();
  return a;
}

void LoadDevices(pqxx::transaction_base& tx, WebAccountRow* a) {
  a->devices.clear();
  for (const pqxx::row& r : tx.exec_params(
           "SELECT device FROM web_account_devices WHERE account = $1 ORDER BY device", a->name)) {
    a->devices.push_back(r[0].as<std::string>());
  }
}

// Loads `name` with its devices into *out; false when there is none.
bool Load(pqxx::transaction_base& tx, const std::string& name, WebAccountRow* out) {
  pqxx::result r =
      tx.exec_params(absl::StrCat("SELECT ", kColumns, " FROM web_accounts WHERE name = $1"), name);
  if (r.empty()) return false;
  *out = FromRow(r[0]);
  LoadDevices(tx, out);
  return true;
}

absl::Status NoSuchAccount(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("web account \"", name,
                                          "\" does not exist (list them with `shoebox web user "
                                          "list`, create one with `shoebox web user add`)"));
}

}  // namespace

absl::StatusOr<WebAccountRow> WebAccountStore::Create(const WebAccountRow& row) {
  WebAccountRow out;
  absl::Status st = store_->RunInTransaction("create web account", [&](pqxx::transaction_base& tx) {
    if (!tx.exec_params("SELECT 1 FROM web_accounts WHERE name = $1", row.name).empty()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "web account \"", row.name,
          "\" already exists (change its password with `shoebox web user passwd ", row.name, "`)"));
    }
    for (const std::string& d : row.devices) {
      if (tx.exec_params("SELECT 1 FROM devices WHERE name = $1", d).empty()) {
        return absl::NotFoundError(absl::StrCat(
            "device \"", d, "\" is not enrolled (see `shoebox devices` for the names)"));
      }
    }
    tx.exec_params("INSERT INTO web_accounts (name, role, password_hash) VALUES ($1, $2, $3)",
                   row.name, row.role, row.password_hash);
    for (const std::string& d : row.devices) {
      tx.exec_params(
          "INSERT INTO web_account_devices (account, device) VALUES ($1, $2) ON CONFLICT DO "
          "NOTHING",
          row.name, d);
    }
    Load(tx, row.name, &out);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<std::vector<WebAccountRow>> WebAccountStore::List() {
  std::vector<WebAccountRow> out;
  absl::Status st = store_->RunInTransaction("list web accounts", [&](pqxx::transaction_base& tx) {
    out.clear();
    for (const pqxx::row& r :
         tx.exec(absl::StrCat("SELECT ", kColumns, " FROM web_accounts ORDER BY name"))) {
      WebAccountRow a = FromRow(r);
      a.password_hash.clear();
      LoadDevices(tx, &a);
      out.push_back(std::move(a));
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<WebAccountRow> WebAccountStore::Get(const std::string& name) {
  WebAccountRow out;
  absl::Status st = store_->RunInTransaction("read web account", [&](pqxx::transaction_base& tx) {
    return Load(tx, name, &out) ? absl::OkStatus() : NoSuchAccount(name);
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<WebAccountRow> WebAccountStore::SetPassword(const std::string& name,
                                                           const std::string& hash) {
  WebAccountRow out;
  absl::Status st =
      store_->RunInTransaction("set web account password", [&](pqxx::transaction_base& tx) {
        if (tx.exec_params(
                  "UPDATE web_accounts SET password_hash = $2, changed_at = now() WHERE name = $1",
                  name, hash)
                .affected_rows() == 0) {
          return NoSuchAccount(name);
        }
        Load(tx, name, &out);
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  out.password_hash.clear();
  return out;
}

absl::Status WebAccountStore::SetTotp(const std::string& name, const std::string& sealed) {
  return store_->RunInTransaction("set web account totp", [&](pqxx::transaction_base& tx) {
    if (tx.exec_params("SELECT 1 FROM web_accounts WHERE name = $1", name).empty()) {
      return NoSuchAccount(name);
    }
    if (sealed.empty()) {
      tx.exec_params("DELETE FROM web_account_totp WHERE account = $1", name);
    } else {
      tx.exec_params(
          "INSERT INTO web_account_totp (account, sealed_secret) VALUES ($1, $2) "
          "ON CONFLICT (account) DO UPDATE SET sealed_secret = EXCLUDED.sealed_secret, "
          "enabled = true, last_step = 0, changed_at = now()",
          name, pqxx::binarystring(sealed));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<WebTotpRow> WebAccountStore::GetTotp(const std::string& name) {
  WebTotpRow out;
  absl::Status st =
      store_->RunInTransaction("read web account totp", [&](pqxx::transaction_base& tx) {
        out = WebTotpRow();
        if (tx.exec_params("SELECT 1 FROM web_accounts WHERE name = $1", name).empty()) {
          return NoSuchAccount(name);
        }
        pqxx::result r = tx.exec_params(
            "SELECT sealed_secret, enabled, last_step FROM web_account_totp WHERE account = $1",
            name);
        if (!r.empty()) {
          pqxx::binarystring b(r[0][0]);
          out.sealed_secret = b.str();
          out.enabled = r[0][1].as<bool>();
          out.last_step = r[0][2].as<int64_t>();
        }
        out.admins_require_totp = !tx.exec(
                                         "SELECT 1 FROM web_account_totp t JOIN web_accounts a "
                                         "ON a.name = t.account WHERE a.role = 'admin' AND "
                                         "t.enabled LIMIT 1")
                                       .empty();
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<bool> WebAccountStore::UseTotpStep(const std::string& name, int64_t step) {
  bool accepted = false;
  absl::Status st = store_->RunInTransaction("use web totp step", [&](pqxx::transaction_base& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT last_step FROM web_account_totp WHERE account = $1 AND enabled FOR UPDATE", name);
    if (r.empty()) {
      return absl::NotFoundError(absl::StrCat("web account \"", name, "\" has no TOTP enabled"));
    }
    accepted = step > r[0][0].as<int64_t>();
    if (accepted) {
      tx.exec_params("UPDATE web_account_totp SET last_step = $2 WHERE account = $1", name, step);
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return accepted;
}

absl::StatusOr<WebAccountRow> WebAccountStore::BindDevice(const std::string& name,
                                                          const std::string& device, bool bind) {
  WebAccountRow out;
  absl::Status st =
      store_->RunInTransaction("bind web account device", [&](pqxx::transaction_base& tx) {
        if (!Load(tx, name, &out)) return NoSuchAccount(name);
        if (out.role == "admin") {
          return absl::FailedPreconditionError(
              absl::StrCat("web account \"", name,
                           "\" is an admin and sees every device; bind devices to members only"));
        }
        if (bind) {
          if (tx.exec_params("SELECT 1 FROM devices WHERE name = $1", device).empty()) {
            return absl::NotFoundError(absl::StrCat(
                "device \"", device, "\" is not enrolled (see `shoebox devices` for the names)"));
          }
          tx.exec_params(
              "INSERT INTO web_account_devices (account, device) VALUES ($1, $2) ON CONFLICT DO "
              "NOTHING",
              name, device);
        } else if (tx.exec_params(
                         "DELETE FROM web_account_devices WHERE account = $1 AND device = $2", name,
                         device)
                       .affected_rows() == 0) {
          return absl::NotFoundError(
              absl::StrCat("web account \"", name, "\" is not bound to device \"", device, "\""));
        }
        Load(tx, name, &out);
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  out.password_hash.clear();
  return out;
}

absl::StatusOr<std::vector<WebAuditRow>> WebAccountStore::ListAudit(int64_t before_id,
                                                                    uint32_t limit) {
  std::vector<WebAuditRow> out;
  absl::Status st = store_->RunInTransaction("read audit log", [&](pqxx::transaction_base& tx) {
    out.clear();
    for (const pqxx::row& r : tx.exec_params(
             "SELECT id, epoch_ms(at), actor_kind, actor, action, target, allowed, detail, count "
             "FROM audit_log WHERE ($1::bigint = 0 OR id < $1::bigint) ORDER BY id DESC LIMIT $2",
             before_id, static_cast<int64_t>(limit))) {
      WebAuditRow a;
      a.id = r[0].as<int64_t>();
      a.unix_ms = r[1].as<int64_t>();
      a.actor_kind = r[2].as<std::string>();
      a.actor = r[3].as<std::string>();
      a.action = r[4].as<std::string>();
      a.target = r[5].as<std::string>();
      a.allowed = r[6].as<bool>();
      a.detail = r[7].as<std::string>();
      a.count = r[8].as<int64_t>();
      out.push_back(std::move(a));
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace shoebox::coordinator
