#include "workers/connectors/retrying_connector.h"

#include <vector>

#include "gtest/gtest.h"

namespace shoebox::worker {
namespace {

// A connector whose next `fail` calls answer `error`; Put reads the whole
// source so that a retry must rewind it.
class FlakyConnector final : public Connector {
 public:
  int fail = 0;
  absl::Status error = absl::UnavailableError("HTTP 503");
  int calls = 0;
  bool get_fails_after_bytes = false;
  std::string stored;

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>&) override {
    std::string bytes(src->size(), '\0');
    ASSIGN_OR_RETURN(size_t n, src->Read(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()));
    bytes.resize(n);
    RETURN_IF_ERROR(Trouble());
    stored = bytes;
    RemoteObject o;
    o.remote_path = req.remote_path;
    o.size = n;
    return o;
  }
  absl::StatusOr<RemoteObject> Stat(const std::string& p) override {
    RETURN_IF_ERROR(Trouble());
    RemoteObject o;
    o.remote_path = p;
    o.size = stored.size();
    return o;
  }
  absl::StatusOr<std::vector<RemoteObject>> List(const std::string&) override {
    RETURN_IF_ERROR(Trouble());
    return std::vector<RemoteObject>(1);
  }
  absl::Status Get(const std::string&,
                   const std::function<absl::Status(std::string_view)>& sink) override {
    if (get_fails_after_bytes) {
      RETURN_IF_ERROR(sink("part"));
      return absl::UnavailableError("connection reset");
    }
    RETURN_IF_ERROR(Trouble());
    return sink(stored);
  }
  absl::Status Delete(const std::string&) override { return Trouble(); }
  absl::Status EnsureFolder(const std::string&) override { return Trouble(); }
  std::string Describe() const override { return "flaky"; }

 private:
  absl::Status Trouble() {
    ++calls;
    if (fail > 0) {
      --fail;
      return error;
    }
    return absl::OkStatus();
  }
};

PutRequest Req(const std::string& path, uint64_t size) {
  PutRequest r;
  r.remote_path = path;
  r.size = size;
  return r;
}

struct Fixture {
  explicit Fixture(bool retry_put = true) {
    auto f = std::make_unique<FlakyConnector>();
    flaky = f.get();
    BackoffPolicy p{
        .initial_delay = absl::Milliseconds(1), .max_delay = absl::Seconds(2), .max_attempts = 3};
    c = std::make_unique<RetryingConnector>(std::move(f),
                                            RetryOptions{.policy = p, .retry_put = retry_put},
                                            [this](absl::Duration d) { waits.push_back(d); });
  }
  FlakyConnector* flaky;
  std::unique_ptr<RetryingConnector> c;
  std::vector<absl::Duration> waits;
};

TEST(RetryingConnector, PutIsRetriedFromTheStartOfTheSource) {
  Fixture f;
  f.flaky->fail = 2;
  auto src = MakeStringSource("hello");
  auto put = f.c->Put(Req("a.jpg", 5), src.get(), nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(f.flaky->stored, "hello");
  EXPECT_EQ(f.flaky->calls, 3);
  EXPECT_EQ(f.waits.size(), 2u);
}

TEST(RetryingConnector, PutIsLeftAloneWhenTheConnectorRetriesItsOwnUploads) {
  Fixture f(/*retry_put=*/false);
  f.flaky->fail = 1;
  auto src = MakeStringSource("x");
  EXPECT_EQ(f.c->Put(Req("a", 1), src.get(), nullptr).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(f.flaky->calls, 1);
}

TEST(RetryingConnector, IdempotentCallsAreRetriedAndRetryAfterIsHonoured) {
  Fixture f;
  f.flaky->fail = 1;
  f.flaky->error = WithRetryAfter(absl::UnavailableError("HTTP 429"), 1500);
  EXPECT_TRUE(f.c->Stat("a").ok());
  ASSERT_EQ(f.waits.size(), 1u);
  EXPECT_GE(f.waits[0], absl::Milliseconds(1500));
  f.flaky->fail = 1;
  EXPECT_TRUE(f.c->List("").ok());
  f.flaky->fail = 1;
  EXPECT_TRUE(f.c->Delete("a").ok());
  f.flaky->fail = 1;
  EXPECT_TRUE(f.c->EnsureFolder("d").ok());
  EXPECT_EQ(f.c->Describe(), "flaky");
}

TEST(RetryingConnector, ALongRetryAfterGoesBackToTheWorkerWithItsHint) {
  Fixture f;
  f.flaky->fail = 1;
  f.flaky->error = WithRetryAfter(absl::UnavailableError("SlowDown"), 60000);
  absl::Status st = f.c->Stat("a").status();
  EXPECT_EQ(ClassifyForRetry(st), RetryClass::kRetryable);
  EXPECT_EQ(RetryAfterMs(st), 60000u);
  EXPECT_EQ(f.flaky->calls, 1);
}

TEST(RetryingConnector, PermanentAndAuthErrorsAreNotRetried) {
  Fixture f;
  f.flaky->fail = 1;
  f.flaky->error = absl::UnauthenticatedError("HTTP 401");
  EXPECT_EQ(ClassifyForRetry(f.c->Stat("a").status()), RetryClass::kAuth);
  EXPECT_EQ(f.flaky->calls, 1);
}

TEST(RetryingConnector, GetIsRetriedOnlyBeforeBytesReachedTheSink) {
  Fixture f;
  f.flaky->stored = "data";
  f.flaky->fail = 1;
  std::string got;
  auto sink = [&](std::string_view d) {
    got.append(d);
    return absl::OkStatus();
  };
  ASSERT_TRUE(f.c->Get("a", sink).ok());
  EXPECT_EQ(got, "data");
  got.clear();
  f.flaky->get_fails_after_bytes = true;
  EXPECT_EQ(f.c->Get("a", sink).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(got, "part") << "a retry would have written the first bytes twice";
}

}  // namespace
}  // namespace shoebox::worker
