// The conformance suite every ChunkStore backend must pass (the contract is
// in common/chunkstore/chunkstore.h).
//
// How to run it against a backend (see common/chunkstore/dir_store_test.cc):
//
//   #include "tests/support/chunkstore_conformance.h"   // in ONE .cc per test binary
//
//   class S3Backend : public shoebox::testing::ChunkStoreTestBackend {
//    public:
//     // A fresh, empty store (e.g. a new bucket or prefix on a server the
//     // backend started in its constructor and stops in its destructor).
//     absl::StatusOr<std::unique_ptr<shoebox::ChunkStore>> Open() override;
//     // Replaces the stored object of `id` with `bytes`, bypassing the store
//     // under test (e.g. a raw PUT). Used to corrupt objects.
//     absl::Status Overwrite(const shoebox::ChunkId& id, std::string_view bytes) override;
//     // Optional: a store whose medium is (nearly) full, or UNIMPLEMENTED to
//     // skip the full-disk test with that message as the reason.
//     absl::StatusOr<std::unique_ptr<shoebox::ChunkStore>> OpenFull() override;
//   };
//
//   INSTANTIATE_TEST_SUITE_P(
//       S3, ChunkStoreConformanceTest,
//       ::testing::Values(shoebox::testing::BackendFactory(
//           "s3", [] { return std::make_unique<S3Backend>(); })),
//       shoebox::testing::BackendName);
//
// Each test creates its own backend through the factory and destroys it at
// the end. Link the test with GTest::gtest and shoebox_common; give the
// ctest entries the label your backend needs (`unit` for dir, `integration`
// for servers).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "gtest/gtest.h"
#include "tests/support/data_gen.h"

namespace shoebox::testing {

class ChunkStoreTestBackend {
 public:
  virtual ~ChunkStoreTestBackend() = default;
  virtual absl::StatusOr<std::unique_ptr<ChunkStore>> Open() = 0;
  virtual absl::Status Overwrite(const ChunkId& id, std::string_view bytes) = 0;
  virtual absl::StatusOr<std::unique_ptr<ChunkStore>> OpenFull() {
    return absl::UnimplementedError("this backend has no full-medium fixture");
  }
};

struct BackendFactory {
  BackendFactory(std::string n, std::function<std::unique_ptr<ChunkStoreTestBackend>()> m)
      : name(std::move(n)), make(std::move(m)) {}
  std::string name;
  std::function<std::unique_ptr<ChunkStoreTestBackend>()> make;
};

// Test names show the backend name, not the parameter's bytes.
inline void PrintTo(const BackendFactory& f, std::ostream* os) { *os << f.name; }

inline std::string BackendName(const ::testing::TestParamInfo<BackendFactory>& info) {
  return info.param.name;
}

inline ChunkId TestId(uint64_t n) {
  const std::string seed = absl::StrCat("conformance id ", n);
  return Sha256::Of(seed);
}

// `size` bytes of blob `n` (the shared generator, seeded as always).
inline std::string TestBlob(uint64_t n, size_t size) {
  return testsupport::XorShift64(n * testsupport::kGoldenGamma + 1).Bytes(size);
}

inline std::string IdHex(const ChunkId& id) { return ToHex(ByteSpan(id.data(), id.size())); }

}  // namespace shoebox::testing

class ChunkStoreConformanceTest
    : public ::testing::TestWithParam<shoebox::testing::BackendFactory> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    ASSERT_NE(backend_, nullptr);
    auto store = backend_->Open();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    backend_.reset();
  }
  std::unique_ptr<shoebox::testing::ChunkStoreTestBackend> backend_;
  std::unique_ptr<shoebox::ChunkStore> store_;
};

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ChunkStoreConformanceTest);

TEST_P(ChunkStoreConformanceTest, MissingObjectIsNotFoundNamingTheChunk) {
  using namespace shoebox::testing;
  const shoebox::ChunkId id = TestId(1);
  auto got = store_->Get(id);
  ASSERT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
  EXPECT_NE(got.status().message().find(IdHex(id)), absl::string_view::npos) << got.status();
  auto stat = store_->Stat(id);
  EXPECT_EQ(stat.status().code(), absl::StatusCode::kNotFound) << stat.status();
  auto has = store_->Has(id);
  ASSERT_TRUE(has.ok()) << has.status();
  EXPECT_FALSE(*has);
}

TEST_P(ChunkStoreConformanceTest, PutThenGetReturnsTheSameBytes) {
  using namespace shoebox::testing;
  for (size_t size : {size_t{0}, size_t{1}, size_t{1000}, size_t{5 << 20}}) {
    const shoebox::ChunkId id = TestId(100 + size);
    const std::string blob = TestBlob(size, size);
    ASSERT_TRUE(store_->Put(id, blob).ok());
    auto got = store_->Get(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, blob) << "size " << size;
    auto has = store_->Has(id);
    ASSERT_TRUE(has.ok());
    EXPECT_TRUE(*has);
  }
}

TEST_P(ChunkStoreConformanceTest, PutIsIdempotent) {
  using namespace shoebox::testing;
  const shoebox::ChunkId id = TestId(2);
  const std::string blob = TestBlob(2, 4096);
  ASSERT_TRUE(store_->Put(id, blob).ok());
  ASSERT_TRUE(store_->Put(id, blob).ok());
  auto got = store_->Get(id);
  // s3rver (3.7.1, lib/stores/filesystem.js putObject) overwrites an object
  // in place and answers the PUT before its write stream has flushed, so a
  // GET right after a second PUT of the same key can read a short file on a
  // loaded machine. S3, moto and the directory store replace atomically;
  // only s3rver gets a moment for its flush.
  for (int i = 0; i < 50 && GetParam().name == "S3rver" && got.ok() && *got != blob; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    got = store_->Get(id);
  }
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, blob);
  int count = 0;
  ASSERT_TRUE(store_
                  ->List([&](const shoebox::ChunkId& listed) {
                    if (listed == id) ++count;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(count, 1);
}

TEST_P(ChunkStoreConformanceTest, ConcurrentPutsOfTheSameIdAllSucceedAndLeaveOneWholeObject) {
  using namespace shoebox::testing;
  const shoebox::ChunkId id = TestId(3);
  constexpr int kThreads = 8;
  // Different bytes per writer (as with real sealing: fresh nonces), so a
  // torn mix of two writers would be detected.
  std::vector<std::string> blobs;
  for (int i = 0; i < kThreads; ++i) blobs.push_back(TestBlob(1000 + i, 256 * 1024));
  std::vector<absl::Status> results(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      results[i] = store_->Put(id, blobs[i]);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_TRUE(results[i].ok()) << results[i];
  auto got = store_->Get(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_NE(std::find(blobs.begin(), blobs.end(), *got), blobs.end())
      << "the stored object is not any one writer's whole blob";
  int count = 0;
  ASSERT_TRUE(store_
                  ->List([&](const shoebox::ChunkId& l) {
                    count += l == id;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(count, 1);
}

TEST_P(ChunkStoreConformanceTest, ListSeesEveryPut) {
  using namespace shoebox::testing;
  std::set<shoebox::ChunkId> put;
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 75 && results[t].ok(); ++i) {
        results[t] = store_->Put(TestId(10000 + t * 100 + i), TestBlob(i, 100));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (auto& r : results) ASSERT_TRUE(r.ok()) << r;
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 75; ++i) put.insert(TestId(10000 + t * 100 + i));
  }
  std::set<shoebox::ChunkId> listed;
  ASSERT_TRUE(store_
                  ->List([&](const shoebox::ChunkId& id) {
                    EXPECT_TRUE(listed.insert(id).second) << "listed twice: " << IdHex(id);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(listed, put);
}

TEST_P(ChunkStoreConformanceTest, ListStopsWithTheCallbacksError) {
  using namespace shoebox::testing;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->Put(TestId(200 + i), "x").ok());
  int calls = 0;
  absl::Status st = store_->List([&](const shoebox::ChunkId&) {
    ++calls;
    return absl::CancelledError("stop here");
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

TEST_P(ChunkStoreConformanceTest, DeleteRemovesAndDeletingMissingIsOk) {
  using namespace shoebox::testing;
  const shoebox::ChunkId id = TestId(4);
  ASSERT_TRUE(store_->Put(id, TestBlob(4, 10)).ok());
  ASSERT_TRUE(store_->Delete(id).ok());
  EXPECT_EQ(store_->Get(id).status().code(), absl::StatusCode::kNotFound);
  auto has = store_->Has(id);
  ASSERT_TRUE(has.ok());
  EXPECT_FALSE(*has);
  EXPECT_TRUE(store_->Delete(id).ok());
  EXPECT_TRUE(store_->Delete(TestId(5)).ok());
  bool seen = false;
  ASSERT_TRUE(store_
                  ->List([&](const shoebox::ChunkId& l) {
                    seen |= l == id;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_FALSE(seen);
}

TEST_P(ChunkStoreConformanceTest, StatReportsTheStoredSize) {
  using namespace shoebox::testing;
  const shoebox::ChunkId id = TestId(6);
  ASSERT_TRUE(store_->Put(id, TestBlob(6, 12345)).ok());
  auto size = store_->Stat(id);
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 12345u);
}

TEST_P(ChunkStoreConformanceTest, CorruptedObjectIsDataLossOnSealedGet) {
  using namespace shoebox::testing;
  shoebox::Key256 key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0xa0 + i);
  shoebox::SealedChunkStore sealed(store_.get(), key);
  const std::string plain = TestBlob(7, 70000);
  const shoebox::ChunkId id = TestId(7);
  auto put = sealed.PutPlain(id, shoebox::AsBytes(plain));
  ASSERT_TRUE(put.ok()) << put.status();
  auto back = sealed.GetPlain(id);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, plain);

  auto raw = store_->Get(id);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*put, raw->size());
  std::string damaged = *raw;
  damaged[damaged.size() / 2] ^= 0x10;
  ASSERT_TRUE(backend_->Overwrite(id, damaged).ok());
  auto bad = sealed.GetPlain(id);
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kDataLoss) << bad.status();
  EXPECT_NE(bad.status().message().find(IdHex(id)), absl::string_view::npos) << bad.status();

  // A valid blob of another chunk stored under this ID is caught as well.
  const shoebox::ChunkId other = TestId(8);
  ASSERT_TRUE(sealed.PutPlain(other, shoebox::AsBytes(plain)).ok());
  auto other_raw = store_->Get(other);
  ASSERT_TRUE(other_raw.ok());
  ASSERT_TRUE(backend_->Overwrite(id, *other_raw).ok());
  EXPECT_EQ(sealed.GetPlain(id).status().code(), absl::StatusCode::kDataLoss);

  // Truncated.
  ASSERT_TRUE(backend_->Overwrite(id, raw->substr(0, raw->size() - 1)).ok());
  EXPECT_EQ(sealed.GetPlain(id).status().code(), absl::StatusCode::kDataLoss);
}

TEST_P(ChunkStoreConformanceTest, NamedObjectsRoundTripAndStayApartFromChunks) {
  using namespace shoebox::testing;
  auto list = [&](const std::string& prefix) {
    std::map<std::string, uint64_t> out;
    absl::Status st = store_->ListNamed(prefix, [&](const std::string& name, uint64_t size) {
      EXPECT_TRUE(out.emplace(name, size).second) << "listed twice: " << name;
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return out;
  };
  EXPECT_TRUE(list("").empty());
  const std::string a = TestBlob(31, 3000), b = TestBlob(32, 70000), c = TestBlob(33, 10);
  ASSERT_TRUE(store_->PutNamed("catalog/20261126T180000000Z.snap", TestBlob(30, 5)).ok());
  ASSERT_TRUE(store_->PutNamed("catalog/20261126T180000000Z.snap", a).ok()) << "PutNamed replaces";
  ASSERT_TRUE(store_->PutNamed("catalog/20261127T180000000Z.snap", b).ok());
  ASSERT_TRUE(store_->PutNamed("other/c", c).ok());
  const shoebox::ChunkId id = TestId(9);
  ASSERT_TRUE(store_->Put(id, TestBlob(9, 100)).ok());

  auto got = store_->GetNamed("catalog/20261126T180000000Z.snap");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, a);
  std::map<std::string, uint64_t> want = {{"catalog/20261126T180000000Z.snap", a.size()},
                                          {"catalog/20261127T180000000Z.snap", b.size()}};
  EXPECT_EQ(list("catalog/"), want);
  want.emplace("other/c", c.size());
  EXPECT_EQ(list(""), want);

  std::vector<shoebox::ChunkId> chunks;
  ASSERT_TRUE(store_
                  ->List([&](const shoebox::ChunkId& l) {
                    chunks.push_back(l);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(chunks, std::vector<shoebox::ChunkId>{id}) << "named objects must not appear as chunks";

  ASSERT_TRUE(store_->DeleteNamed("catalog/20261126T180000000Z.snap").ok());
  EXPECT_TRUE(store_->DeleteNamed("catalog/20261126T180000000Z.snap").ok())
      << "missing is not an error";
  auto gone = store_->GetNamed("catalog/20261126T180000000Z.snap");
  ASSERT_EQ(gone.status().code(), absl::StatusCode::kNotFound) << gone.status();
  EXPECT_NE(gone.status().message().find("catalog/20261126T180000000Z.snap"),
            absl::string_view::npos)
      << gone.status();
  EXPECT_EQ(list("catalog/").size(), 1u);

  for (const char* bad : {"", "../x", "a//b", ".hidden", "catalog/.tmp", "a b", "catalog/"}) {
    EXPECT_EQ(store_->PutNamed(bad, "x").code(), absl::StatusCode::kInvalidArgument)
        << "'" << bad << "'";
    EXPECT_EQ(store_->GetNamed(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST_P(ChunkStoreConformanceTest, FullMediumIsResourceExhaustedAndLeavesNothingVisible) {
  using namespace shoebox::testing;
  auto full = backend_->OpenFull();
  if (absl::IsUnimplemented(full.status())) GTEST_SKIP() << full.status().message();
  ASSERT_TRUE(full.ok()) << full.status();
  // Fill until the medium refuses, then check the refused object is absent.
  absl::Status st;
  int i = 0;
  shoebox::ChunkId refused{};
  for (; i < 4096; ++i) {
    refused = TestId(50000 + i);
    st = (*full)->Put(refused, TestBlob(i, 256 * 1024));
    if (!st.ok()) break;
  }
  ASSERT_FALSE(st.ok()) << "the medium never filled up";
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_NE(st.message().find(IdHex(refused)), absl::string_view::npos) << st;
  auto has = (*full)->Has(refused);
  ASSERT_TRUE(has.ok());
  EXPECT_FALSE(*has);
  EXPECT_EQ((*full)->Get(refused).status().code(), absl::StatusCode::kNotFound);
  int listed = 0;
  bool refused_listed = false;
  ASSERT_TRUE((*full)
                  ->List([&](const shoebox::ChunkId& l) {
                    ++listed;
                    refused_listed |= l == refused;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(listed, i);
  EXPECT_FALSE(refused_listed);
  // Objects written before the medium filled are intact.
  for (int k = 0; k < i; ++k) {
    auto got = (*full)->Get(TestId(50000 + k));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, TestBlob(k, 256 * 1024));
  }
}
