// The transfers' store (issue 21, slice 2; migration 18; docs/transfers.md):
// transfers, the saved listing of each source, and their list and fetch
// jobs. PostgreSQL implementation in transfer_store.cc, one transaction per
// call through Store::RunInTransaction.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox::coordinator {

class Store;

struct ListingEntry {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string etag;
  // Photo services (slice 3, migration 20): the album titles the item is in
  // at the source, sorted, and its capture time (0 unknown).
  std::vector<std::string> albums{};
  int64_t capture_ns = 0;
  bool operator==(const ListingEntry&) const = default;
};

struct TransferSpec {
  std::string name;
  std::string source;
  std::vector<std::string> targets;
  bool pass_through = false;
  int64_t since_ms = 0;
};

struct TransferTargetRow {
  std::string destination;
  uint64_t delivered = 0;
  uint64_t pending = 0;
  // Progress (migration 21): bytes delivered, dead deliveries, why the
  // pending deliveries wait (the queue's WaitingReason; "" not waiting).
  uint64_t delivered_bytes = 0;
  uint64_t failed = 0;
  std::string waiting;
};

struct TransferRow {
  int64_t id = 0;
  TransferSpec spec;
  std::string source_kind;
  std::string state;  // active | paused | cancelled
  int64_t created_unix_ms = 0;
  int64_t last_listed_unix_ms = 0;
  uint64_t items_found = 0;
  uint64_t items_fetched = 0;
  uint64_t bytes_fetched = 0;
  uint64_t items_pending = 0;
  uint64_t items_failed = 0;
  uint64_t items_retrying = 0;
  std::vector<TransferTargetRow> targets;
  // Why the source's jobs wait: paused destination, refused credentials,
  // the last error of a fetch waiting for its retry ("" none).
  std::string source_paused;
  std::string source_auth_error;
  std::string retry_error;
  // Progress (migration 21; docs/transfers.md "Status"). Fetches completed
  // in the rate window (the last kRateWindowS seconds, or since the earliest
  // of those fetches was queued when that is later) and the window's length.
  uint64_t window_items = 0;
  uint64_t window_bytes = 0;
  double window_s = 0;
  // Why the source's transfer jobs wait, in the queue's words
  // (WaitingReason): a backoff after a budget/Retry-After/error, the source
  // paused, refusing its credentials, served by no worker ("" none).
  std::string source_waiting;
};

// The rate window of `transfer list` (docs/transfers.md).
inline constexpr int kTransferRateWindowS = 300;

// The caller's current lease on a transfer job of kind `kind`.
struct TransferLease {
  int64_t job_id = 0;
  std::string token;
  int64_t worker_id = 0;
  int kind = 0;
};

// What the coordinator knows of the item of a fetch job from the listing
// that queued it: the transfer (the ingest's source), albums, capture time.
struct FetchFacts {
  std::string transfer;
  std::vector<std::string> albums;
  int64_t capture_ns = 0;
};

struct ListingOutcome {
  uint64_t found = 0;
  uint64_t queued = 0;
  uint64_t unchanged = 0;
  uint64_t gone = 0;
};

class TransferStore {
 public:
  virtual ~TransferStore() = default;
  // Checks and creates in one transaction: the device `spec.name` (hostname
  // "import", folder "/<name>"), its bindings to the targets, a pass-through
  // retention policy when asked, the transfer and its first list job.
  // `can_list` decides about the source's kind. Errors as Transfers::Add.
  virtual absl::StatusOr<TransferRow> AddTransfer(
      const TransferSpec& spec, const std::function<bool(const std::string&)>& can_list) = 0;
  virtual absl::StatusOr<std::vector<TransferRow>> ListTransfers() = 0;
  virtual absl::StatusOr<TransferRow> SetTransferState(const std::string& name,
                                                       const std::string& state) = 0;
  // Under the lease of a list job: loads the saved listing, hands it to
  // `diff` (previous, since_ms) which returns the listing to save and the
  // entries to fetch, queues one fetch job per entry (none when one is
  // unfinished for the path) and saves the listing, in one transaction.
  // `next_cursor` (when not null) is saved as the transfer's list cursor in
  // that transaction too.
  virtual absl::StatusOr<ListingOutcome> ApplyListing(
      const TransferLease& lease,
      const std::function<void(const std::vector<ListingEntry>& previous, int64_t since_ms,
                               std::vector<ListingEntry>* save, std::vector<ListingEntry>* fetch,
                               ListingOutcome* counts)>& diff,
      const std::string* next_cursor = nullptr) = 0;
  // Under the lease of a list job: the cursor saved by the last listing
  // ("" none).
  virtual absl::StatusOr<std::string> ListCursor(const TransferLease& lease) = 0;
  // Under the lease of a fetch job: the transfer and the item's listed
  // albums and capture time.
  virtual absl::StatusOr<FetchFacts> LeasedFetch(const TransferLease& lease) = 0;
  // The transfer's name for a current lease (PERMISSION_DENIED otherwise).
  virtual absl::StatusOr<std::string> LeasedTransfer(const TransferLease& lease) = 0;
  virtual absl::StatusOr<uint64_t> ScheduleLists(uint32_t interval_ms) = 0;
};

class PgTransferStore final : public TransferStore {
 public:
  // Borrows `store`, which must outlive this object.
  explicit PgTransferStore(Store* store) : store_(store) {}
  absl::StatusOr<TransferRow> AddTransfer(
      const TransferSpec& spec, const std::function<bool(const std::string&)>& can_list) override;
  absl::StatusOr<std::vector<TransferRow>> ListTransfers() override;
  absl::StatusOr<TransferRow> SetTransferState(const std::string& name,
                                               const std::string& state) override;
  absl::StatusOr<ListingOutcome> ApplyListing(
      const TransferLease& lease,
      const std::function<void(const std::vector<ListingEntry>& previous, int64_t since_ms,
                               std::vector<ListingEntry>* save, std::vector<ListingEntry>* fetch,
                               ListingOutcome* counts)>& diff,
      const std::string* next_cursor = nullptr) override;
  absl::StatusOr<std::string> ListCursor(const TransferLease& lease) override;
  absl::StatusOr<FetchFacts> LeasedFetch(const TransferLease& lease) override;
  absl::StatusOr<std::string> LeasedTransfer(const TransferLease& lease) override;
  absl::StatusOr<uint64_t> ScheduleLists(uint32_t interval_ms) override;

 private:
  Store* const store_;
};

}  // namespace shoebox::coordinator
