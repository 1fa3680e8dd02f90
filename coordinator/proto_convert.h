// Translation between the protobuf messages of the API and the domain types
// of the store interfaces (coordinator/store/model.h). The domain classes
// (Catalog, JobQueue, Admin) call these at their edge; nothing below them
// sees a protobuf message.
//
// Pure functions; any thread.
#pragma once

#include "coordinator/store/model.h"
#include "shoebox/v1/admin.pb.h"
#include "shoebox/v1/agent.pb.h"
#include "shoebox/v1/common.pb.h"
#include "shoebox/v1/worker.pb.h"

namespace shoebox::coordinator {

// Requests → domain.
HeartbeatFacts FromProto(const shoebox::v1::HeartbeatRequest& req);
VersionQuery FromProto(const shoebox::v1::ListVersionsRequest& req);
NewDestination FromProto(const shoebox::v1::CreateDestinationRequest& req);
JobCompletion FromProto(const shoebox::v1::CompleteJobRequest& req);
JobFilter FromProto(const shoebox::v1::ListJobsRequest& req);
JobSelection FromProto(const shoebox::v1::JobSelector& sel);
// The counts of a verify run that verify_runs records.
VerifyRunResult FromProto(const shoebox::v1::VerifyResponse& r);

// Domain → responses.
shoebox::v1::FileReport ToProto(const DamagedFile& f);  // op UPSERT: re-read it
shoebox::v1::Device ToProto(const DeviceRow& d);
shoebox::v1::FileVersion ToProto(const FileVersion& v);
shoebox::v1::ListVersionsResponse ToProto(const VersionPage& page);
shoebox::v1::Destination ToProto(const Destination& d);
shoebox::v1::DestinationCheck ToProto(const DestinationCheckRow& c);
shoebox::v1::Binding ToProto(const BindingRow& b);
shoebox::v1::Job ToProto(const LeasedJob& j);
shoebox::v1::RenewLeaseResponse ToProto(const LeaseRenewal& r);
shoebox::v1::FailJobResponse ToProto(const FailOutcome& f);
shoebox::v1::JobInfo ToProto(const JobRow& j);
shoebox::v1::StatusResponse ToProto(const StatusSummary& s);
shoebox::v1::AffectedFile ToProto(const AffectedFile& f);
shoebox::v1::DamagedChunk ToProto(const DamagedChunk& d);
// Sets the copy counts, damage and last verify run fields of `resp`.
void AddToProto(const CopySummary& s, shoebox::v1::StatusResponse* resp);

}  // namespace shoebox::coordinator
