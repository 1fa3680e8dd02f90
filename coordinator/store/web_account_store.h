// Accounts of the web dashboard (issue 22, docs/web.md): name, role, the
// Argon2id hash the web process made, and the devices a member sees. The
// PostgreSQL implementation runs each call in one transaction through
// Store::RunInTransaction; it is stateless, so callers may make one per call.
// Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox::coordinator {

class Store;

struct WebAccountRow {
  std::string name;
  std::string role;  // "admin" | "member"
  std::string password_hash;
  int64_t created_unix_ms = 0;
  int64_t changed_unix_ms = 0;
  std::vector<std::string> devices;  // sorted
};

// The TOTP row of an account (migration 19): the sealed key as stored.
struct WebTotpRow {
  bool enabled = false;
  std::string sealed_secret;
  int64_t last_step = 0;
  bool admins_require_totp = false;  // some admin has it enabled
};

// One audit log row for the web Activity page.
struct WebAuditRow {
  int64_t id = 0;
  int64_t unix_ms = 0;
  std::string actor_kind, actor, action, target, detail;
  bool allowed = true;
  int64_t count = 1;
};

class WebAccountStore {
 public:
  // Borrows `store`, which must outlive this object.
  explicit WebAccountStore(Store* store) : store_(store) {}

  // ALREADY_EXISTS when the name is taken; NOT_FOUND naming the first device
  // in `row.devices` that was never enrolled. Times are set by the database.
  absl::StatusOr<WebAccountRow> Create(const WebAccountRow& row);
  // Every account by name, without hashes.
  absl::StatusOr<std::vector<WebAccountRow>> List();
  // The account with its hash; NOT_FOUND when there is none.
  absl::StatusOr<WebAccountRow> Get(const std::string& name);
  // Replaces the hash and sets changed_at; NOT_FOUND when there is no such
  // account.
  absl::StatusOr<WebAccountRow> SetPassword(const std::string& name, const std::string& hash);

  // Slice 2. Stores the sealed key and enables TOTP (sealed non-empty), or
  // removes it (sealed empty); NOT_FOUND when there is no such account.
  absl::Status SetTotp(const std::string& name, const std::string& sealed);
  // The account's TOTP row (enabled=false when it has none); NOT_FOUND
  // when there is no such account.
  absl::StatusOr<WebTotpRow> GetTotp(const std::string& name);
  // Records `step` as used when it is newer than the last one; false when
  // it is not (a replayed code). NOT_FOUND without TOTP.
  absl::StatusOr<bool> UseTotpStep(const std::string& name, int64_t step);
  // Binds (`bind`) or unbinds a device of a member; FAILED_PRECONDITION for
  // an admin, NOT_FOUND for an unknown account, device or binding.
  absl::StatusOr<WebAccountRow> BindDevice(const std::string& name, const std::string& device,
                                           bool bind);
  // Audit log rows with id < before_id (0: any), newest first.
  absl::StatusOr<std::vector<WebAuditRow>> ListAudit(int64_t before_id, uint32_t limit);

 private:
  Store* const store_;
};

}  // namespace shoebox::coordinator
