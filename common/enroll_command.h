// The `enroll` subcommand that shoebox-agent and shoebox-worker share:
// which coordinator and identity directory to use (flags first, then the
// config file), the exchange itself (common/tls_client.h EnrollIdentity),
// and what it prints. The mains only fill an EnrollCommand from their
// flags and config and name their service's Enroll RPC.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "common/tls_client.h"

namespace CLI {
class App;
}  // namespace CLI

namespace shoebox {

// What the program's config file says about enrolling.
struct EnrollDefaults {
  std::string coordinator;  // HOST:PORT
  std::string tls_dir;      // identity directory
  // The name the config gives this machine. When set and the coordinator
  // enrolls it under another name, a note says that the certificate decides.
  std::optional<std::string> name;
};

struct EnrollCommand {
  std::string program;  // "shoebox-agent": messages start "shoebox-agent enroll: "
  std::string role;     // "device" or "worker"
  // The flags; empty when not given. `token` is the token or "-" for stdin,
  // `token_file` a file holding it (exactly one of the two); neither the
  // token nor the file's content is ever printed. A token given on the
  // command line works but gets a note on `err`: other users see it in the
  // process list and it stays in the shell history.
  std::string coordinator, token, token_file, tls_dir;
  // The config file's values, or why it did not load (then the flags must
  // name the coordinator).
  absl::StatusOr<EnrollDefaults> config = absl::NotFoundError("no config");
  // The identity directory when neither --tls-dir nor the config names one.
  std::string fallback_tls_dir;
};

// The `enroll` subcommand's flags, as both programs spell them.
struct EnrollFlags {
  CLI::App* command = nullptr;  // true (parsed) when the user ran `enroll`
  std::string coordinator, token, token_file, tls_dir;
};

// What differs in the help texts: "device" or "worker", and where the
// program's config names the coordinator and the identity directory.
struct EnrollHelp {
  std::string role;                 // "device" / "worker"
  std::string coordinator_default;  // "coordinator.address of the config"
  std::string tls_dir_default;      // "from the config"
};

// Adds `enroll` with --coordinator, --token, --token-file (excludes
// --token) and --tls-dir to `app`; `flags` must outlive the parse.
void AddEnrollSubcommand(CLI::App& app, const EnrollHelp& help, EnrollFlags* flags);

// An EnrollCommand from the parsed flags (config and fallback still to set).
EnrollCommand EnrollCommandFromFlags(const std::string& program, const std::string& role,
                                     const EnrollFlags& flags);

// Where to enroll and where to store the identity.
struct EnrollTarget {
  std::string coordinator;
  std::string tls_dir;
};

// --coordinator, else the config's; --tls-dir, else the config's, else the
// fallback. INVALID_ARGUMENT saying to give --coordinator when neither
// names a coordinator.
absl::StatusOr<EnrollTarget> ResolveEnrollTarget(const EnrollCommand& cmd);

// The token in `path`: its first non-empty line, whitespace trimmed.
// NOT_FOUND / PERMISSION_DENIED naming the file, INVALID_ARGUMENT when it
// holds no token.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Enrolls with `coordinator` and stores the identity in `tls_dir`; returns
// the name the coordinator gave (EnrollIdentity with a service's RPC).
using IdentityEnroller = std::function<absl::StatusOr<std::string>(
    const std::string& coordinator, const std::string& token, const std::string& tls_dir)>;

// Runs the command: resolves the target, enrolls, prints the outcome to
// `out` (success) or `err` (failure). Returns the exit code: 0 enrolled,
// 1 enrollment failed, 2 no coordinator to ask or no usable token given.
int RunEnrollment(const EnrollCommand& cmd, const IdentityEnroller& enroll, std::ostream& out,
                  std::ostream& err);

// The same with EnrollIdentity over `call` (the service's Enroll RPC, see
// MakeEnrollCall), printing to standard output and standard error.
int RunEnrollment(const EnrollCommand& cmd, const EnrollCall& call);

}  // namespace shoebox
