// Prometheus metrics of one coordinator process. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace prometheus {
class Registry;
class Exposer;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace shoebox::coordinator {

class Metrics {
 public:
  Metrics();
  ~Metrics();

  // Serves /metrics on `address` (host:port); "" does nothing.
  absl::Status Expose(const std::string& address);
  // The bound port of the exposer (0 when not exposed).
  int exposed_port() const;

  // One finished RPC: method name, gRPC code name, seconds.
  void Request(const std::string& method, const std::string& code, double seconds);
  void ChunkIngested(uint64_t plaintext_bytes, uint64_t stored_bytes);
  // Jobs per state; index = shoebox.v1.JobState value.
  void SetQueueDepth(const std::vector<uint64_t>& by_state);
  void DatabaseUp(bool up);
  // Per transfer (issue 21, docs/transfers.md "Status"): items and bytes
  // fetched, items still to fetch.
  struct TransferProgress {
    std::string name;
    uint64_t items_fetched = 0, bytes_fetched = 0, items_remaining = 0;
  };
  void SetTransfers(const std::vector<TransferProgress>& transfers);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* latency_;
  prometheus::Counter* chunk_bytes_;
  prometheus::Counter* stored_bytes_;
  prometheus::Counter* chunks_;
  prometheus::Family<prometheus::Gauge>* queue_;
  prometheus::Gauge* db_up_;
  prometheus::Family<prometheus::Gauge>* transfer_items_;
  prometheus::Family<prometheus::Gauge>* transfer_bytes_;
  prometheus::Family<prometheus::Gauge>* transfer_remaining_;
};

}  // namespace shoebox::coordinator
