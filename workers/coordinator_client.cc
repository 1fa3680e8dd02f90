#include "workers/coordinator_client.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/blob.h"
#include "common/status.h"
#include "common/steady_wait.h"
#include "common/tls_client.h"
#include "shoebox/v1/worker.grpc.pb.h"

namespace shoebox::worker {

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeCoordinatorChannel(const WorkerOptions& o) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return MakeShoeboxChannel(
      o.coordinator, o.insecure_dev, {o.ca_file, o.cert_file, o.key_file},
      "enroll this worker first: shoebox-worker enroll --token TOKEN (ask the "
      "admin: shoebox enroll-token --worker NAME), or set insecure_dev for a "
      "loopback test setup",
      args);
}

namespace {
class CoordinatorFetcher final : public ChunkFetcher {
 public:
  CoordinatorFetcher(std::shared_ptr<grpc::Channel> ch, std::string name, bool dev,
                     const Key256& key, absl::Duration deadline)
      : stub_(v1::WorkerService::NewStub(ch)),
        name_(std::move(name)),
        dev_(dev),
        sealer_(key),
        deadline_(deadline) {}
  absl::StatusOr<std::string> GetPlain(const ChunkId& id) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(GrpcDeadlineAfter(deadline_));
    if (dev_) ctx.AddMetadata("x-shoebox-worker", name_);
    v1::WorkerReadChunksRequest req;
    req.add_ids(DigestToString(id));
    auto reader = stub_->ReadChunks(&ctx, req);
    v1::ChunkData d;
    std::string blob;
    bool got = false;
    while (reader->Read(&d)) {
      if (d.id() == DigestToString(id)) {
        blob = std::move(*d.mutable_data());
        got = true;
      }
    }
    absl::Status st = FromGrpc(reader->Finish(), "coordinator", "ReadChunks");
    if (!st.ok())
      return Annotate(
          st, "read chunk " + ToHex(ByteSpan(id.data(), id.size())) + " from the coordinator");
    if (!got) {
      return absl::NotFoundError(absl::StrCat("chunk ", ToHex(ByteSpan(id.data(), id.size())),
                                              ": the coordinator returned no data for it"));
    }
    return sealer_.Open(id, blob);
  }

 private:
  const std::unique_ptr<v1::WorkerService::Stub> stub_;
  const std::string name_;
  const bool dev_;
  const BlobSealer sealer_;
  const absl::Duration deadline_;
};
}  // namespace

std::unique_ptr<ChunkFetcher> MakeCoordinatorFetcher(std::shared_ptr<grpc::Channel> channel,
                                                     const std::string& worker_name,
                                                     bool insecure_dev, const Key256& data_key,
                                                     absl::Duration deadline) {
  return std::make_unique<CoordinatorFetcher>(std::move(channel), worker_name, insecure_dev,
                                              data_key, deadline);
}

}  // namespace shoebox::worker
