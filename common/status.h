// Status helpers shared by every component. Our code returns absl::Status /
// absl::StatusOr<T> and never throws; foreign error styles are converted here.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace grpc {
class Status;
}
namespace rocksdb {
class Status;
}

namespace shoebox {

#define SHOEBOX_CONCAT_INNER(a, b) a##b
#define SHOEBOX_CONCAT(a, b) SHOEBOX_CONCAT_INNER(a, b)

// Returns from the current function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)    \
  do {                           \
    ::absl::Status _st = (expr); \
    if (!_st.ok()) return _st;   \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F());` assigns the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  SHOEBOX_ASSIGN_OR_RETURN_IMPL(SHOEBOX_CONCAT(_statusor_, __LINE__), lhs, expr)
#define SHOEBOX_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

// errno → status: ENOENT→NOT_FOUND, EACCES/EPERM/EROFS→PERMISSION_DENIED,
// ENOSPC/EDQUOT/EMFILE/ENFILE/ENOMEM→RESOURCE_EXHAUSTED, EEXIST→ALREADY_EXISTS,
// EIO/EAGAIN/EINTR/EBUSY/ETIMEDOUT/ECONNREFUSED/ECONNRESET→UNAVAILABLE,
// ENOTDIR/EISDIR/EINVAL/ENAMETOOLONG/ELOOP→INVALID_ARGUMENT, others→INTERNAL.
// The message is "<what>: <strerror>".
absl::Status ErrnoToStatus(int err, std::string_view what);

// RocksDB status → absl::Status (Corruption→DATA_LOSS, NotFound→NOT_FOUND,
// IOError/Busy/TryAgain→UNAVAILABLE, NoSpace→RESOURCE_EXHAUSTED, ...).
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what);

// The last OpenSSL error queue entry (and clears the queue) → INTERNAL.
absl::Status OpenSslError(std::string_view what);

// absl::StatusCode maps one to one onto grpc::StatusCode.
grpc::Status ToGrpc(const absl::Status& s);
// A status without a message gets "<CODE> (no message)" as its message.
absl::Status FromGrpc(const grpc::Status& s);
// Issue 18: an empty status message never reaches a user. The message of an
// RPC's status, or when `peer` gave none, "<CODE> from <peer> during
// <operation> (no message)", e.g. "INTERNAL from coordinator during
// CompleteJob (no message)".
std::string RpcErrorText(const grpc::Status& s, std::string_view peer, std::string_view operation);
absl::Status FromGrpc(const grpc::Status& s, std::string_view peer, std::string_view operation);
// The message of `s`, or "<CODE> (no message)" when it has none.
std::string StatusText(const absl::Status& s);

// Prepends context to the message, keeping the code.
absl::Status Annotate(const absl::Status& s, std::string_view context);

}  // namespace shoebox
