// Transfers (issue 21, slice 2; docs/transfers.md): the jobs of a transfer
// run against its source, which is the job's destination (a configured
// destination that can List and Get).
//
// JOB_KIND_TRANSFER_LIST: lists the whole source (Connector::List) and sends
// the listing with WorkerService.ReportListing; the coordinator compares it
// with the listing saved at the last run and queues one fetch job per new or
// changed item, in the transaction that saves the new listing.
//
// JOB_KIND_TRANSFER (fetch): Job.remote_ref is the item's path. Gets it once
// into a spool file beside the worker (hashing it on the way, so the
// SHA-256 is known before the first byte goes out), then streams it to
// WorkerService.IngestItem, which stores it like an ImportItems item into
// the transfer's device. Completes with remote_ref = the path, remote_size =
// the bytes fetched, remote_checksum = "sha256:<hex>". A fetch cut short
// (cancelled, killed) leaves nothing behind: the coordinator commits an item
// only once its bytes hashed right, and the spool file is unlinked at once.
#pragma once

#include <vector>

#include <grpcpp/grpcpp.h>

#include "shoebox/v1/worker.grpc.pb.h"
#include "workers/jobs/job_handler.h"

namespace shoebox::worker {

class FetchHandler final : public JobHandler {
 public:
  absl::StatusOr<v1::CompleteJobRequest> Run(const v1::Job& job, JobContext& ctx) override;
};

// The RPCs behind JobEnvironment::report_listing / ingest_item, on `stub`
// with `ctx` (deadline and identity set by the caller). Errors name the
// call and carry the coordinator's code.
absl::StatusOr<v1::ReportListingResponse> SendListing(v1::WorkerService::Stub* stub,
                                                      grpc::ClientContext* ctx, const v1::Job& job,
                                                      const std::vector<RemoteObject>& items,
                                                      const ListingReport& report = {});
absl::StatusOr<v1::IngestItemResponse> SendItem(v1::WorkerService::Stub* stub,
                                                grpc::ClientContext* ctx,
                                                const v1::IngestItemHeader& header,
                                                ByteSource* src);

}  // namespace shoebox::worker
