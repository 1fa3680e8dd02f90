#include "tests/support/device_upload.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "tests/support/coordinator_harness.h"

namespace shoebox::testsupport {

std::vector<FileChunk> CutChunks(std::string_view content, std::string_view chunk_id_key,
                                 size_t piece) {
  HmacSha256 idkey(AsBytes(chunk_id_key));
  std::vector<FileChunk> out;
  for (size_t off = 0; off < content.size(); off += piece) {
    std::string data(content.substr(off, piece));
    std::string id = DigestToString(idkey.Compute(data));
    out.push_back({std::move(id), std::move(data)});
  }
  return out;
}

v1::FileReport UpsertReport(const std::string& folder, const std::string& path,
                            std::string_view content, const std::vector<FileChunk>& chunks,
                            int64_t mtime_ns) {
  v1::FileReport r;
  r.set_folder(folder);
  r.set_path(path);
  r.set_op(v1::FileReport::OP_UPSERT);
  r.set_size(content.size());
  r.set_mtime_ns(mtime_ns);
  r.set_mode(0644);
  r.set_sha256(DigestToString(Sha256::Of(AsBytes(content))));
  for (const FileChunk& c : chunks) {
    v1::ChunkRef* ref = r.add_chunks();
    ref->set_id(c.id);
    ref->set_size(static_cast<uint32_t>(c.data.size()));
  }
  return r;
}

absl::Status BackUpFile(v1::AgentService::Stub& agent, const std::string& device,
                        const v1::FileReport& report, const std::vector<FileChunk>& chunks) {
  v1::ReportFilesRequest req;
  *req.add_files() = report;
  v1::ReportFilesResponse resp;
  {
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    grpc::Status st = agent.ReportFiles(&ctx, req, &resp);
    if (!st.ok()) return absl::InternalError(absl::StrCat("ReportFiles: ", st.error_message()));
  }
  if (resp.results_size() != 1 || resp.results(0).code() != 0) {
    return absl::InternalError("ReportFiles refused the file: " + resp.DebugString());
  }
  if (resp.results(0).missing_chunk_ids_size() == 0) return absl::OkStatus();
  std::map<std::string, const std::string*> by_id;
  for (const FileChunk& c : chunks) by_id[c.id] = &c.data;
  grpc::ClientContext ctx;
  AsDevice(&ctx, device);
  auto stream = agent.PutChunks(&ctx);
  for (const std::string& id : resp.results(0).missing_chunk_ids()) {
    auto it = by_id.find(id);
    if (it == by_id.end()) return absl::InternalError("the coordinator asked for an unknown chunk");
    v1::PutChunkRequest p;
    p.set_id(id);
    p.set_data(*it->second);
    if (!stream->Write(p)) break;
    v1::PutChunkAck ack;
    if (!stream->Read(&ack)) break;
    if (ack.code() != 0) return absl::InternalError("PutChunks refused a chunk: " + ack.message());
  }
  stream->WritesDone();
  grpc::Status st = stream->Finish();
  if (!st.ok()) return absl::InternalError(absl::StrCat("PutChunks: ", st.error_message()));
  return absl::OkStatus();
}

}  // namespace shoebox::testsupport
