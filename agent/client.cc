#include "agent/client.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/steady_wait.h"
#include "common/tls_client.h"

namespace shoebox::agent {

namespace {
// `generation` makes the arguments of each Reconnect() differ, so that a
// new channel never shares a (possibly stuck) subchannel with an old one.
grpc::ChannelArguments AgentChannelArgs(uint64_t generation) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // A dead peer (coordinator killed, connection silently dropped) is found
  // within 50 s even in the middle of a stream.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // Our own loop does the backing off; keep gRPC's reconnect short.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  // Not a backoff: gRPC uses it as the deadline of each connection attempt
  // (TCP connect plus the TLS handshake). It was 200 ms, which a handshake
  // with a coordinator that has just started (or a loaded machine) can
  // exceed every time ("tcp handshaker shutdown", issue 18); 15 s bounds a
  // hung handshake without cutting slow ones short.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 15000);
  // Each channel its own connections (never shared through the global
  // subchannel pool), so a rebuilt channel really starts afresh.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("shoebox.channel_generation", static_cast<int>(generation % 1000000));
  return args;
}
}  // namespace

CoordinatorClient::CoordinatorClient(const std::string& address, std::string device_name,
                                     std::chrono::seconds rpc_timeout)
    : address_(address), device_name_(std::move(device_name)), rpc_timeout_(rpc_timeout) {
  // Plain text cannot fail to open.
  (void)OpenChannels(/*insecure_dev=*/true, TlsIdentityFiles{});
}

absl::Status CoordinatorClient::OpenChannels(bool insecure_dev, const TlsIdentityFiles& files) {
  const std::string hint =
      "enroll this device first: shoebox-agent enroll --token TOKEN (ask the admin for a token: "
      "shoebox enroll-token --device NAME)";
  ASSIGN_OR_RETURN(channel_, MakeShoeboxChannel(address_, insecure_dev, files, hint,
                                                AgentChannelArgs(reconnects_)));
  stub_ = v1::AgentService::NewStub(channel_);
  upload_stubs_.clear();
  upload_channels_.clear();
  for (size_t i = 0; i < kUploadConnections; ++i) {
    grpc::ChannelArguments args = AgentChannelArgs(reconnects_);  // its own connection
    ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> up,
                     MakeShoeboxChannel(address_, insecure_dev, files, hint, args));
    upload_stubs_.push_back(v1::AgentService::NewStub(up));
    upload_channels_.push_back(std::move(up));
  }
  dev_metadata_ = insecure_dev;
  tls_files_ = files;
  return absl::OkStatus();
}

absl::Status CoordinatorClient::Reconnect() {
  ++reconnects_;
  // The old channels go when their last reference does (the stubs here):
  // gRPC shuts their connections and pending handshakes down.
  return OpenChannels(dev_metadata_, tls_files_);
}

namespace {

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

grpc::ByteBuffer PutChunkRequestBuffer(const std::string& id, ChunkBuffer data, size_t size) {
  // Field 1 (id) and the header of field 2 (data), both length-delimited
  // (wire type 2): the encoding protobuf itself produces for this message.
  std::string head;
  head.push_back(static_cast<char>((v1::PutChunkRequest::kIdFieldNumber << 3) | 2));
  AppendVarint(&head, id.size());
  head += id;
  head.push_back(static_cast<char>((v1::PutChunkRequest::kDataFieldNumber << 3) | 2));
  AppendVarint(&head, size);
  void* bytes = data.release();
#if defined(__SANITIZE_THREAD__)
  // gRPC frees the bytes on one of its own threads, after a hand-over inside
  // the (uninstrumented) library: tell ThreadSanitizer it happens after this.
  __tsan_release(bytes);
#endif
  grpc::Slice slices[2] = {grpc::Slice(head), grpc::Slice(bytes, size, [](void* p) {
#if defined(__SANITIZE_THREAD__)
                             __tsan_acquire(p);
#endif
                             std::free(p);
                           })};
  return grpc::ByteBuffer(slices, size > 0 ? 2 : 1);
}

bool ParsePutChunkAck(grpc::ByteBuffer& raw, v1::PutChunkAck* ack) {
  std::vector<grpc::Slice> slices;
  if (!raw.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return ack->ParseFromString(bytes);
}

std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>>
CoordinatorClient::PutChunksRaw(size_t lane, grpc::ClientContext* ctx) {
  grpc::ChannelInterface* ch = upload_channels_.empty()
                                   ? channel_.get()
                                   : upload_channels_[lane % upload_channels_.size()].get();
  // The generated stub's method, with raw messages (the generated code uses
  // the same factory with v1 types).
  static const grpc::internal::RpcMethod kPutChunks("/shoebox.v1.AgentService/PutChunks",
                                                    grpc::internal::RpcMethod::BIDI_STREAMING);
  return std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>>(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          ch, kPutChunks, ctx));
}

absl::StatusOr<std::unique_ptr<CoordinatorClient>> CoordinatorClient::Connect(
    const std::string& address, std::string device_name, std::chrono::seconds rpc_timeout,
    bool insecure_dev, const std::string& tls_dir) {
  if (insecure_dev)
    return std::make_unique<CoordinatorClient>(address, std::move(device_name), rpc_timeout);
  std::unique_ptr<CoordinatorClient> c(
      new CoordinatorClient(address, std::move(device_name), rpc_timeout, 0));
  RETURN_IF_ERROR(c->OpenChannels(false, TlsIdentityFiles::InDir(tls_dir)));
  return c;
}

std::unique_ptr<grpc::ClientContext> CoordinatorClient::NewContext(
    std::chrono::seconds timeout) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (dev_metadata_) ctx->AddMetadata("x-shoebox-device", device_name_);
  ctx->set_deadline(GrpcDeadlineAfter(absl::FromChrono(timeout)));  // monotonic
  return ctx;
}

absl::StatusOr<v1::HelloResponse> CoordinatorClient::Hello(const v1::HelloRequest& req) {
  auto ctx = NewContext(rpc_timeout_);
  v1::HelloResponse resp;
  grpc::Status s = stub_->Hello(ctx.get(), req, &resp);
  if (!s.ok()) return Annotate(FromGrpc(s), absl::StrCat("Hello to coordinator ", address_));
  return resp;
}

absl::StatusOr<v1::ReportFilesResponse> CoordinatorClient::ReportFiles(
    const v1::ReportFilesRequest& req) {
  auto ctx = NewContext(rpc_timeout_);
  v1::ReportFilesResponse resp;
  grpc::Status s = stub_->ReportFiles(ctx.get(), req, &resp);
  if (!s.ok()) return Annotate(FromGrpc(s), absl::StrCat("ReportFiles to coordinator ", address_));
  return resp;
}

absl::StatusOr<v1::HeartbeatResponse> CoordinatorClient::Heartbeat(
    const v1::HeartbeatRequest& req) {
  auto ctx = NewContext(rpc_timeout_);
  v1::HeartbeatResponse resp;
  grpc::Status s = stub_->Heartbeat(ctx.get(), req, &resp);
  if (!s.ok()) return Annotate(FromGrpc(s), absl::StrCat("Heartbeat to coordinator ", address_));
  return resp;
}

}  // namespace shoebox::agent
