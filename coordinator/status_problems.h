// What in a status summary needs the admin (StatusResponse.problems): one
// line each, naming the device or destination and the command to act.
// Pure: no store, no clock; Admin::GetStatus calls it on every summary.
#pragma once

#include <vector>

#include "coordinator/store/model.h"

namespace shoebox::coordinator {

// In this order: per device (by name) revoked, bound to no destination,
// each watched folder its agent cannot read; then per destination (as in
// `s.destinations`) refused credentials, no worker serving it, dead
// deliveries with the last error. A revoked device is not also reported
// unbound or for its folders (it is refused anyway).
std::vector<StatusProblem> StatusProblems(const StatusSummary& s);

}  // namespace shoebox::coordinator
