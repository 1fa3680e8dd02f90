// A device's backup of one file, as tests write it against a running
// coordinator: the chunks an agent would cut (fixed pieces, IDs keyed by the
// device's chunk_id_key), the ReportFiles entry, and PutChunks of the pieces
// the coordinator asks for. One home for what eight tests wrote by hand.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "shoebox/v1/agent.grpc.pb.h"

namespace shoebox::testsupport {

inline constexpr int64_t kTestMtimeNs = 1700000000000000000;

struct FileChunk {
  std::string id;  // keyed chunk ID (32 bytes)
  std::string data;
};

// `content` cut into pieces of `piece` bytes (the last one shorter).
std::vector<FileChunk> CutChunks(std::string_view content, std::string_view chunk_id_key,
                                 size_t piece = 64 * 1024);

// An OP_UPSERT report of `content` at `folder`/`path` made of `chunks`.
v1::FileReport UpsertReport(const std::string& folder, const std::string& path,
                            std::string_view content, const std::vector<FileChunk>& chunks,
                            int64_t mtime_ns = kTestMtimeNs);

// Reports `report` as `device` (--insecure-dev identity) and uploads the
// chunks the coordinator says it is missing. An error names the step and
// what the coordinator answered.
absl::Status BackUpFile(v1::AgentService::Stub& agent, const std::string& device,
                        const v1::FileReport& report, const std::vector<FileChunk>& chunks);

}  // namespace shoebox::testsupport
