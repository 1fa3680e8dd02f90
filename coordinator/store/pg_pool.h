// Store-internal (coordinator/store/ only): the PostgreSQL connection pool,
// transaction retry, and the mapping of libpqxx exceptions to absl::Status.
// Every statement of the store runs through PgPool::Run; no libpqxx
// exception leaves it.
//
// Error mapping: serialization failure / deadlock → ABORTED (the
// transaction is run again, up to 20 times), lost connection → UNAVAILABLE
// (the connection is re-opened and the transaction run again while
// `unavailable_retry_ms` lasts; a COMMIT whose outcome is unknown is run
// again only when the caller says the transaction is idempotent), unique
// violation → ALREADY_EXISTS, invalid text / check violation →
// INVALID_ARGUMENT, anything else → INTERNAL naming the operation.
//
// Thread-safe: any thread may call Run; calls block while every pooled
// connection is in use.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/store/store.h"

namespace shoebox::coordinator::pg {

enum class TxMode {
  // Each statement commits on its own (a pqxx::nontransaction).
  kAutocommit,
  // One transaction, committed durably.
  kTransaction,
  // One transaction committed without waiting for the WAL flush: a database
  // crash may forget the last moments of lease/complete/fail, which at worst
  // repeats an (idempotent) delivery. Catalog and chunk records stay durable.
  kQueue,
};

// The first line of a (multi-line) libpqxx message.
std::string FirstLine(const char* s);

class PgPool {
 public:
  using TxFn = std::function<absl::Status(pqxx::transaction_base&)>;

  // `prepare` runs on every new connection (prepared statements). Opens no
  // connection yet: Connect() waits for the database, Run() opens lazily.
  PgPool(const StoreOptions& options, std::function<void(pqxx::connection&)> prepare);
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Waits until the database answers (retrying with a log line), at most
  // connect_timeout_ms (0: forever); then UNAVAILABLE naming database.url.
  absl::Status Connect();

  // Runs `fn` on a pooled connection in `mode`, retrying ABORTED at once and
  // UNAVAILABLE (lost connection) while unavailable_retry_ms lasts; `fn` may
  // therefore run more than once. A status that `fn` returns rolls the
  // transaction back (ABORTED from `fn` asks for another run).
  // `idempotent`: running `fn` again after a COMMIT whose outcome is unknown
  // gives the same result, so such a transaction is retried too.
  absl::Status Run(const char* what, TxMode mode, const TxFn& fn, bool idempotent = true);

 private:
  struct Outcome {
    absl::Status status;
    bool retry = false;
  };

  Outcome RunOnce(const char* what, TxMode mode, const TxFn& fn, bool idempotent);
  // Blocks until a slot is free and takes it.
  size_t Acquire();
  bool HasFree() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !free_.empty(); }
  // Gives the slot back, closing its connection when `broken`.
  void Release(size_t slot, bool broken);

  const StoreOptions options_;
  const std::function<void(pqxx::connection&)> prepare_;
  absl::Mutex mu_;
  // slots_[i] belongs to whoever took i from free_ (not guarded by mu_).
  std::vector<std::unique_ptr<pqxx::connection>> slots_;
  std::vector<size_t> free_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shoebox::coordinator::pg
