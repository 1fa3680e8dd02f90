// What `shoebox dest add|set` make of their flags, before anything is sent:
// --set values converted to the types the kind declares
// (common/destination_kinds.h), and secrets read from the command line,
// standard input (`--secret K=-`) or files (`--secret-file K=PATH`).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

// --set KEY=VALUE... of `kind` as a JSON object of typed values, and --unset
// KEY... as nulls (a patch). INVALID_ARGUMENT naming the flag and the key:
// an unknown kind or key, a value of the wrong type, a secret given as a
// setting.
absl::StatusOr<nlohmann::json> SettingsFromFlags(const std::string& kind,
                                                 const std::vector<std::string>& set,
                                                 const std::vector<std::string>& unset = {});

// Reads all of standard input (or prompts without echo on a terminal).
using StdinReader = std::function<absl::StatusOr<std::string>(const std::string& key)>;
// The standard reader: a terminal gets a prompt "KEY: " with echo off;
// otherwise all of stdin is read.
absl::StatusOr<std::string> ReadSecretFromStdin(const std::string& key);

struct SecretInput {
  nlohmann::json secrets = nlohmann::json::object();
  // True when a value came from the command line itself (visible in `ps`
  // and the shell history): the caller warns.
  bool from_argv = false;
};

// --secret KEY=VALUE | KEY=- (stdin, at most one) and --secret-file
// KEY=PATH. A value read from stdin or a file loses one trailing newline
// when it has no other line break (a password file written by `echo`);
// multi-line values (private keys) are kept as they are. Checked against
// the kind's declared secrets. INVALID_ARGUMENT naming the flag and key;
// NOT_FOUND/PERMISSION_DENIED naming an unreadable file.
absl::StatusOr<SecretInput> SecretsFromFlags(const std::string& kind,
                                             const std::vector<std::string>& secret,
                                             const std::vector<std::string>& secret_file,
                                             const StdinReader& read_stdin);

}  // namespace shoebox::cli
