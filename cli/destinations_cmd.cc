// `shoebox dest add|set|list|remove|pause|resume|check|kinds` (docs/cli.md,
// docs/destinations.md). Settings are converted and checked against the
// kind's declaration (common/destination_kinds.h) before anything is sent;
// secrets are sealed to the worker pool key on this machine; a new or
// changed destination is tested by a worker (cli/dest_check.cc) unless
// --no-check.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/dest_check.h"
#include "cli/dest_connect_oauth1.h"
#include "cli/dest_input.h"
#include "cli/seal.h"
#include "common/bytes.h"
#include "common/destination_kinds.h"
#include "common/http/oauth.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

namespace {

using nlohmann::json;

// Usage errors (a bad flag value, an unknown key) exit 2 (docs/cli.md).
int Usage(const std::string& command, const absl::Status& st) {
  std::fprintf(stderr, "shoebox: %s: %s\n", command.c_str(), std::string(st.message()).c_str());
  return 2;
}

// A refusal of the coordinator; INVALID_ARGUMENT is a usage error too.
int Refused(const grpc::Status& s, const std::string& what) {
  const int code = FailRpc(s, what);
  return s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? 2 : code;
}

void WarnArgvSecrets(const SecretInput& in) {
  if (in.from_argv) {
    std::fprintf(stderr,
                 "shoebox: note: a --secret value on the command line is visible to other users "
                 "(ps) and kept in the shell history; prefer --secret KEY=- (standard input) or "
                 "--secret-file KEY=PATH\n");
  }
}

struct CheckFlags {
  bool no_check = false;
  bool read_only = false;
  double timeout_s = 60;
};

void AddCheckFlags(CLI::App* cmd, CheckFlags* f) {
  cmd->add_flag("--no-check", f->no_check,
                "do not test the connection (e.g. the destination is offline now)");
  cmd->add_flag("--check-read-only", f->read_only,
                "test connecting and listing only, without writing a probe file");
  cmd->add_option("--check-timeout", f->timeout_s, "seconds to wait for a worker to run the test")
      ->check(CLI::Range(1.0, 3600.0));
}

CheckOptions ToCheckOptions(const CheckFlags& f) {
  return CheckOptions{
      .write_probe = !f.read_only,
      .timeout = std::chrono::milliseconds(static_cast<int64_t>(f.timeout_s * 1000))};
}

struct DestAddArgs {
  std::string name, kind, layout = "{device}/{folder}/{path}";
  std::vector<std::string> set, secret, secret_file;
  uint32_t max_concurrency = 4;
  CheckFlags check;
};

int DestAdd(AdminClient& client, const DestAddArgs& a) {
  const std::string cmd = "dest add " + a.name;
  auto settings = SettingsFromFlags(a.kind, a.set);
  if (!settings.ok()) return Usage(cmd, settings.status());
  absl::Status valid = ValidateDestinationSettings(a.kind, *settings);
  if (!valid.ok()) return Usage(cmd, valid);
  auto secrets = SecretsFromFlags(a.kind, a.secret, a.secret_file, ReadSecretFromStdin);
  if (!secrets.ok()) {
    if (absl::IsInvalidArgument(secrets.status())) return Usage(cmd, secrets.status());
    return FailStatus(secrets.status());
  }
  WarnArgvSecrets(*secrets);
  v1::CreateDestinationRequest req;
  req.set_name(a.name);
  req.set_kind(a.kind);
  req.set_settings_json(settings->dump());
  if (!secrets->secrets.empty()) {
    auto sealed = SealCredentialsFor(a.name, secrets->secrets.dump());
    if (!sealed.ok()) return FailStatus(sealed.status());
    req.set_sealed_credentials(*sealed);
  }
  req.set_layout(a.layout);
  req.set_max_concurrency(a.max_concurrency);
  v1::Destination out;
  {
    auto ctx = client.Context();
    grpc::Status s = client.stub()->CreateDestination(ctx.get(), req, &out);
    if (!s.ok()) return Refused(s, absl::StrCat("adding destination '", a.name, "'"));
  }
  const std::string sealed_note =
      secrets->secrets.empty() ? "" : "; credentials sealed to the worker pool key";
  if ((!secrets->secrets.contains("refresh_token") && http::LookUpOAuthProfile(a.kind).ok()) ||
      (!secrets->secrets.contains("oauth_token") && IsOAuth1Kind(a.kind))) {
    // An OAuth service cannot be checked before its sign-in (issue 19).
    std::printf(
        "destination %s (%s) added; next: `shoebox dest connect %s` signs in to the service "
        "(then a worker checks the connection)\n",
        out.name().c_str(), out.kind().c_str(), out.name().c_str());
    return 0;
  }
  if (a.check.no_check) {
    std::printf("destination %s (%s) added without a connection check (--no-check)%s\n",
                out.name().c_str(), out.kind().c_str(), sealed_note.c_str());
    return 0;
  }
  CheckResult r = RunDestinationCheck(client, a.name, a.kind, ToCheckOptions(a.check));
  if (r.passed) {
    std::printf("destination %s (%s) added%s; connection checked: %s\n", out.name().c_str(),
                out.kind().c_str(), sealed_note.c_str(), r.detail.c_str());
    return 0;
  }
  // Not added after all: take it away again (nothing refers to it yet).
  v1::RemoveDestinationRequest rm;
  rm.set_name(a.name);
  v1::RemoveDestinationResponse rr;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->RemoveDestination(ctx.get(), rm, &rr);
  std::fprintf(stderr, "shoebox: destination %s was not added: %s\n", a.name.c_str(),
               r.message.c_str());
  if (!s.ok()) {
    std::fprintf(stderr,
                 "shoebox: it could not be taken away again (%s); `shoebox dest remove %s` "
                 "removes it\n",
                 s.error_message().c_str(), a.name.c_str());
  }
  std::fprintf(stderr,
               "  fix the settings or credentials and run the command again; --no-check adds it "
               "without the test (e.g. while it is offline)\n");
  return 1;
}

// The destination `name` as the coordinator has it.
absl::StatusOr<v1::Destination> FindDestination(AdminClient& client, const std::string& name) {
  v1::ListDestinationsResponse r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->ListDestinations(ctx.get(), v1::ListDestinationsRequest(), &r);
  if (!s.ok()) return absl::UnavailableError(s.error_message());
  for (const auto& d : r.destinations())
    if (d.name() == name) return d;
  return absl::NotFoundError(
      absl::StrCat("no destination named '", name, "'; `shoebox dest list` lists them"));
}

struct DestSetArgs {
  std::string name, layout;
  std::vector<std::string> set, unset, secret, secret_file;
  bool clear_secrets = false;
  uint32_t max_concurrency = 0;
  CLI::Option* layout_opt = nullptr;
  CLI::Option* max_concurrency_opt = nullptr;
  CheckFlags check;
};

int DestSet(AdminClient& client, const DestSetArgs& a) {
  const std::string cmd = "dest set " + a.name;
  auto have = FindDestination(client, a.name);
  if (!have.ok()) return FailStatus(have.status());
  const std::string& kind = have->kind();
  auto patch = SettingsFromFlags(kind, a.set, a.unset);
  if (!patch.ok()) return Usage(cmd, patch.status());
  const bool new_secrets = !a.secret.empty() || !a.secret_file.empty();
  if (new_secrets && a.clear_secrets)
    return Usage(cmd, absl::InvalidArgumentError("--clear-secrets: also given new secrets"));
  v1::UpdateDestinationRequest req;
  req.set_name(a.name);
  req.set_settings_patch_json(patch->dump());
  std::string what = patch->empty() ? "" : "settings";
  if (new_secrets) {
    // A sealed box cannot be merged: the new one holds every secret.
    auto secrets = SecretsFromFlags(kind, a.secret, a.secret_file, ReadSecretFromStdin);
    if (!secrets.ok()) {
      if (!absl::IsInvalidArgument(secrets.status())) return FailStatus(secrets.status());
      return Usage(cmd, absl::InvalidArgumentError(absl::StrCat(
                            secrets.status().message(),
                            " (new secrets replace all the old ones, which are sealed and cannot "
                            "be read back: give every secret the destination needs)")));
    }
    WarnArgvSecrets(*secrets);
    auto sealed = SealCredentialsFor(a.name, secrets->secrets.dump());
    if (!sealed.ok()) return FailStatus(sealed.status());
    req.set_sealed_credentials(*sealed);
    what += what.empty() ? "credentials" : " and credentials";
  }
  req.set_clear_credentials(a.clear_secrets);
  if (a.layout_opt != nullptr && a.layout_opt->count() > 0) req.set_layout(a.layout);
  if (a.max_concurrency_opt != nullptr && a.max_concurrency_opt->count() > 0)
    req.set_max_concurrency(a.max_concurrency);
  if (patch->empty() && !new_secrets && !a.clear_secrets && !req.has_layout() &&
      !req.has_max_concurrency()) {
    return Usage(cmd, absl::InvalidArgumentError(
                          "nothing to change; give --set, --unset, --secret, --secret-file, "
                          "--clear-secrets, --layout or --max-concurrency"));
  }
  v1::UpdateDestinationResponse resp;
  {
    auto ctx = client.Context();
    grpc::Status s = client.stub()->UpdateDestination(ctx.get(), req, &resp);
    if (!s.ok()) return Refused(s, absl::StrCat("changing destination '", a.name, "'"));
  }
  std::printf("destination %s changed%s\n", a.name.c_str(),
              what.empty() ? "" : absl::StrCat(" (", what, ")").c_str());
  int rc = 0;
  const bool config_changed = !patch->empty() || new_secrets || a.clear_secrets;
  if (config_changed && !a.check.no_check && resp.destination().paused_unix_ms() != 0) {
    std::printf(
        "not checked: the destination is paused; `shoebox dest resume %s`, then `shoebox "
        "dest check %s`\n",
        a.name.c_str(), a.name.c_str());
  } else if (config_changed && !a.check.no_check) {
    CheckResult r = RunDestinationCheck(client, a.name, kind, ToCheckOptions(a.check));
    if (r.passed) {
      std::printf("connection checked: %s\n", r.detail.c_str());
    } else {
      std::fprintf(stderr,
                   "shoebox: destination %s: the change is saved, but %s\n  fix it with `shoebox "
                   "dest set %s ...`\n",
                   a.name.c_str(), r.message.c_str(), a.name.c_str());
      rc = 1;
    }
  }
  if (resp.dead_jobs() > 0) {
    std::printf(
        "%llu job(s) of %s are dead (e.g. failed with the old settings); `shoebox retry "
        "--dest %s` queues them again\n",
        static_cast<unsigned long long>(resp.dead_jobs()), a.name.c_str(), a.name.c_str());
  }
  return rc;
}

std::string CheckSummary(const v1::Destination& d) {
  switch (d.last_check_state()) {
    case v1::JOB_STATE_UNSPECIFIED:
      return "never checked";
    case v1::JOB_STATE_DONE:
      return absl::StrCat("checked ok ", FormatTime(d.last_check_unix_ms()));
    case v1::JOB_STATE_DEAD:
    case v1::JOB_STATE_CANCELLED:
      return absl::StrCat("check FAILED ", FormatTime(d.last_check_unix_ms()), ": ",
                          PrintablePath(d.last_check_detail()));
    default:
      return "check pending";
  }
}

int DestList(AdminClient& client, bool as_json) {
  v1::ListDestinationsResponse r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->ListDestinations(ctx.get(), v1::ListDestinationsRequest(), &r);
  if (!s.ok()) return FailRpc(s, "listing destinations");
  if (as_json) {
    json out = json::array();
    for (const auto& d : r.destinations()) {
      json settings = json::parse(d.settings_json(), nullptr, false);
      out.push_back({{"name", d.name()},
                     {"kind", d.kind()},
                     {"settings", settings.is_discarded() ? json(d.settings_json()) : settings},
                     {"credentials", d.sealed_credentials().empty() ? "none" : "sealed"},
                     {"layout", d.layout()},
                     {"max_concurrency", d.max_concurrency()},
                     {"paused", d.paused_unix_ms() != 0},
                     {"check", CheckSummary(d)}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  // One line per destination (scripts read the first column).
  for (const auto& d : r.destinations()) {
    std::printf("%-20s %-7s layout=%s settings=%s%s%s; %s\n", d.name().c_str(), d.kind().c_str(),
                d.layout().c_str(), d.settings_json().c_str(),
                d.sealed_credentials().empty() ? "" : " credentials=sealed",
                d.paused_unix_ms() != 0
                    ? absl::StrCat(" PAUSED since ", FormatTime(d.paused_unix_ms())).c_str()
                    : "",
                CheckSummary(d).c_str());
  }
  return 0;
}

int DestRemove(AdminClient& client, const std::string& name, bool force) {
  v1::RemoveDestinationRequest req;
  req.set_name(name);
  req.set_force(force);
  v1::RemoveDestinationResponse r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->RemoveDestination(ctx.get(), req, &r);
  if (!s.ok()) return Refused(s, absl::StrCat("removing destination '", name, "'"));
  if (r.purged()) {
    std::printf(
        "destination %s removed (nothing was ever delivered to it; %llu binding(s) "
        "removed)\n",
        name.c_str(), static_cast<unsigned long long>(r.bindings_removed()));
    return 0;
  }
  std::printf(
      "destination %s removed: %llu pending job(s) cancelled, %llu binding(s) removed.\n"
      "%llu delivered cop%s stay at the destination untouched (Shoebox no longer manages or "
      "verifies them; delete them there if you want); the catalog keeps their history under "
      "the name %s~<id> (`shoebox versions`). The name %s is free again.\n",
      name.c_str(), static_cast<unsigned long long>(r.jobs_cancelled()),
      static_cast<unsigned long long>(r.bindings_removed()),
      static_cast<unsigned long long>(r.delivered_copies()),
      r.delivered_copies() == 1 ? "y" : "ies", name.c_str(), name.c_str());
  return 0;
}

int DestPause(AdminClient& client, const std::string& name, bool paused) {
  v1::PauseDestinationRequest req;
  req.set_name(name);
  req.set_paused(paused);
  v1::Destination d;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->PauseDestination(ctx.get(), req, &d);
  if (!s.ok())
    return Refused(s, absl::StrCat(paused ? "pausing" : "resuming", " destination '", name, "'"));
  if (paused) {
    std::printf(
        "destination %s paused: no new job of it starts (running ones finish); new "
        "deliveries keep queueing. `shoebox dest resume %s` resumes it\n",
        name.c_str(), name.c_str());
  } else {
    std::printf("destination %s resumed\n", name.c_str());
  }
  return 0;
}

int DestCheck(AdminClient& client, const std::string& name, const CheckFlags& f) {
  auto have = FindDestination(client, name);
  if (!have.ok()) return FailStatus(have.status());
  CheckResult r = RunDestinationCheck(client, name, have->kind(), ToCheckOptions(f));
  if (!r.passed) {
    std::fprintf(stderr, "shoebox: destination %s: %s\n", name.c_str(), r.message.c_str());
    return 1;
  }
  std::printf("destination %s: connection checked: %s\n", name.c_str(), r.detail.c_str());
  return 0;
}

int DestKinds(const std::string& only) {
  if (!only.empty() && FindDestinationKind(only) == nullptr) {
    return Usage("dest kinds", LookUpDestinationKind(only).status());
  }
  for (const KindSpec& k : DestinationKinds()) {
    if (!only.empty() && only != k.kind) continue;
    std::printf("%s: %s\n", k.kind, k.help);
    for (const bool secret : {false, true}) {
      bool any = false;
      for (const SettingSpec& s : k.keys) {
        if (s.secret != secret) continue;
        if (!any)
          std::printf("  %s\n", secret ? "secrets (--secret KEY=- or --secret-file)"
                                       : "settings (--set KEY=VALUE)");
        any = true;
        std::string def = *s.default_json ? absl::StrCat(" default ", s.default_json) : "";
        std::printf("    %-24s %-8s %s%s; %s\n", s.key, s.required ? "required" : "",
                    SettingTypeName(s.type, s.choices).c_str(), def.c_str(), s.help);
      }
    }
    for (const auto& group : k.one_of)
      std::printf("  one of %s is required\n", absl::StrJoin(group, ", ").c_str());
    if (only.empty()) std::printf("\n");
  }
  return 0;
}

}  // namespace

void RegisterDestinationCommands(CLI::App& app, CliContext& ctx) {
  auto* dest = app.add_subcommand("dest", "manage destinations");
  dest->require_subcommand(1);

  auto a = std::make_shared<DestAddArgs>();
  auto* add = dest->add_subcommand(
      "add",
      "add a destination; a worker tests the connection first (`shoebox dest kinds` "
      "lists every kind's settings)");
  add->add_option("name", a->name, "destination name")->required();
  add->add_option("--kind", a->kind, DestinationKindNames())->required();
  add->add_option("--set", a->set, "setting KEY=VALUE, converted to the key's type");
  add->add_option("--secret", a->secret,
                  "secret KEY=VALUE, or KEY=- to read it from standard input; sealed to the "
                  "worker pool key before it leaves this machine");
  add->add_option("--secret-file", a->secret_file, "secret KEY=PATH read from a file");
  add->add_option("--layout", a->layout, "placement template");
  add->add_option("--max-concurrency", a->max_concurrency, "jobs at once for this destination");
  AddCheckFlags(add, &a->check);
  ctx.AddAdminHandler(add, [a](CliContext&, AdminClient& client) { return DestAdd(client, *a); });

  auto list = dest->add_subcommand("list", "list destinations, their settings and last check");
  list->add_flag("--json", ctx.json(), "JSON output");
  ctx.AddAdminHandler(
      list, [](CliContext& c, AdminClient& client) { return DestList(client, c.json()); });

  auto s = std::make_shared<DestSetArgs>();
  auto* set = dest->add_subcommand(
      "set", "change a destination's settings or credentials; a worker tests the connection");
  set->add_option("name", s->name, "destination name")->required();
  set->add_option("--set", s->set, "setting KEY=VALUE to change");
  set->add_option("--unset", s->unset, "setting KEY to remove (back to its default)");
  set->add_option("--secret", s->secret,
                  "new secret KEY=VALUE or KEY=- (stdin); replaces all old secrets");
  set->add_option("--secret-file", s->secret_file, "new secret KEY=PATH read from a file");
  set->add_flag("--clear-secrets", s->clear_secrets, "drop the credentials");
  s->layout_opt = set->add_option("--layout", s->layout, "placement template (new deliveries)");
  s->max_concurrency_opt =
      set->add_option("--max-concurrency", s->max_concurrency, "jobs at once (0: no limit)");
  AddCheckFlags(set, &s->check);
  ctx.AddAdminHandler(set, [s](CliContext&, AdminClient& client) { return DestSet(client, *s); });

  struct NameForce {
    std::string name;
    bool force = false;
  };
  auto r = std::make_shared<NameForce>();
  auto* remove = dest->add_subcommand(
      "remove",
      "remove a destination: its pending jobs are cancelled, delivered copies stay at "
      "the destination, the catalog keeps their history");
  remove->add_option("name", r->name, "destination name")->required();
  remove->add_flag("--force", r->force,
                   "also cancel jobs running now (otherwise refused while any runs)");
  ctx.AddAdminHandler(remove, [r](CliContext&, AdminClient& client) {
    return DestRemove(client, r->name, r->force);
  });

  auto p = std::make_shared<std::string>();
  auto* pause = dest->add_subcommand("pause", "stop starting jobs of a destination");
  pause->add_option("name", *p, "destination name")->required();
  ctx.AddAdminHandler(
      pause, [p](CliContext&, AdminClient& client) { return DestPause(client, *p, true); });
  auto* resume = dest->add_subcommand("resume", "start a paused destination's jobs again");
  resume->add_option("name", *p, "destination name")->required();
  ctx.AddAdminHandler(
      resume, [p](CliContext&, AdminClient& client) { return DestPause(client, *p, false); });

  auto c = std::make_shared<std::pair<std::string, CheckFlags>>();
  auto* check = dest->add_subcommand(
      "check", "test a destination's connection and credentials now (a worker runs it)");
  check->add_option("name", c->first, "destination name")->required();
  check->add_flag("--check-read-only", c->second.read_only, "do not write a probe file");
  check->add_option("--check-timeout", c->second.timeout_s, "seconds to wait")
      ->check(CLI::Range(1.0, 3600.0));
  ctx.AddAdminHandler(check, [c](CliContext&, AdminClient& client) {
    return DestCheck(client, c->first, c->second);
  });

  auto k = std::make_shared<std::string>();
  auto* kinds =
      dest->add_subcommand("kinds", "list destination kinds with their settings and secrets");
  kinds->add_option("kind", *k, "only this kind");
  ctx.AddHandler(kinds, [k](CliContext&) { return DestKinds(*k); });
}

}  // namespace shoebox::cli
