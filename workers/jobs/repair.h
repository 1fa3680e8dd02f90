// Repair of damaged chunk-store chunks from a destination copy (issue 7,
// docs/verify.md). A verify job whose lease lists repair_chunk_ids found a
// good remote copy; this fetches the whole file from the destination, cuts
// it at the chunk boundaries the catalog records (file.chunks sizes, in
// order) and hands each listed chunk's plaintext to `send`. The
// coordinator checks every chunk against its ID (HMAC) before storing it,
// so a wrong copy can never replace a chunk with wrong bytes.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "shoebox/v1/worker.pb.h"
#include "workers/connector.h"

namespace shoebox::worker {

// OK when every listed chunk was sent. DATA_LOSS when the copy is shorter
// or longer than the catalog's file (it changed at the destination).
absl::Status RepairFromCopy(
    const v1::Job& job, Connector* conn, const std::string& remote_path,
    const std::function<absl::Status(const std::string& id, std::string data)>& send);

}  // namespace shoebox::worker
