// `shoebox web serve` and `shoebox web user add|list|passwd|totp|bind|unbind`
// (docs/web.md, docs/cli.md).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/web/password.h"
#include "cli/web/server.h"
#include "cli/web/totp.h"
#include "common/signals.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

namespace {

struct ServeFlags {
  std::string listen = "127.0.0.1:8443";
  std::string cert, key;
  int idle_minutes = 30;
};

struct UserFlags {
  std::string name;
  bool admin = false;
  std::vector<std::string> devices;
  bool password_stdin = false;
};

// The coordinator's TLS directory (where cli.toml's tls_dir points): the
// directory of ca_file.
std::string TlsDirOf(const ClientOptions& o) {
  if (o.ca_file.empty()) return "";
  const size_t slash = o.ca_file.rfind('/');
  return slash == std::string::npos ? "." : o.ca_file.substr(0, slash);
}

int Serve(AdminClient& client, const ServeFlags& f) {
  web::WebOptions o;
  o.listen = f.listen;
  o.cert_file = f.cert;
  o.key_file = f.key;
  o.session_idle = absl::Minutes(f.idle_minutes);
  o.coordinator_address = client.options().coordinator;
  const std::string tls_dir = TlsDirOf(client.options());
  if (o.cert_file.empty() != o.key_file.empty()) {
    std::fprintf(stderr, "shoebox web serve: give both --cert and --key, or neither\n");
    return 2;
  }
  if (o.cert_file.empty()) {
    if (tls_dir.empty()) {
      std::fprintf(stderr,
                   "shoebox web serve: no certificate: give --cert and --key (cli.toml has no "
                   "tls_dir whose server.crt and server.key could serve)\n");
      return 1;
    }
    o.cert_file = tls_dir + "/server.crt";
    o.key_file = tls_dir + "/server.key";
  }
  web::CoordinatorLink link;
  link.stub = client.stub();
  link.context = [&client] { return client.Context(std::chrono::seconds(10)); };
  auto watch = std::make_unique<StopSignalWatch>(EarlyStopSignal::kEndProcess);
  absl::StatusOr<std::unique_ptr<web::WebServer>> server = web::WebServer::Start(o, link);
  if (!server.ok()) return FailStatus(server.status());
  watch->Arm([&](int) { (*server)->Stop(); });
  std::printf(
      "shoebox web: serving %s\n"
      "  log in with an account from `shoebox web user add NAME --admin`;\n"
      "  the certificate is %s (issued by the coordinator's CA%s%s: import that CA into the "
      "browser, or accept the certificate once)\n",
      (*server)->url().c_str(), o.cert_file.c_str(), tls_dir.empty() ? "" : ", ",
      tls_dir.empty() ? "" : (tls_dir + "/ca.crt").c_str());
  std::fflush(stdout);
  (*server)->Wait();
  watch.reset();
  std::printf("shoebox web: stopped\n");
  return 0;
}

// The password of `user add` / `user passwd`: one line from stdin with
// --password-stdin, else a generated one (printed once).
absl::StatusOr<std::pair<std::string, bool>> NewPassword(bool from_stdin) {
  if (!from_stdin) return std::make_pair(web::GeneratePassword(), true);
  std::string line;
  if (!std::getline(std::cin, line)) {
    return absl::InvalidArgumentError("--password-stdin: nothing on standard input");
  }
  return std::make_pair(line, false);
}

int UserAdd(AdminClient& client, const UserFlags& f) {
  absl::StatusOr<std::pair<std::string, bool>> pw = NewPassword(f.password_stdin);
  if (!pw.ok()) return FailStatus(pw.status());
  absl::StatusOr<std::string> hash = web::HashPassword(pw->first);
  if (!hash.ok()) return FailStatus(hash.status());
  v1::CreateWebAccountRequest req;
  req.set_name(f.name);
  req.set_role(f.admin ? "admin" : "member");
  req.set_password_hash(*hash);
  for (const std::string& d : f.devices) req.add_devices(d);
  v1::WebAccount r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->CreateWebAccount(ctx.get(), req, &r);
  if (!s.ok()) return FailRpc(s, "web user add " + f.name);
  std::printf("web account %s (%s) created\n", r.name().c_str(), r.role().c_str());
  if (pw->second) {
    std::printf("password (shown once, change it after logging in): %s\n", pw->first.c_str());
  }
  return 0;
}

int UserPasswd(AdminClient& client, const UserFlags& f) {
  absl::StatusOr<std::pair<std::string, bool>> pw = NewPassword(f.password_stdin);
  if (!pw.ok()) return FailStatus(pw.status());
  absl::StatusOr<std::string> hash = web::HashPassword(pw->first);
  if (!hash.ok()) return FailStatus(hash.status());
  v1::SetWebAccountPasswordRequest req;
  req.set_name(f.name);
  req.set_password_hash(*hash);
  v1::WebAccount r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->SetWebAccountPassword(ctx.get(), req, &r);
  if (!s.ok()) return FailRpc(s, "web user passwd " + f.name);
  std::printf(
      "password of web account %s changed (a running `shoebox web serve` checks it at "
      "the next log-in)\n",
      r.name().c_str());
  if (pw->second) std::printf("new password (shown once): %s\n", pw->first.c_str());
  return 0;
}

int UserList(AdminClient& client, bool json_out) {
  v1::ListWebAccountsResponse r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->ListWebAccounts(ctx.get(), v1::ListWebAccountsRequest(), &r);
  if (!s.ok()) return FailRpc(s, "web user list");
  if (json_out) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : r.accounts()) {
      out.push_back(
          {{"name", a.name()},
           {"role", a.role()},
           {"created_unix_ms", a.created_unix_ms()},
           {"changed_unix_ms", a.changed_unix_ms()},
           {"devices", std::vector<std::string>(a.devices().begin(), a.devices().end())}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  if (r.accounts().empty()) std::printf("(no web accounts: shoebox web user add NAME --admin)\n");
  for (const auto& a : r.accounts()) {
    std::string devices;
    for (const auto& d : a.devices()) devices += (devices.empty() ? "" : ",") + d;
    std::printf("%-20s %-6s password set %s%s%s\n", a.name().c_str(), a.role().c_str(),
                FormatTime(a.changed_unix_ms()).c_str(), devices.empty() ? "" : "  devices ",
                devices.c_str());
  }
  return 0;
}

// `web user totp enable|disable NAME`: a new key, sealed by the coordinator,
// printed once (Base32 and the otpauth:// URI for an authenticator app).
int UserTotp(AdminClient& client, const std::string& name, bool enable) {
  v1::SetWebAccountTotpRequest req;
  req.set_name(name);
  req.set_enable(enable);
  const std::string secret = enable ? web::NewTotpSecret() : "";
  req.set_secret(secret);
  v1::WebAccountTotp r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->SetWebAccountTotp(ctx.get(), req, &r);
  if (!s.ok())
    return FailRpc(s, std::string("web user totp ") + (enable ? "enable " : "disable ") + name);
  if (!enable) {
    std::printf("two-factor log-in of web account %s turned off%s\n", name.c_str(),
                r.admins_require_totp()
                    ? " (another admin has it, so an admin account without it cannot log in)"
                    : "");
    return 0;
  }
  std::printf(
      "two-factor log-in of web account %s turned on (TOTP, SHA-1, 6 digits, 30 s).\n"
      "Add this key to an authenticator app (shown once; run enable again for a new one):\n"
      "  key: %s\n"
      "  uri: %s\n",
      name.c_str(), web::Base32Encode(secret).c_str(), web::TotpUri(name, secret).c_str());
  if (r.admins_require_totp()) {
    std::printf(
        "Admins need it from now on: every admin account without TOTP is refused at log-in until "
        "`shoebox web user totp enable NAME` is run for it.\n");
  }
  return 0;
}

int UserBind(AdminClient& client, const std::string& name, const std::string& device, bool bind) {
  v1::BindWebAccountDeviceRequest req;
  req.set_name(name);
  req.set_device(device);
  req.set_bind(bind);
  v1::WebAccount r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->BindWebAccountDevice(ctx.get(), req, &r);
  if (!s.ok()) return FailRpc(s, std::string("web user ") + (bind ? "bind " : "unbind ") + name);
  std::string devices;
  for (const auto& d : r.devices()) devices += (devices.empty() ? "" : ",") + d;
  std::printf("web account %s now sees: %s (open pages apply it at their next request)\n",
              r.name().c_str(), devices.empty() ? "no device" : devices.c_str());
  return 0;
}

}  // namespace

void RegisterWebCommands(CLI::App& app, CliContext& ctx) {
  auto* web = app.add_subcommand("web", "the HTTPS dashboard: serve it, manage its accounts");
  web->require_subcommand(1);

  auto serve_flags = std::make_shared<ServeFlags>();
  auto* serve = web->add_subcommand("serve", "serve the dashboard over HTTPS until interrupted");
  serve->add_option("--listen", serve_flags->listen,
                    "ADDRESS:PORT to listen on (default 127.0.0.1:8443; a LAN address to serve "
                    "the household)");
  serve->add_option("--cert", serve_flags->cert,
                    "PEM certificate chain (default: the coordinator's server.crt in tls_dir)");
  serve->add_option("--key", serve_flags->key, "its PEM private key (default: server.key)");
  serve
      ->add_option("--idle-minutes", serve_flags->idle_minutes,
                   "log a session out after this many minutes without a request (default 30)")
      ->check(CLI::Range(1, 1440));
  ctx.AddAdminHandler(serve, [serve_flags](CliContext&, AdminClient& client) {
    return Serve(client, *serve_flags);
  });

  auto* user = web->add_subcommand("user", "web dashboard accounts");
  user->require_subcommand(1);
  auto add_flags = std::make_shared<UserFlags>();
  auto* add = user->add_subcommand("add", "create an account; prints its password once");
  add->add_option("name", add_flags->name, "account name")->required();
  add->add_flag("--admin", add_flags->admin, "an admin (default: a family member)");
  add->add_option("--device", add_flags->devices, "a device the member sees (repeat for several)");
  add->add_flag("--password-stdin", add_flags->password_stdin,
                "read the password from one line of stdin instead of generating one");
  ctx.AddAdminHandler(
      add, [add_flags](CliContext&, AdminClient& client) { return UserAdd(client, *add_flags); });

  auto passwd_flags = std::make_shared<UserFlags>();
  auto* passwd = user->add_subcommand("passwd", "set a new password; prints it once");
  passwd->add_option("name", passwd_flags->name, "account name")->required();
  passwd->add_flag("--password-stdin", passwd_flags->password_stdin,
                   "read the password from one line of stdin instead of generating one");
  ctx.AddAdminHandler(passwd, [passwd_flags](CliContext&, AdminClient& client) {
    return UserPasswd(client, *passwd_flags);
  });

  struct TotpFlags {
    std::string name;
  };
  auto* totp = user->add_subcommand(
      "totp",
      "two-factor log-in (TOTP): enable prints a new key once; required for admins once "
      "any admin has it");
  totp->require_subcommand(1);
  for (const char* which : {"enable", "disable"}) {
    auto f = std::make_shared<TotpFlags>();
    const bool enable = std::string(which) == "enable";
    auto* sub = totp->add_subcommand(
        which, enable ? "turn TOTP on with a new key (printed once)" : "turn TOTP off");
    sub->add_option("name", f->name, "account name")->required();
    ctx.AddAdminHandler(sub, [f, enable](CliContext&, AdminClient& client) {
      return UserTotp(client, f->name, enable);
    });
  }
  for (const char* which : {"bind", "unbind"}) {
    auto f = std::make_shared<std::pair<std::string, std::string>>();
    const bool bind = std::string(which) == "bind";
    auto* sub = user->add_subcommand(
        which, bind ? "let a member see a device" : "stop a member seeing a device");
    sub->add_option("name", f->first, "member account name")->required();
    sub->add_option("device", f->second, "device name (see `shoebox devices`)")->required();
    ctx.AddAdminHandler(sub, [f, bind](CliContext&, AdminClient& client) {
      return UserBind(client, f->first, f->second, bind);
    });
  }

  auto* list = user->add_subcommand("list", "list the accounts");
  list->add_flag("--json", ctx.json(), "print JSON");
  ctx.AddAdminHandler(
      list, [](CliContext& c, AdminClient& client) { return UserList(client, c.json()); });
}

}  // namespace shoebox::cli
