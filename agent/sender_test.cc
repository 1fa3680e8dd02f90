#include "agent/sender.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/client.h"

namespace shoebox::agent {
namespace {

using std::chrono::milliseconds;

// A file waiting for another device's upload is re-reported often at first
// (it is acknowledged soon after that upload lands) and then less and less.
TEST(Sender, WaitingForAnotherDevicesUploadIsShortAtFirstThenBacksOff) {
  milliseconds total{0};
  for (int n = 0; n < 50; ++n) {
    EXPECT_EQ(WaitForOthersDelay(n), milliseconds(200)) << n;
    total += WaitForOthersDelay(n);
  }
  EXPECT_EQ(total, milliseconds(10000));
  EXPECT_EQ(WaitForOthersDelay(50), milliseconds(400));
  EXPECT_EQ(WaitForOthersDelay(51), milliseconds(800));
  EXPECT_EQ(WaitForOthersDelay(55), milliseconds(10000));
  EXPECT_EQ(WaitForOthersDelay(1000000), milliseconds(10000));
}

// The hand-built PutChunks request is what protobuf would have sent: the
// coordinator parses it as a v1::PutChunkRequest (sizes whose length prefix
// takes 1, 2 and 3 bytes, and a 4 MiB chunk).
TEST(Sender, RawChunkRequestsParseAsPutChunkRequests) {
  const std::string id(32, '\x5a');
  for (size_t size : std::vector<size_t>{1, 127, 128, 16383, 16384, 4u << 20}) {
    std::string bytes(size, '\0');
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 31 + 7);
    ChunkBuffer buf(size);
    std::memcpy(buf.data(), bytes.data(), size);
    grpc::ByteBuffer raw = PutChunkRequestBuffer(id, std::move(buf), size);
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(raw.Dump(&slices).ok());
    std::string wire;
    for (const grpc::Slice& sl : slices)
      wire.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    v1::PutChunkRequest req;
    ASSERT_TRUE(req.ParseFromString(wire)) << size;
    EXPECT_EQ(req.id(), id) << size;
    EXPECT_TRUE(req.data() == bytes) << size;
    v1::PutChunkRequest ref;
    ref.set_id(id);
    ref.set_data(bytes);
    EXPECT_TRUE(ref.SerializeAsString() == wire) << size;
  }
  v1::PutChunkAck ack, back;
  ack.set_id(id);
  ack.set_code(3);
  ack.set_message("bad");
  ack.add_completed_version_ids(42);
  const std::string ser = ack.SerializeAsString();
  grpc::Slice s(ser);
  grpc::ByteBuffer raw(&s, 1);
  ASSERT_TRUE(ParsePutChunkAck(raw, &back));
  EXPECT_EQ(back.completed_version_ids(0), 42);
  EXPECT_EQ(back.message(), "bad");
}

}  // namespace
}  // namespace shoebox::agent
