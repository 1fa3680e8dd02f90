// The agent's gRPC connection to the coordinator (AgentService). Adds the
// device identity and a deadline to every call and converts statuses.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tls_client.h"
#include "grpcpp/grpcpp.h"
#include "shoebox/v1/agent.grpc.pb.h"

namespace shoebox::agent {

// Bytes of one chunk on their way to the coordinator (malloc'd, not
// zero-filled); handed to gRPC by PutChunkRequestBuffer.
class ChunkBuffer {
 public:
  ChunkBuffer() = default;
  explicit ChunkBuffer(size_t n) : p_(static_cast<uint8_t*>(std::malloc(n > 0 ? n : 1))) {}
  ~ChunkBuffer() { std::free(p_); }
  ChunkBuffer(ChunkBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  ChunkBuffer& operator=(ChunkBuffer&& o) noexcept {
    if (this != &o) {
      std::free(p_);
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  uint8_t* data() { return p_; }
  uint8_t* release() { return std::exchange(p_, nullptr); }

 private:
  uint8_t* p_ = nullptr;
};

// A serialized v1::PutChunkRequest{id, data = the first `size` bytes of
// `data`}: the protobuf field headers in one small slice, the chunk bytes in
// a second slice that refers to `data` (freed by gRPC once sent), so the
// chunk is not copied into a message and then again into gRPC's buffers.
grpc::ByteBuffer PutChunkRequestBuffer(const std::string& id, ChunkBuffer data, size_t size);
// Parses an acknowledgement read from a raw PutChunks stream.
bool ParsePutChunkAck(grpc::ByteBuffer& raw, v1::PutChunkAck* ack);

class CoordinatorClient {
 public:
  // Plain-text channel to `address` (host:port). Development mode: the
  // device is named by the `x-shoebox-device` metadata key.
  CoordinatorClient(const std::string& address, std::string device_name,
                    std::chrono::seconds rpc_timeout);
  // Mutual TLS with the enrolled identity in `tls_dir` (the certificate
  // names the device), or plain text when `insecure_dev`.
  static absl::StatusOr<std::unique_ptr<CoordinatorClient>> Connect(
      const std::string& address, std::string device_name, std::chrono::seconds rpc_timeout,
      bool insecure_dev, const std::string& tls_dir);

  absl::StatusOr<v1::HelloResponse> Hello(const v1::HelloRequest& req);
  absl::StatusOr<v1::ReportFilesResponse> ReportFiles(const v1::ReportFilesRequest& req);
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& req);

  // A context with identity metadata and the given deadline.
  std::unique_ptr<grpc::ClientContext> NewContext(std::chrono::seconds timeout) const;
  v1::AgentService::Stub* stub() { return stub_.get(); }
  // The stub for upload lane `lane`: lanes use their own connections (up to
  // kUploadConnections), so that TLS encryption on both ends and the
  // coordinator's reads of the streams spread over the cores instead of
  // queueing behind one connection.
  v1::AgentService::Stub* upload_stub(size_t lane) {
    return upload_stubs_.empty() ? stub_.get() : upload_stubs_[lane % upload_stubs_.size()].get();
  }
  static constexpr size_t kUploadConnections = 4;
  // AgentService.PutChunks on lane `lane`'s connection (see upload_stub),
  // with requests from PutChunkRequestBuffer and acks for ParsePutChunkAck.
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> PutChunksRaw(
      size_t lane, grpc::ClientContext* ctx);
  const std::string& address() const { return address_; }

  // Throws away every channel (and the connections and handshakes in them)
  // and opens new ones with credentials read again from the identity
  // directory. A gRPC channel whose connection attempt got stuck (issue 18:
  // a handshake that never completes after the coordinator was killed) does
  // not recover by itself; a new channel with its own connections does.
  // Not thread-safe: only while no call, stream or stub of this client is
  // in use (SendStage calls it between sessions, with no Sender alive).
  absl::Status Reconnect();
  // How many times Reconnect() opened new channels.
  uint64_t reconnects() const { return reconnects_; }

 private:
  // No channel yet (Connect opens the TLS ones).
  CoordinatorClient(const std::string& address, std::string device_name,
                    std::chrono::seconds rpc_timeout, int)
      : address_(address), device_name_(std::move(device_name)), rpc_timeout_(rpc_timeout) {}
  // The main channel and one per upload lane, TLS from `files` or plain text.
  absl::Status OpenChannels(bool insecure_dev, const TlsIdentityFiles& files);

  const std::string address_;
  const std::string device_name_;
  const std::chrono::seconds rpc_timeout_;
  bool dev_metadata_ = true;
  TlsIdentityFiles tls_files_;  // empty in plain-text development mode
  uint64_t reconnects_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AgentService::Stub> stub_;
  std::vector<std::unique_ptr<v1::AgentService::Stub>> upload_stubs_;
  std::vector<std::shared_ptr<grpc::Channel>> upload_channels_;
};

}  // namespace shoebox::agent
