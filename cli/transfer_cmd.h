// What `shoebox transfer list` prints, shared with `shoebox status`
// (cli/transfer_cmd.cc; docs/cli.md).
#pragma once

#include <cstdint>
#include <string>

#include "cli/client.h"
#include "nlohmann/json.hpp"
#include "shoebox/v1/admin.pb.h"

namespace shoebox::cli {

// One transfer / all of them as `transfer list --json` prints them.
nlohmann::json TransferJson(const v1::Transfer& t);
nlohmann::json TransfersJson(const v1::ListTransfersResponse& r);
// An ETA in seconds as `transfer list` prints it: "unknown" (-1), "done"
// (0), "42s", "4m10s", "3h05m", "2d04h".
std::string TransferEta(int64_t eta_s);
// The text form: two to four lines per transfer.
void PrintTransfers(const v1::ListTransfersResponse& r);
// ListTransfers for `status`; false when it failed (a coordinator without
// transfers): status then says nothing about them.
bool ListTransfersForStatus(AdminClient& client, v1::ListTransfersResponse* out);

}  // namespace shoebox::cli
