#include "common/enroll_command.h"

#include "CLI/CLI.hpp"

#include <cerrno>
#include <fstream>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace shoebox {

absl::StatusOr<EnrollTarget> ResolveEnrollTarget(const EnrollCommand& cmd) {
  EnrollTarget t;
  t.coordinator = cmd.coordinator;
  if (t.coordinator.empty()) {
    if (!cmd.config.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "give --coordinator HOST:PORT (no usable config: ", cmd.config.status().message(), ")"));
    }
    t.coordinator = cmd.config->coordinator;
  }
  t.tls_dir = cmd.tls_dir;
  if (t.tls_dir.empty()) t.tls_dir = cmd.config.ok() ? cmd.config->tls_dir : cmd.fallback_tls_dir;
  return t;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    int e = errno;
    return ErrnoToStatus(e == 0 ? ENOENT : e, absl::StrCat("read --token-file ", path));
  }
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view t = absl::StripAsciiWhitespace(line);
    if (!t.empty()) return std::string(t);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--token-file ", path,
                   ": the file holds no token; put the line `shoebox enroll-token` "
                   "printed in it"));
}

int RunEnrollment(const EnrollCommand& cmd, const IdentityEnroller& enroll, std::ostream& out,
                  std::ostream& err) {
  const std::string prefix = cmd.program + " enroll: ";
  std::string token = cmd.token;
  if (!cmd.token_file.empty()) {
    if (!cmd.token.empty()) {
      err << prefix << "give the token once: --token or --token-file, not both\n";
      return 2;
    }
    absl::StatusOr<std::string> t = ReadTokenFile(cmd.token_file);
    if (!t.ok()) {
      err << prefix << t.status().message() << "\n";
      return 2;
    }
    token = *std::move(t);
  } else if (token.empty()) {
    err << prefix
        << "give the token from `shoebox enroll-token`: --token - (read from standard input), "
           "--token-file FILE, or --token TOKEN\n";
    return 2;
  } else if (token != "-") {
    err << prefix
        << "note: a token on the command line is visible to other users in the process list and "
           "stays in the shell history; next time use --token - or --token-file FILE\n";
  }
  absl::StatusOr<EnrollTarget> target = ResolveEnrollTarget(cmd);
  if (!target.ok()) {
    err << prefix << target.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::string> name = enroll(target->coordinator, token, target->tls_dir);
  if (!name.ok()) {
    err << cmd.program << " enroll: " << name.status().message() << "\n";
    return 1;
  }
  out << "enrolled as " << cmd.role << " '" << *name << "' with coordinator " << target->coordinator
      << "; identity stored in " << target->tls_dir << "\n";
  if (cmd.config.ok() && cmd.config->name.has_value() && *cmd.config->name != *name) {
    out << "note: the config names this " << cmd.role << " '" << *cmd.config->name
        << "'; the coordinator knows it as '" << *name << "' (the certificate decides)\n";
  }
  return 0;
}

int RunEnrollment(const EnrollCommand& cmd, const EnrollCall& call) {
  return RunEnrollment(
      cmd,
      [&call](const std::string& coordinator, const std::string& token,
              const std::string& tls_dir) {
        return EnrollIdentity(coordinator, token, tls_dir, call);
      },
      std::cout, std::cerr);
}

void AddEnrollSubcommand(CLI::App& app, const EnrollHelp& help, EnrollFlags* flags) {
  flags->command =
      app.add_subcommand("enroll", "obtain this " + help.role +
                                       "'s certificate from the coordinator with a one-time token");
  flags->command->add_option("--coordinator", flags->coordinator,
                             "coordinator HOST:PORT (default: " + help.coordinator_default + ")");
  auto* token = flags->command->add_option(
      "--token", flags->token,
      "token printed by `shoebox enroll-token --" + help.role +
          " NAME`; - reads it from standard input "
          "(a token typed here shows in the process list and the shell history)");
  flags->command
      ->add_option("--token-file", flags->token_file,
                   "file holding the token (its first line), instead of --token")
      ->excludes(token);
  flags->command->add_option(
      "--tls-dir", flags->tls_dir,
      "where to store the key and certificates (default: " + help.tls_dir_default + ")");
}

EnrollCommand EnrollCommandFromFlags(const std::string& program, const std::string& role,
                                     const EnrollFlags& flags) {
  EnrollCommand cmd;
  cmd.program = program;
  cmd.role = role;
  cmd.coordinator = flags.coordinator;
  cmd.token = flags.token;
  cmd.token_file = flags.token_file;
  cmd.tls_dir = flags.tls_dir;
  return cmd;
}

}  // namespace shoebox
