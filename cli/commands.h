// The `shoebox` command line: parses arguments and calls the coordinator's
// AdminService. main.cc only calls Run().
#pragma once

namespace shoebox::cli {

// Returns the process exit code: 0 success, 1 operation failed, 2 usage.
int Run(int argc, char** argv);

}  // namespace shoebox::cli
