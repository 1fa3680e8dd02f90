#include "common/chunkstore/retrying_store.h"

#include <map>
#include <vector>

#include "gtest/gtest.h"

namespace shoebox {
namespace {

// An in-memory store whose next `fail` calls answer `error`.
class FlakyStore final : public ChunkStore {
 public:
  int fail = 0;
  absl::Status error = absl::UnavailableError("backend down");
  int calls = 0;
  // List delivers the objects, then fails when set.
  bool list_fails_after_first = false;

  absl::Status Put(const ChunkId& id, std::string_view blob) override {
    RETURN_IF_ERROR(Trouble());
    objects_[id] = std::string(blob);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Get(const ChunkId& id) override {
    RETURN_IF_ERROR(Trouble());
    auto it = objects_.find(id);
    if (it == objects_.end()) return absl::NotFoundError("chunk not in store");
    return it->second;
  }
  absl::StatusOr<bool> Has(const ChunkId& id) override {
    RETURN_IF_ERROR(Trouble());
    return objects_.count(id) > 0;
  }
  absl::Status Delete(const ChunkId& id) override {
    RETURN_IF_ERROR(Trouble());
    objects_.erase(id);
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Stat(const ChunkId& id) override {
    ASSIGN_OR_RETURN(std::string b, Get(id));
    return b.size();
  }
  absl::Status List(const std::function<absl::Status(const ChunkId&)>& fn) override {
    if (!list_fails_after_first) RETURN_IF_ERROR(Trouble());
    for (const auto& [id, _] : objects_) {
      RETURN_IF_ERROR(fn(id));
      if (list_fails_after_first) return absl::UnavailableError("connection reset on page 2");
    }
    return absl::OkStatus();
  }
  std::string Describe() const override { return "flaky:"; }

 private:
  absl::Status Trouble() {
    ++calls;
    if (fail > 0) {
      --fail;
      return error;
    }
    return absl::OkStatus();
  }
  std::map<ChunkId, std::string> objects_;
};

ChunkId Id(uint8_t b) {
  ChunkId id{};
  id[0] = b;
  return id;
}

struct Fixture {
  Fixture() {
    auto f = std::make_unique<FlakyStore>();
    flaky = f.get();
    store =
        std::make_unique<RetryingChunkStore>(std::move(f),
                                             BackoffPolicy{.initial_delay = absl::Milliseconds(1),
                                                           .max_delay = absl::Seconds(1),
                                                           .max_attempts = 3},
                                             [this](absl::Duration d) { waits.push_back(d); });
  }
  FlakyStore* flaky;
  std::unique_ptr<RetryingChunkStore> store;
  std::vector<absl::Duration> waits;
};

TEST(RetryingChunkStore, TransientFailuresAreRetriedUntilTheyPass) {
  Fixture f;
  f.flaky->fail = 2;
  ASSERT_TRUE(f.store->Put(Id(1), "blob").ok());
  EXPECT_EQ(f.flaky->calls, 3);
  EXPECT_EQ(f.waits.size(), 2u);
  f.flaky->fail = 1;
  EXPECT_EQ(*f.store->Get(Id(1)), "blob");
  f.flaky->fail = 1;
  EXPECT_TRUE(*f.store->Has(Id(1)));
  f.flaky->fail = 1;
  EXPECT_EQ(*f.store->Stat(Id(1)), 4u);
  f.flaky->fail = 1;
  EXPECT_TRUE(f.store->Delete(Id(1)).ok());
  EXPECT_FALSE(*f.store->Has(Id(1)));
  EXPECT_EQ(f.store->Describe(), "flaky:");
}

TEST(RetryingChunkStore, PermanentErrorsAndExhaustedAttemptsAreReturned) {
  Fixture f;
  f.flaky->fail = 1;
  f.flaky->error = absl::PermissionDeniedError("bad key");
  EXPECT_EQ(f.store->Put(Id(1), "b").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(f.flaky->calls, 1);
  EXPECT_EQ(f.store->Get(Id(9)).status().code(), absl::StatusCode::kNotFound);

  f.flaky->fail = 10;
  f.flaky->error = absl::UnavailableError("down");
  f.flaky->calls = 0;
  absl::Status st = f.store->Put(Id(1), "b");
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(f.flaky->calls, 3);
}

TEST(RetryingChunkStore, ListIsRetriedOnlyBeforeItsCallbackRan) {
  Fixture f;
  ASSERT_TRUE(f.store->Put(Id(1), "a").ok());
  ASSERT_TRUE(f.store->Put(Id(2), "b").ok());
  f.flaky->fail = 1;
  int seen = 0;
  ASSERT_TRUE(f.store
                  ->List([&](const ChunkId&) {
                    ++seen;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(seen, 2);

  f.flaky->list_fails_after_first = true;
  seen = 0;
  absl::Status st = f.store->List([&](const ChunkId&) {
    ++seen;
    return absl::OkStatus();
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(seen, 1) << "a retry would have delivered the first ID again";
}

}  // namespace
}  // namespace shoebox
