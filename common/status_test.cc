#include "common/status.h"

#include <openssl/evp.h>

#include <cerrno>

#include "common/retry.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"
#include "rocksdb/status.h"

namespace shoebox {
namespace {

TEST(StatusTest, ErrnoMapsToMeaningfulCodesAndNamesTheObject) {
  EXPECT_EQ(ErrnoToStatus(ENOENT, "open /x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoToStatus(EACCES, "open /x").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus(EPERM, "open /x").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus(ENOSPC, "write /x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatus(EDQUOT, "write /x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatus(EEXIST, "create /x").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoToStatus(EIO, "read /x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoToStatus(EXDEV, "rename /x").code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ErrnoToStatus(ENOENT, "open /etc/shoebox/agent.toml").message(),
            "open /etc/shoebox/agent.toml: No such file or directory");
}

TEST(StatusTest, RocksDbStatusesMap) {
  EXPECT_TRUE(FromRocks(rocksdb::Status::OK(), "db").ok());
  EXPECT_EQ(FromRocks(rocksdb::Status::NotFound("k"), "get").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FromRocks(rocksdb::Status::Corruption("bad block"), "get").code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(FromRocks(rocksdb::Status::IOError("disk"), "put").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(FromRocks(rocksdb::Status::Busy(), "put").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(FromRocks(rocksdb::Status::NoSpace("full"), "put").code(),
            absl::StatusCode::kResourceExhausted);
  absl::Status st = FromRocks(rocksdb::Status::Corruption("bad block"), "open cache /var/x");
  EXPECT_NE(st.message().find("open cache /var/x"), absl::string_view::npos);
  EXPECT_NE(st.message().find("bad block"), absl::string_view::npos);
}

TEST(StatusTest, GrpcCodesRoundTripOneToOne) {
  for (int c = 0; c <= 16; ++c) {
    const absl::Status s(static_cast<absl::StatusCode>(c), c == 0 ? "" : "msg");
    const grpc::Status g = ToGrpc(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), c);
    const absl::Status back = FromGrpc(g);
    EXPECT_EQ(back.code(), s.code());
    if (c != 0) {
      EXPECT_EQ(back.message(), "msg");
    }
  }
  EXPECT_EQ(ToGrpc(absl::DataLossError("x")).error_code(), grpc::StatusCode::DATA_LOSS);
}

TEST(StatusTest, AnEmptyRpcMessageIsNamedByCodeAndOperation) {
  // Issue 18: "INTERNAL:" with nothing after it never reaches a user.
  const grpc::Status empty(grpc::StatusCode::INTERNAL, "");
  EXPECT_EQ(RpcErrorText(empty, "coordinator", "CompleteJob"),
            "INTERNAL from coordinator during CompleteJob (no message)");
  const absl::Status s = FromGrpc(empty, "coordinator", "CompleteJob");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "INTERNAL from coordinator during CompleteJob (no message)");
  EXPECT_EQ(FromGrpc(empty).message(), "INTERNAL (no message)");
  const grpc::Status said(grpc::StatusCode::NOT_FOUND, "job 7 does not exist");
  EXPECT_EQ(RpcErrorText(said, "coordinator", "FailJob"), "job 7 does not exist");
  EXPECT_EQ(StatusText(absl::UnavailableError("")), "UNAVAILABLE (no message)");
  EXPECT_EQ(StatusText(absl::UnavailableError("down")), "down");
  EXPECT_EQ(StatusText(absl::OkStatus()), "OK");
}

TEST(StatusTest, AnnotateKeepsCodeAndPrependsContext) {
  absl::Status s = Annotate(absl::NotFoundError("chunk ab not found"), "restore /p/file.jpg");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "restore /p/file.jpg: chunk ab not found");
  EXPECT_TRUE(Annotate(absl::OkStatus(), "x").ok());
  // A Retry-After hint travels with the annotated status.
  absl::Status hinted = Annotate(WithRetryAfter(absl::ResourceExhaustedError("429"), 1500), "put");
  EXPECT_EQ(RetryAfterMs(hinted), 1500u);
}

TEST(StatusTest, OpenSslErrorReportsTheQueueAndClearsIt) {
  EXPECT_EQ(EVP_get_digestbyname("no-such-digest"), nullptr);
  EXPECT_EQ(EVP_MD_fetch(nullptr, "no-such-digest", nullptr), nullptr);
  absl::Status s = OpenSslError("fetch digest");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message().rfind("fetch digest: ", 0), 0u) << s;
  EXPECT_EQ(OpenSslError("again").message(), "again: OpenSSL call failed");
}

TEST(StatusTest, MacrosPropagateErrorsAndValues) {
  auto inner = [](bool fail) -> absl::StatusOr<int> {
    if (fail) return absl::UnavailableError("down");
    return 5;
  };
  auto outer = [&](bool fail) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(int v, inner(fail));
    RETURN_IF_ERROR(v == 5 ? absl::OkStatus() : absl::InternalError("bad"));
    return v * 2;
  };
  EXPECT_EQ(*outer(false), 10);
  EXPECT_EQ(outer(true).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace shoebox
