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

 private:
  Store* const store_;
};

}  // namespace shoebox::coordinator
