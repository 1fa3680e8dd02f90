// The S3 chunk-store backend (common/s3/s3_chunkstore.h) against moto and
// s3rver: the shared chunk-store conformance suite. Location parsing is
// unit-tested in common/s3/s3_chunkstore_test.cc.
#include <atomic>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/http/url.h"
#include "common/s3/s3_chunkstore.h"
#include "common/s3/s3_client.h"
#include "tests/support/chunkstore_conformance.h"
#include "tests/support/servers.h"

namespace shoebox::s3 {
namespace {

using testsupport::S3Server;

S3Server* Server(bool moto) {
  static std::unique_ptr<S3Server> m, r;
  std::unique_ptr<S3Server>& s = moto ? m : r;
  if (!s) {
    auto started = moto ? testsupport::StartMoto("chunks") : testsupport::StartS3rver("chunks");
    if (!started.ok()) {
      ADD_FAILURE() << started.status();
      return nullptr;
    }
    s = std::move(*started);
  }
  return s.get();
}

class S3Backend : public shoebox::testing::ChunkStoreTestBackend {
 public:
  explicit S3Backend(bool moto) : moto_(moto) {
    static std::atomic<int> n{0};
    prefix_ = absl::StrCat("store", n++);
  }
  std::string Location(const std::string& secret) const {
    S3Server* s = Server(moto_);
    // Keys may contain '/' or '+': percent-encoded, as the format requires.
    return absl::StrCat("s3://", http::PercentEncode(s->access_key, false), ":",
                        http::PercentEncode(secret, false), "@127.0.0.1:", s->port, "/", s->bucket,
                        "/", prefix_, "?tls=0");
  }
  absl::StatusOr<std::unique_ptr<ChunkStore>> Open() override {
    if (Server(moto_) == nullptr) return absl::FailedPreconditionError("server did not start");
    return OpenS3ChunkStore(Location(Server(moto_)->secret_key));
  }
  absl::Status Overwrite(const ChunkId& id, std::string_view bytes) override {
    S3Server* s = Server(moto_);
    S3Config cfg;
    cfg.endpoint = s->endpoint;
    cfg.bucket = s->bucket;
    cfg.credentials = {s->access_key, s->secret_key, ""};
    ASSIGN_OR_RETURN(auto client, S3Client::Create(cfg));
    std::string hex = ToHex(ByteSpan(id.data(), id.size()));
    return client->PutBytes(absl::StrCat(prefix_, "/", hex.substr(0, 2), "/", hex.substr(2)), bytes,
                            {});
  }

 private:
  const bool moto_;
  std::string prefix_;
};

INSTANTIATE_TEST_SUITE_P(
    S3, ChunkStoreConformanceTest,
    ::testing::Values(
        shoebox::testing::BackendFactory("Moto", [] { return std::make_unique<S3Backend>(true); }),
        shoebox::testing::BackendFactory("S3rver",
                                         [] { return std::make_unique<S3Backend>(false); })),
    shoebox::testing::BackendName);

TEST(S3ChunkStore, WrongSecretIsPermissionDenied) {
  S3Backend b(true);
  ASSERT_NE(Server(true), nullptr);
  auto s = OpenS3ChunkStore(b.Location("wrong-secret"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->Put(ChunkId{}, "blob").code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace shoebox::s3
