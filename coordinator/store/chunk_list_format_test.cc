// The chunk-list record (chunk_list_format.h): round trips, and damage
// (flipped bytes, truncation) found as DATA_LOSS. No database.
#include "coordinator/store/chunk_list_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shoebox::coordinator {
namespace {

std::string Id(char fill) { return std::string(kChunkIdBytes, fill); }

std::vector<ChunkRef> ThreeChunks() {
  return {ChunkRef{Id('a'), 1}, ChunkRef{Id('b'), 65536},
          ChunkRef{Id('\xff'), kChunkListMaxChunkSize}};
}

TEST(ChunkListFormat, RoundTrips) {
  const std::vector<ChunkRef> chunks = ThreeChunks();
  const std::string list = EncodeChunkList(chunks);
  EXPECT_EQ(list.size(), 3 * kChunkListRecordBytes);
  absl::StatusOr<std::vector<ChunkRef>> back = DecodeChunkList(list);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, chunks);
}

TEST(ChunkListFormat, EmptyListIsAFileWithoutContent) {
  EXPECT_EQ(EncodeChunkList({}), "");
  absl::StatusOr<std::vector<ChunkRef>> back = DecodeChunkList("");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

TEST(ChunkListFormat, SizeIsBigEndianAfterTheId) {
  const std::string list = EncodeChunkList({ChunkRef{Id('x'), 0x01020304}});
  ASSERT_EQ(list.size(), kChunkListRecordBytes);
  EXPECT_EQ(list.substr(0, kChunkIdBytes), Id('x'));
  EXPECT_EQ(list.substr(kChunkIdBytes), std::string("\x01\x02\x03\x04", 4));
}

TEST(ChunkListFormat, TruncatedListIsDataLoss) {
  const std::string list = EncodeChunkList(ThreeChunks());
  for (size_t cut = 1; cut < kChunkListRecordBytes; ++cut) {
    absl::StatusOr<std::vector<ChunkRef>> back = DecodeChunkList(list.substr(0, list.size() - cut));
    EXPECT_TRUE(absl::IsDataLoss(back.status())) << "cut " << cut << ": " << back.status();
    EXPECT_TRUE(
        absl::IsDataLoss(ChunkListContains(list.substr(0, list.size() - cut), Id('a')).status()));
  }
}

TEST(ChunkListFormat, ExtraByteIsDataLoss) {
  EXPECT_TRUE(absl::IsDataLoss(DecodeChunkList(EncodeChunkList(ThreeChunks()) + "z").status()));
}

TEST(ChunkListFormat, FlippedSizeHighByteIsDataLoss) {
  const std::string good = EncodeChunkList(ThreeChunks());
  for (size_t record = 0; record < 3; ++record) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[record * kChunkListRecordBytes + kChunkIdBytes] ^= static_cast<char>(1 << bit);
      absl::StatusOr<std::vector<ChunkRef>> back = DecodeChunkList(bad);
      EXPECT_TRUE(absl::IsDataLoss(back.status())) << "record " << record << " bit " << bit;
      EXPECT_NE(back.status().message().find("record " + std::to_string(record)), std::string::npos)
          << back.status();
    }
  }
}

TEST(ChunkListFormat, ZeroSizeIsDataLoss) {
  std::string bad = EncodeChunkList({ChunkRef{Id('a'), 1}});
  bad[kChunkListRecordBytes - 1] = '\0';
  EXPECT_TRUE(absl::IsDataLoss(DecodeChunkList(bad).status()));
}

TEST(ChunkListFormat, ContainsMatchesRecordsOnly) {
  // An ID that appears only across a record boundary is not in the list.
  const std::string list = EncodeChunkList(ThreeChunks());
  const std::string straddling = list.substr(10, kChunkIdBytes);
  EXPECT_TRUE(*ChunkListContains(list, Id('b')));
  EXPECT_FALSE(*ChunkListContains(list, straddling));
  EXPECT_FALSE(*ChunkListContains(list, Id('c')));
}

}  // namespace
}  // namespace shoebox::coordinator
