// What `shoebox transfer list` prints, shared with `shoebox status`
// (cli/transfer_cmd.cc; docs/cli.md).
#pragma once

#include "cli/client.h"
#include "nlohmann/json.hpp"
#include "shoebox/v1/admin.pb.h"

namespace shoebox::cli {

// One transfer / all of them as `transfer list --json` prints them.
nlohmann::json TransferJson(const v1::Transfer& t);
nlohmann::json TransfersJson(const v1::ListTransfersResponse& r);
// The text form: two to four lines per transfer.
void PrintTransfers(const v1::ListTransfersResponse& r);
// ListTransfers for `status`; false when it failed (a coordinator without
// transfers): status then says nothing about them.
bool ListTransfersForStatus(AdminClient& client, v1::ListTransfersResponse* out);

}  // namespace shoebox::cli
