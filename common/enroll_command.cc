#include "common/enroll_command.h"

#include <iostream>

#include "absl/strings/str_cat.h"

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

int RunEnrollment(const EnrollCommand& cmd, const IdentityEnroller& enroll, std::ostream& out,
                  std::ostream& err) {
  absl::StatusOr<EnrollTarget> target = ResolveEnrollTarget(cmd);
  if (!target.ok()) {
    err << cmd.program << " enroll: " << target.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::string> name = enroll(target->coordinator, cmd.token, target->tls_dir);
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

}  // namespace shoebox
