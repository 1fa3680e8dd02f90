#include "common/status.h"

#include <openssl/err.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "grpcpp/support/status.h"
#include "rocksdb/status.h"

namespace shoebox {

absl::Status ErrnoToStatus(int err, std::string_view what) {
  std::string msg = absl::StrCat(AbslView(what), ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::ResourceExhaustedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case EIO:
    case EAGAIN:
    case EINTR:
    case EBUSY:
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
      return absl::UnavailableError(msg);
    case ENOTDIR:
    case EISDIR:
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP:
      return absl::InvalidArgumentError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(AbslView(what), ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(msg);
  if (s.IsMemoryLimit()) return absl::ResourceExhaustedError(msg);
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut() || s.IsIOError() || s.IsIncomplete()) {
    return absl::UnavailableError(msg);
  }
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsNotSupported()) return absl::UnimplementedError(msg);
  if (s.IsAborted()) return absl::AbortedError(msg);
  if (s.IsShutdownInProgress() || s.IsColumnFamilyDropped()) {
    return absl::FailedPreconditionError(msg);
  }
  return absl::InternalError(msg);
}

absl::Status OpenSslError(std::string_view what) {
  unsigned long last = 0;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) last = e;
  if (last == 0) return absl::InternalError(absl::StrCat(AbslView(what), ": OpenSSL call failed"));
  char buf[256];
  ERR_error_string_n(last, buf, sizeof(buf));
  return absl::InternalError(absl::StrCat(AbslView(what), ": ", buf));
}

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(s.code())),
                      std::string(s.message()));
}

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(static_cast<int>(s.error_code()));
  if (s.error_message().empty()) {
    return absl::Status(code, absl::StrCat(absl::StatusCodeToString(code), " (no message)"));
  }
  return absl::Status(code, s.error_message());
}

std::string RpcErrorText(const grpc::Status& s, std::string_view peer, std::string_view operation) {
  if (!s.error_message().empty()) return s.error_message();
  return absl::StrCat(
      absl::StatusCodeToString(static_cast<absl::StatusCode>(static_cast<int>(s.error_code()))),
      " from ", AbslView(peer), " during ", AbslView(operation), " (no message)");
}

absl::Status FromGrpc(const grpc::Status& s, std::string_view peer, std::string_view operation) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(static_cast<int>(s.error_code())),
                      RpcErrorText(s, peer, operation));
}

std::string StatusText(const absl::Status& s) {
  if (s.ok()) return "OK";
  if (s.message().empty()) {
    return absl::StrCat(absl::StatusCodeToString(s.code()), " (no message)");
  }
  return std::string(s.message());
}

absl::Status Annotate(const absl::Status& s, std::string_view context) {
  if (s.ok()) return s;
  absl::Status out(s.code(), absl::StrCat(AbslView(context), ": ", s.message()));
  // Payloads (a Retry-After hint) travel with the status.
  s.ForEachPayload(
      [&out](absl::string_view key, const absl::Cord& value) { out.SetPayload(key, value); });
  return out;
}

}  // namespace shoebox
