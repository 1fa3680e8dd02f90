// What in a status summary needs the admin (StatusResponse.problems): one
// line each, naming the device or destination and the command to act.
// Pure: no store; Admin::GetStatus calls it on every summary (with the
// clock: the one-argument form).
#pragma once

#include <cstdint>
#include <vector>

#include "coordinator/store/model.h"

namespace shoebox::coordinator {

// In this order: per device (by name) revoked, bound to no destination,
// silent (no Hello or heartbeat for kDeviceSilentAfterMs while its agent
// last reported files pending, or versions still wait for its chunks),
// each watched folder its agent cannot read; then per destination (as in
// `s.destinations`) refused credentials, no worker serving it, dead
// deliveries with the last error. A revoked device is not also reported
// unbound or for its folders (it is refused anyway).
std::vector<StatusProblem> StatusProblems(const StatusSummary& s, int64_t now_unix_ms);
// Ages measured against s.now_unix_ms (the database's clock, which stamped
// last_seen), or this machine's clock when that is unknown.
std::vector<StatusProblem> StatusProblems(const StatusSummary& s);

// A running agent sends a heartbeat at least every 30 s between upload
// rounds; one round (a batch of large files on a slow link) can take
// longer, so silence counts only after 10 minutes.
inline constexpr int64_t kDeviceSilentAfterMs = 10 * 60 * 1000;

}  // namespace shoebox::coordinator
