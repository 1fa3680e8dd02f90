#include "workers/jobs/registry.h"

#include "workers/jobs/check.h"
#include "workers/jobs/deliver.h"
#include "workers/jobs/fetch.h"
#include "workers/jobs/scrub.h"
#include "workers/jobs/snapshot_copy.h"
#include "workers/jobs/verify.h"

namespace shoebox::worker {

void JobHandlerRegistry::Add(v1::JobKind kind, std::unique_ptr<JobHandler> handler) {
  handlers_[kind] = std::move(handler);
}

JobHandler* JobHandlerRegistry::Find(v1::JobKind kind) const {
  auto it = handlers_.find(kind);
  return it == handlers_.end() ? nullptr : it->second.get();
}

JobHandlerRegistry BuiltInJobHandlers() {
  JobHandlerRegistry r;
  r.Add(v1::JOB_KIND_DELIVER, std::make_unique<DeliverHandler>());
  r.Add(v1::JOB_KIND_VERIFY, std::make_unique<VerifyHandler>());
  r.Add(v1::JOB_KIND_SCRUB, std::make_unique<ScrubHandler>());
  r.Add(v1::JOB_KIND_SNAPSHOT, std::make_unique<SnapshotCopyHandler>());  // catalog snapshots
  r.Add(v1::JOB_KIND_CHECK, std::make_unique<CheckHandler>());  // `shoebox dest add|check`
  // Transfers (issue 21): list a source, fetch one item of it.
  r.Add(v1::JOB_KIND_TRANSFER_LIST, std::make_unique<FetchHandler>());
  r.Add(v1::JOB_KIND_TRANSFER, std::make_unique<FetchHandler>());
  return r;
}

}  // namespace shoebox::worker
