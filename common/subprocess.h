// Running a helper program (pg_dump, pg_restore, psql) to completion with its
// stdin fed from memory and its stdout and stderr captured, without a shell.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int term_signal = 0;
  std::string out;  // everything written to stdout
  std::string err;  // stderr (the last 64 KiB)
};

// Runs argv (argv[0] is an absolute path, or a name searched in PATH) with
// `stdin_data` on its stdin. Errors only when the program cannot be started
// (NOT_FOUND naming it) or the pipes fail; a non-zero exit is reported in the
// result, not as an error.
// `extra_env` ("NAME=value") is added to (and overrides) this process's
// environment, e.g. secrets that must not appear in argv (visible in ps).
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         std::string_view stdin_data = {},
                                         const std::vector<std::string>& extra_env = {});

// "exit code 1: <last stderr line(s)>" for error messages.
std::string DescribeFailure(const ProcessResult& r);

}  // namespace shoebox
