// Transitional forwarding header: the S3 chunk store moved to
// common/s3/s3_chunkstore.h (namespace shoebox::s3). workers/main.cc still
// includes this file and calls shoebox::worker::RegisterS3ChunkStore();
// delete it once that include points at common/s3/s3_chunkstore.h.
#pragma once

#include "common/s3/s3_chunkstore.h"

namespace shoebox::worker {
using ::shoebox::s3::RegisterS3ChunkStore;
}  // namespace shoebox::worker
