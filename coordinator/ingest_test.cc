// Ingest (server-side imports, issue 21) against in-memory stores: chunks
// cut exactly as the agent cuts them, no chunk written twice, the same item
// twice is no new version, and every malformed stream is refused naming
// the item. The SQL path is tested against PostgreSQL by
// tests/cli/import_takeout_test.cc.
#include "coordinator/ingest.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "coordinator/metrics.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {
namespace {

namespace pb = shoebox::v1;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

class IngestTest : public ::testing::Test {
 protected:
  IngestTest()
      : keys_(DeriveKeys(Key256{7, 7, 7})),
        sealed_(&blobs_, keys_.data_key),
        ingest_(&store_, &sealed_, keys_, &metrics_) {}

  std::unique_ptr<Ingest::Session> Open(const std::string& source = "takeout") {
    pb::ImportHeader h;
    h.set_source(source);
    absl::StatusOr<std::unique_ptr<Ingest::Session>> s = ingest_.Open(h);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  static pb::ImportItemsRequest Item(const std::string& path, const std::string& content) {
    pb::ImportItemsRequest m;
    pb::ImportItem* i = m.mutable_item();
    i->set_path(path);
    i->set_mtime_ns(1562265001ll * 1000000000);
    i->set_capture_unix_ns(1562265001ll * 1000000000);
    i->add_albums("Summer trip");
    i->set_size(content.size());
    Sha256 sha;
    sha.Update(content);
    i->set_sha256(DigestToString(sha.Final()));
    return m;
  }

  static absl::Status Send(Ingest::Session& s, const std::string& path,
                           const std::string& content) {
    if (absl::Status st = s.Handle(Item(path, content)); !st.ok()) return st;
    for (size_t off = 0; off < content.size(); off += 1 << 20) {
      pb::ImportItemsRequest d;
      d.set_data(content.substr(off, 1 << 20));
      if (absl::Status st = s.Handle(d); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  // The chunk IDs an agent computes for `content` (agent/hasher.cc).
  std::vector<std::string> AgentChunks(const std::string& content) {
    Chunker c(ChunkerParams{}, MakeGearTable(keys_.chunker_key));
    std::vector<uint64_t> cuts;
    c.Feed(AsBytes(content), &cuts);
    if (auto last = c.Finish()) cuts.push_back(*last);
    const HmacSha256 mac(ByteSpan(keys_.chunk_id_key.data(), keys_.chunk_id_key.size()));
    std::vector<std::string> ids;
    uint64_t start = 0;
    for (uint64_t end : cuts) {
      ids.push_back(
          DigestToString(mac.Compute(std::string_view(content).substr(start, end - start))));
      start = end;
    }
    return ids;
  }

  DerivedKeys keys_;
  FakeChunkStore blobs_;
  SealedChunkStore sealed_;
  FakeCatalogStore store_;
  Metrics metrics_;
  Ingest ingest_;
};

TEST_F(IngestTest, ItemIsChunkedAsTheAgentChunksAndStoredOnce) {
  const std::string content = RandomBytes(5 << 20, 1);
  auto s = Open();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(Send(*s, "Google Photos/Photos from 2019/VID.mp4", content).ok());
  absl::StatusOr<pb::ImportItemsResponse> r = s->Finish();
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<std::string> ids = AgentChunks(content);
  ASSERT_GT(ids.size(), 1u);
  EXPECT_EQ(r->items(), 1u);
  EXPECT_EQ(r->new_versions(), 1u);
  EXPECT_EQ(r->chunks_written(), ids.size());
  EXPECT_EQ(blobs_.size(), ids.size());
  for (const std::string& id : ids) {
    absl::StatusOr<ChunkStatus> st = store_.GetChunk(id);
    ASSERT_TRUE(st.ok());
    EXPECT_TRUE(st->stored);
  }
}

TEST_F(IngestTest, SameItemAgainIsNoNewVersionAndSameContentElsewhereWritesNoChunk) {
  const std::string content = RandomBytes(3 << 20, 2);
  {
    auto s = Open();
    ASSERT_TRUE(Send(*s, "a/IMG_1.jpg", content).ok());
    ASSERT_TRUE(s->Finish().ok());
  }
  const size_t blobs = blobs_.size();
  auto s = Open();
  ASSERT_TRUE(Send(*s, "a/IMG_1.jpg", content).ok());
  ASSERT_TRUE(Send(*s, "b/IMG_1 copy.jpg", content).ok());
  absl::StatusOr<pb::ImportItemsResponse> r = s->Finish();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->already_imported(), 1u);
  EXPECT_EQ(r->new_versions(), 1u);
  EXPECT_EQ(r->chunks_written(), 0u);
  EXPECT_EQ(blobs_.size(), blobs);
}

TEST_F(IngestTest, MalformedStreamsAreRefusedNamingTheItem) {
  auto s = Open();
  pb::ImportItemsRequest data;
  data.set_data("x");
  absl::Status st = s->Handle(data);
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;

  pb::ImportItemsRequest bad = Item("a/x.jpg", "hello");
  bad.mutable_item()->set_sha256(std::string(32, 'z'));
  ASSERT_TRUE(s->Handle(bad).ok());
  data.set_data("hello");
  st = s->Handle(data);
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_NE(st.message().find("a/x.jpg"), std::string::npos) << st;

  s = Open();
  ASSERT_TRUE(s->Handle(Item("a/y.jpg", "hello")).ok());
  data.set_data("hello!");
  st = s->Handle(data);
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_NE(st.message().find("more bytes"), std::string::npos) << st;

  s = Open();
  ASSERT_TRUE(s->Handle(Item("a/z.jpg", "hello")).ok());
  absl::StatusOr<pb::ImportItemsResponse> r = s->Finish();
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("a/z.jpg"), std::string::npos) << r.status();

  s = Open();
  EXPECT_TRUE(absl::IsInvalidArgument(s->Handle(Item("../etc/passwd", "x"))));
  pb::ImportItemsRequest header;
  header.mutable_header()->set_source("takeout");
  EXPECT_TRUE(absl::IsInvalidArgument(s->Handle(header)));
}

// Streams of up to four items, each damaged in one random way (a data
// message dropped, doubled or with a byte flipped, a size or SHA-256 that
// lies, a bad or empty path, an empty message, data before the item, the
// stream cut short), 200 seeds. Whatever happens: the session answers with
// INVALID_ARGUMENT naming what is wrong (never a crash or INTERNAL), and
// every version the catalog holds is exactly the bytes its item declared.
TEST_F(IngestTest, RandomlyDamagedStreamsNeverStoreADamagedItem) {
  int refused = 0;
  constexpr uint32_t kSeeds = 200;
  for (uint32_t seed = 0; seed < kSeeds; ++seed) {
    std::mt19937 gen(seed);
    auto pick = [&](int n) { return static_cast<int>(gen() % static_cast<uint32_t>(n)); };
    std::vector<pb::ImportItemsRequest> msgs;
    const int items = 1 + pick(4);
    for (int i = 0; i < items; ++i) {
      const std::string path = "s" + std::to_string(seed) + "/IMG_" + std::to_string(i) + ".jpg";
      const std::string content = RandomBytes(static_cast<size_t>(pick(600 << 10)), seed * 10 + i);
      msgs.push_back(Item(path, content));
      for (size_t off = 0; off < content.size(); off += 1 << 18) {
        pb::ImportItemsRequest d;
        d.set_data(content.substr(off, 1 << 18));
        msgs.push_back(d);
      }
    }
    const size_t at = static_cast<size_t>(pick(static_cast<int>(msgs.size())));
    pb::ImportItemsRequest& m = msgs[at];
    switch (pick(9)) {
      case 0:
        msgs.erase(msgs.begin() + static_cast<ptrdiff_t>(at));
        break;
      case 1:
        msgs.insert(msgs.begin() + static_cast<ptrdiff_t>(at), m);
        break;
      case 2:
        if (m.has_item()) {
          m.mutable_item()->set_size(m.item().size() + 1 + static_cast<uint64_t>(pick(100)));
        } else if (!m.data().empty()) {
          (*m.mutable_data())[static_cast<size_t>(pick(static_cast<int>(m.data().size())))] ^= 1;
        }
        break;
      case 3:
        if (m.has_item()) m.mutable_item()->set_sha256(m.item().sha256().substr(0, pick(32)));
        break;
      case 4:
        if (m.has_item()) {
          const char* bad[] = {"", "/abs.jpg", "a/../../x.jpg", "a//b.jpg", "a/./b.jpg"};
          m.mutable_item()->set_path(bad[pick(5)]);
        }
        break;
      case 5:
        msgs.insert(msgs.begin() + static_cast<ptrdiff_t>(at), pb::ImportItemsRequest());
        break;
      case 6: {
        pb::ImportItemsRequest d;
        d.set_data("stray");
        msgs.insert(msgs.begin(), d);
        break;
      }
      case 7:
        msgs.resize(at);
        break;
      default:
        if (m.has_item()) m.mutable_item()->set_size(m.item().size() / 2);
        break;
    }
    auto s = Open();
    ASSERT_NE(s, nullptr);
    absl::Status st;
    for (const pb::ImportItemsRequest& msg : msgs) {
      st = s->Handle(msg);
      if (!st.ok()) break;
    }
    if (st.ok()) st = s->Finish().status();
    if (!st.ok()) {
      ++refused;
      EXPECT_TRUE(absl::IsInvalidArgument(st)) << "seed " << seed << ": " << st;
      EXPECT_FALSE(st.message().empty()) << "seed " << seed;
    }
  }
  // Most damage is caught; some (a cut between items) leaves whole items.
  EXPECT_GT(refused, static_cast<int>(kSeeds) / 2) << refused;

  // Every stored version is whole: its chunks give exactly its size and SHA-256.
  absl::StatusOr<int64_t> dev = store_.FindDevice("takeout");
  ASSERT_TRUE(dev.ok()) << dev.status();
  VersionQuery q;
  q.all_versions = true;
  q.limit = 10000;
  absl::StatusOr<VersionPage> page = store_.ListVersions(*dev, q);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_FALSE(page->versions.empty());
  for (const FileVersion& v : page->versions) {
    std::string bytes;
    for (const ChunkRef& c : v.chunks) {
      ChunkId id;
      ASSERT_TRUE(DigestFromString(c.id, &id));
      absl::StatusOr<std::string> plain = sealed_.GetPlain(id);
      ASSERT_TRUE(plain.ok()) << v.path << ": " << plain.status();
      bytes += *plain;
    }
    Sha256 sha;
    sha.Update(bytes);
    EXPECT_EQ(bytes.size(), v.size) << v.path;
    EXPECT_EQ(DigestToString(sha.Final()), v.sha256) << v.path;
  }
}

TEST_F(IngestTest, SourceNamesAreCheckedAndAnAgentsDeviceIsNotTaken) {
  pb::ImportHeader h;
  h.set_source("bad name/with slash");
  EXPECT_TRUE(absl::IsInvalidArgument(ingest_.Open(h).status()));
  ASSERT_TRUE(store_.UpsertDevice("laptop", "laptop.local", "1.0", {"/home/a"}).ok());
  h.set_source("laptop");
  absl::Status st = ingest_.Open(h).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_NE(st.message().find("--device"), std::string::npos) << st;
}

}  // namespace
}  // namespace shoebox::coordinator
