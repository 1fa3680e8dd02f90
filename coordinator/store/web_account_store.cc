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

}  // namespace shoebox::coordinator
