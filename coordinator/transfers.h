// Transfers (issue 21, slice 2; docs/transfers.md): a configured
// destination that can list and read (the source) is read by workers into
// the device named after the transfer, whose folder is bound to the target
// destinations, so the items are deduplicated, versioned and delivered by
// the ordinary machinery.
//
//   - A list job (JOB_KIND_TRANSFER_LIST, a job of the source destination)
//     lists the source; ReportListing compares the listing with the one saved
//     at the last run (DiffListing) and, in one transaction, queues one fetch
//     job (JOB_KIND_TRANSFER) per new or changed item and saves the listing.
//   - A fetch job gets the item and streams it with IngestItem, which goes
//     through Ingest exactly as AdminService.ImportItems does.
//   - Paused and cancelled transfers get no new jobs, and their queued jobs
//     are not leased (pg_queue.cc, lease_from); cancel cancels them.
//   - ScheduleLists (housekeeping) queues a list job for every active
//     transfer not listed for `list_interval`.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/ingest.h"
#include "coordinator/store/transfer_store.h"
#include "shoebox/v1/admin.pb.h"
#include "shoebox/v1/worker.pb.h"

namespace shoebox::coordinator {

// The pure comparison of a source's listing with the one saved at the last
// run. An item is fetched when its path is new, or when its size, mtime or
// etag changed (an etag only when both listings have one). Items older than
// `since_ns` (mtime known and before it) and Shoebox's own files under
// ".shoebox/" are left out of `now` (neither fetched nor saved).
struct ListingDiff {
  std::vector<ListingEntry> current;  // what is saved as the new listing
  std::vector<ListingEntry> fetch;    // new or changed, in path order
  uint64_t unchanged = 0;
  uint64_t gone = 0;  // in `previous`, not in `current`
};
// Albums (slice 3) are compared as sets: a change of membership alone is a
// change. With `changes_only` (a source's incremental listing,
// Connector::ListChanges) `now` holds only what changed since the saved
// cursor: the previous entries it does not name stay in `current`, and
// nothing is gone.
ListingDiff DiffListing(const std::vector<ListingEntry>& previous, std::vector<ListingEntry> now,
                        int64_t since_ns, bool changes_only = false);

// Kinds a transfer may read in this version: their connectors List and Get
// whole trees, or (photo services, slice 3) list the account's items with
// their albums (Connector::ListChanges) and read their originals.
bool KindCanBeTransferSource(const std::string& kind);

// The rate and ETA of `transfer list` (docs/transfers.md "Status"): fetches
// completed in the window divided by its length (at least 1 s); the ETA is
// the pending fetches at that rate, 0 with nothing pending, -1 when unknown
// (no fetch completed in the window, or the transfer is not active).
struct TransferRate {
  double items_per_s = 0;
  double bytes_per_s = 0;
  int64_t eta_s = -1;
};
TransferRate ComputeTransferRate(const TransferRow& r);

class Transfers {
 public:
  // Borrows everything.
  Transfers(TransferStore* store, Ingest* ingest) : store_(store), ingest_(ingest) {}

  // INVALID_ARGUMENT for a bad name or no targets; NOT_FOUND naming an
  // unknown source or target; FAILED_PRECONDITION for a source kind that
  // cannot list, a target that is the source, a name in use by a transfer
  // or a device. Queues the first list job.
  absl::StatusOr<shoebox::v1::Transfer> Add(const shoebox::v1::AddTransferRequest& req);
  absl::StatusOr<shoebox::v1::ListTransfersResponse> List();
  // state: "active" (resume: a list job is queued), "paused", "cancelled"
  // (final: queued fetch and list jobs are cancelled; running ones stop at
  // their next lease renewal). NOT_FOUND for an unknown name;
  // FAILED_PRECONDITION to resume or pause a cancelled transfer.
  absl::StatusOr<shoebox::v1::Transfer> SetState(const std::string& name, const std::string& state);

  // Worker calls, each under the caller's lease (PERMISSION_DENIED
  // otherwise).
  absl::StatusOr<shoebox::v1::ReportListingResponse> ReportListing(
      int64_t worker_id, const shoebox::v1::ReportListingRequest& req);
  // The transfer of the fetch job `job_id` leased by `worker_id` under
  // `token`: its name (the ingest's source).
  absl::StatusOr<std::string> FetchLease(int64_t worker_id, int64_t job_id,
                                         const std::string& token);
  // The same check, with the albums and capture time the listing gave the
  // job's item (photo services; empty for storage sources).
  absl::StatusOr<FetchFacts> FetchItem(int64_t worker_id, int64_t job_id, const std::string& token);
  Ingest& ingest() { return *ingest_; }

  // Queues list jobs of the active transfers not listed within `interval_ms`
  // that have none unfinished. Returns how many.
  absl::StatusOr<uint64_t> ScheduleLists(uint32_t interval_ms);

 private:
  TransferStore* const store_;
  Ingest* const ingest_;
};

}  // namespace shoebox::coordinator
