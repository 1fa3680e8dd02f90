#include "coordinator/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"
#include "shoebox/v1/worker.pb.h"

namespace shoebox::coordinator {

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  requests_ = &prometheus::BuildCounter()
                   .Name("shoebox_coordinator_requests_total")
                   .Help("RPCs handled, by method and gRPC status code")
                   .Register(*registry_);
  latency_ = &prometheus::BuildHistogram()
                  .Name("shoebox_coordinator_request_seconds")
                  .Help("RPC latency by method")
                  .Register(*registry_);
  auto& bytes = prometheus::BuildCounter()
                    .Name("shoebox_coordinator_chunk_bytes_ingested_total")
                    .Help("Chunk bytes written to the chunk store")
                    .Register(*registry_);
  chunk_bytes_ = &bytes.Add({{"form", "plaintext"}});
  stored_bytes_ = &bytes.Add({{"form", "stored"}});
  chunks_ = &prometheus::BuildCounter()
                 .Name("shoebox_coordinator_chunks_ingested_total")
                 .Help("Chunks written to the chunk store")
                 .Register(*registry_)
                 .Add({});
  queue_ = &prometheus::BuildGauge()
                .Name("shoebox_coordinator_jobs")
                .Help("Jobs in the queue by state (whole database)")
                .Register(*registry_);
  db_up_ = &prometheus::BuildGauge()
                .Name("shoebox_coordinator_database_up")
                .Help("1 when the last database check succeeded")
                .Register(*registry_)
                .Add({});
  transfer_items_ = &prometheus::BuildGauge()
                         .Name("shoebox_coordinator_transfer_items_fetched")
                         .Help("Items a transfer fetched from its source (done fetch jobs)")
                         .Register(*registry_);
  transfer_bytes_ = &prometheus::BuildGauge()
                         .Name("shoebox_coordinator_transfer_bytes_fetched")
                         .Help("Bytes a transfer fetched from its source")
                         .Register(*registry_);
  transfer_remaining_ =
      &prometheus::BuildGauge()
           .Name("shoebox_coordinator_transfer_items_remaining")
           .Help("Items a transfer still has to fetch (queued, running, retrying)")
           .Register(*registry_);
}

Metrics::~Metrics() = default;

absl::Status Metrics::Expose(const std::string& address) {
  if (address.empty()) return absl::OkStatus();
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
    exposer_->RegisterCollectable(registry_);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics listener on ", address,
                                               " failed: ", e.what(),
                                               "; pick a free address for metrics_listen"));
  }
  return absl::OkStatus();
}

int Metrics::exposed_port() const {
  if (!exposer_) return 0;
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::Request(const std::string& method, const std::string& code, double seconds) {
  requests_->Add({{"method", method}, {"code", code}}).Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  latency_->Add({{"method", method}}, kBuckets).Observe(seconds);
}

void Metrics::ChunkIngested(uint64_t plaintext_bytes, uint64_t stored_bytes) {
  chunk_bytes_->Increment(static_cast<double>(plaintext_bytes));
  stored_bytes_->Increment(static_cast<double>(stored_bytes));
  chunks_->Increment();
}

void Metrics::SetQueueDepth(const std::vector<uint64_t>& by_state) {
  for (size_t s = 1; s < by_state.size(); ++s) {
    std::string name = shoebox::v1::JobState_Name(static_cast<shoebox::v1::JobState>(s));
    queue_->Add({{"state", name}}).Set(static_cast<double>(by_state[s]));
  }
}

void Metrics::DatabaseUp(bool up) { db_up_->Set(up ? 1 : 0); }

void Metrics::SetTransfers(const std::vector<TransferProgress>& transfers) {
  for (const TransferProgress& t : transfers) {
    transfer_items_->Add({{"transfer", t.name}}).Set(static_cast<double>(t.items_fetched));
    transfer_bytes_->Add({{"transfer", t.name}}).Set(static_cast<double>(t.bytes_fetched));
    transfer_remaining_->Add({{"transfer", t.name}}).Set(static_cast<double>(t.items_remaining));
  }
}

}  // namespace shoebox::coordinator
