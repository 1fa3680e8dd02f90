// Bounds what one caller's streams can hold (issue 17): the synchronous
// gRPC server gives every open call a thread, so a device that opens many
// PutChunks streams and sends nothing would take every thread and starve
// all other devices, workers and the CLI.
//
//  - At most `max_per_caller` streaming calls (client-, server- or
//    bidirectional streaming) per caller at once; Authorize refuses the next
//    one with RESOURCE_EXHAUSTED naming the limit (limits.max_streams_per_caller).
//  - A stream the client sends on (PutChunks) that has received no message
//    for `idle_timeout` is cancelled, which ends it and frees its thread
//    (limits.stream_idle_timeout_s).
//
// The server's interceptor (server.cc) reports each call's start, every
// received message and its end; Authenticator::Authorize calls Admit once
// it knows the caller. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/steady_wait.h"

namespace grpc {
class ServerContextBase;
}

namespace shoebox::coordinator {

class StreamGuard {
 public:
  // idle_timeout zero: no idle timeout. max_per_caller 0: no limit.
  StreamGuard(uint32_t max_per_caller, absl::Duration idle_timeout);
  ~StreamGuard();  // stops the idle watchdog

  // A streaming call began; `client_streams`: the client sends messages.
  void Opened(grpc::ServerContextBase* ctx, bool client_streams);
  // The call received a message.
  void Received(const grpc::ServerContextBase* ctx);
  // The call ended (idempotent); its caller's slot is released.
  void Closed(const grpc::ServerContextBase* ctx);

  // For a streaming call (Opened) by `caller_key`: takes a slot, or
  // RESOURCE_EXHAUSTED when the caller holds max_per_caller streams. Calls
  // that are not streams are always admitted.
  absl::Status Admit(const grpc::ServerContextBase* ctx, const std::string& caller_key,
                     const std::string& caller_label, std::string_view method);

  // Streams `caller_key` holds now (tests, metrics).
  uint32_t OpenStreams(const std::string& caller_key);

 private:
  struct Call {
    grpc::ServerContextBase* ctx = nullptr;
    bool client_streams = false;
    SteadyTime last;     // an interval is measured from it: monotonic
    std::string caller;  // "" until admitted
    bool cancelled = false;
  };
  void Watch();

  const uint32_t max_per_caller_;
  const absl::Duration idle_timeout_;
  absl::Mutex mu_;
  SteadyCondVar cv_;  // stop_
  absl::flat_hash_map<const grpc::ServerContextBase*, Call> calls_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint32_t> per_caller_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watchdog_;
};

}  // namespace shoebox::coordinator
