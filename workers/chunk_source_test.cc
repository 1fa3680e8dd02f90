#include "workers/chunk_source.h"

#include <gtest/gtest.h>

#include <map>

#include "common/bytes.h"

namespace shoebox::worker {
namespace {

class MapFetcher : public ChunkFetcher {
 public:
  absl::StatusOr<std::string> GetPlain(const ChunkId& id) override {
    auto it = chunks.find(id);
    if (it == chunks.end()) return absl::NotFoundError("chunk missing");
    return it->second;
  }
  std::map<ChunkId, std::string> chunks;
};

struct File {
  std::vector<ChunkSpan> spans;
  std::string content;
};

File MakeFile(MapFetcher* f, const std::vector<std::string>& parts) {
  File out;
  for (const std::string& p : parts) {
    ChunkSpan s;
    s.id = Sha256::Of(p);
    s.size = static_cast<uint32_t>(p.size());
    f->chunks[s.id] = p;
    out.spans.push_back(s);
    out.content += p;
  }
  return out;
}

absl::StatusOr<std::string> ReadAll(ByteSource* s, size_t step) {
  std::string out, buf(step, '\0');
  for (;;) {
    auto n = s->Read(reinterpret_cast<uint8_t*>(buf.data()), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

TEST(ChunkSource, StreamsChunksInOrderAcrossBoundaries) {
  MapFetcher f;
  File file = MakeFile(&f, {std::string(1000, 'a'), std::string(3, 'b'), std::string(777, 'c')});
  ChunkSource src(&f, file.spans, file.content.size(), DigestToString(Sha256::Of(file.content)));
  auto got = ReadAll(&src, 64);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, file.content);
}

// A refused chunk-store read must not look like the destination refusing
// the file (a dead job) or its credentials (a held destination).
class RefusingFetcher final : public ChunkFetcher {
 public:
  absl::StatusOr<std::string> GetPlain(const ChunkId&) override {
    return absl::PermissionDeniedError("GET chunks/ab/cd: HTTP 403 (AccessDenied)");
  }
};

TEST(ChunkSource, ARefusedChunkStoreReadIsRetryableNotADestinationRefusal) {
  RefusingFetcher f;
  ChunkSpan span;
  span.id = Sha256::Of(std::string("x"));
  span.size = 1;
  ChunkSource src(&f, {span}, 1, DigestToString(Sha256::Of(std::string("x"))));
  auto got = ReadAll(&src, 64);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  EXPECT_NE(got.status().message().find("not the destination's"), std::string::npos)
      << got.status();
}

TEST(ChunkSource, RewindRereadsAndStillVerifies) {
  MapFetcher f;
  File file = MakeFile(&f, {"hello ", "world"});
  ChunkSource src(&f, file.spans, file.content.size(), DigestToString(Sha256::Of(file.content)));
  ASSERT_TRUE(ReadAll(&src, 4).ok());
  ASSERT_TRUE(src.Rewind().ok());
  auto again = ReadAll(&src, 3);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, "hello world");
}

TEST(ChunkSource, WrongWholeFileHashFailsBeforeTheLastBytes) {
  MapFetcher f;
  File file = MakeFile(&f, {"hello ", "world"});
  ChunkSource src(&f, file.spans, file.content.size(),
                  DigestToString(Sha256::Of("something else")));
  auto got = ReadAll(&src, 100);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
}

TEST(ChunkSource, ChunkOfWrongLengthIsDataLoss) {
  MapFetcher f;
  File file = MakeFile(&f, {"hello ", "world"});
  file.spans[1].size = 9;
  ChunkSource src(&f, file.spans, 15, DigestToString(Sha256::Of(file.content)));
  EXPECT_EQ(ReadAll(&src, 100).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ChunkSource, MissingChunkIsReported) {
  MapFetcher f;
  File file = MakeFile(&f, {"hello ", "world"});
  f.chunks.erase(file.spans[1].id);
  ChunkSource src(&f, file.spans, file.content.size(), DigestToString(Sha256::Of(file.content)));
  EXPECT_EQ(ReadAll(&src, 100).status().code(), absl::StatusCode::kNotFound);
}

TEST(ChunkSource, ReadsFromASealedDirectoryStore) {
  std::string dir = ::testing::TempDir() + "/chunk_source_store";
  auto store = OpenDirChunkStore(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  Key256 key{};
  key[0] = 7;
  SealedChunkStore sealed(store->get(), key);
  std::string a(300000, 'x'), b = "tail bytes";
  ChunkId ia = Sha256::Of(a), ib = Sha256::Of(b);
  ASSERT_TRUE(sealed.PutPlain(ia, AsBytes(a)).ok());
  ASSERT_TRUE(sealed.PutPlain(ib, AsBytes(b)).ok());
  auto fetcher = MakeStoreFetcher(&sealed);
  ChunkSource src(fetcher.get(), {{ia, 300000}, {ib, static_cast<uint32_t>(b.size())}},
                  a.size() + b.size(), DigestToString(Sha256::Of(a + b)));
  auto got = ReadAll(&src, 1 << 16);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == a + b);
}

}  // namespace
}  // namespace shoebox::worker
