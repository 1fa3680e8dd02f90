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
class CoordinatorAlbumClient final : public AlbumClient {
 public:
  CoordinatorAlbumClient(std::shared_ptr<grpc::Channel> ch, std::string name, bool dev,
                         absl::Duration deadline)
      : stub_(v1::WorkerService::NewStub(ch)),
        name_(std::move(name)),
        dev_(dev),
        deadline_(deadline) {}

  absl::StatusOr<std::optional<std::string>> Lookup(const AlbumLease& lease,
                                                    const std::string& key) override {
    v1::LookupAlbumRequest req;
    Fill(lease, key, &req);
    v1::LookupAlbumResponse resp;
    auto ctx = Context();
    absl::Status st =
        FromGrpc(stub_->LookupAlbum(ctx.get(), req, &resp), "coordinator", "LookupAlbum");
    if (!st.ok()) return Annotate(st, absl::StrCat("look up album ", PrintablePath(key)));
    if (!resp.found()) return std::optional<std::string>();
    return std::optional<std::string>(resp.remote_id());
  }

  absl::StatusOr<std::string> Record(const AlbumLease& lease, const std::string& key,
                                     const std::string& remote_id) override {
    v1::RecordAlbumRequest req;
    Fill(lease, key, &req);
    req.set_remote_id(remote_id);
    v1::RecordAlbumResponse resp;
    auto ctx = Context();
    absl::Status st =
        FromGrpc(stub_->RecordAlbum(ctx.get(), req, &resp), "coordinator", "RecordAlbum");
    if (!st.ok()) return Annotate(st, absl::StrCat("record album ", PrintablePath(key)));
    return resp.remote_id();
  }

  absl::Status Forget(const AlbumLease& lease, const std::string& key,
                      const std::string& expected_id) override {
    v1::ForgetAlbumRequest req;
    Fill(lease, key, &req);
    req.set_remote_id(expected_id);
    v1::ForgetAlbumResponse resp;
    auto ctx = Context();
    return Annotate(
        FromGrpc(stub_->ForgetAlbum(ctx.get(), req, &resp), "coordinator", "ForgetAlbum"),
        absl::StrCat("forget album ", PrintablePath(key)));
  }

 private:
  template <typename Req>
  static void Fill(const AlbumLease& lease, const std::string& key, Req* req) {
    req->set_job_id(lease.job_id);
    req->set_lease_token(lease.lease_token);
    req->set_destination_id(lease.destination_id);
    req->set_album_key(key);
  }
  std::unique_ptr<grpc::ClientContext> Context() const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
    if (dev_) ctx->AddMetadata("x-shoebox-worker", name_);
    return ctx;
  }

  const std::unique_ptr<v1::WorkerService::Stub> stub_;
  const std::string name_;
  const bool dev_;
  const absl::Duration deadline_;
};

}  // namespace

std::unique_ptr<AlbumClient> MakeCoordinatorAlbumClient(std::shared_ptr<grpc::Channel> channel,
                                                        const std::string& worker_name,
                                                        bool insecure_dev,
                                                        absl::Duration deadline) {
  return std::make_unique<CoordinatorAlbumClient>(std::move(channel), worker_name, insecure_dev,
                                                  deadline);
}

std::unique_ptr<ChunkFetcher> MakeCoordinatorFetcher(std::shared_ptr<grpc::Channel> channel,
                                                     const std::string& worker_name,
                                                     bool insecure_dev, const Key256& data_key,
                                                     absl::Duration deadline) {
  return std::make_unique<CoordinatorFetcher>(std::move(channel), worker_name, insecure_dev,
                                              data_key, deadline);
}

}  // namespace shoebox::worker
