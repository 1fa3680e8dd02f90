// `shoebox notify ...` and `shoebox device ping-url` (issue 22,
// docs/notifications.md): channels the coordinator sends alerts to, their
// thresholds, and a Healthchecks-style ping URL per device. Secrets are read
// from files (never from the command line) and sent to the coordinator,
// which seals them; `notify list` never shows them.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "common/bytes.h"

namespace shoebox::cli {

namespace {

struct AddArgs {
  std::string kind, name, url, to, smtp, user, password_file, secret_file;
  bool insecure_smtp = false;
};

// The first line of the file, without surrounding whitespace.
bool ReadSecret(const std::string& path, const char* what, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "shoebox: notify add: cannot read the %s file %s (does it exist?)\n", what,
                 PrintablePath(path).c_str());
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  const size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  *out = std::string(absl::StripAsciiWhitespace(s));
  if (out->empty()) {
    std::fprintf(stderr, "shoebox: notify add: the %s file %s is empty\n", what,
                 PrintablePath(path).c_str());
    return false;
  }
  return true;
}

std::string When(int64_t unix_ms) {
  if (unix_ms == 0) return "never";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

int Add(AdminClient& client, const AddArgs& a) {
  v1::AddNotifyChannelRequest req;
  req.set_name(a.name);
  req.set_kind(a.kind);
  req.set_url(a.kind == "email" ? a.smtp : a.url);
  req.set_email_to(a.to);
  req.set_smtp_user(a.user);
  req.set_insecure_smtp(a.insecure_smtp);
  std::string secret;
  if (!a.password_file.empty() && !ReadSecret(a.password_file, "password", &secret)) return 2;
  if (!a.secret_file.empty() && !ReadSecret(a.secret_file, "secret", &secret)) return 2;
  if (!a.user.empty() && secret.empty()) {
    std::fprintf(stderr, "shoebox: notify add email %s: --user needs --password-file F\n",
                 PrintablePath(a.name).c_str());
    return 2;
  }
  req.set_secret(secret);
  v1::NotifyChannel resp;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->AddNotifyChannel(ctx.get(), req, &resp);
  if (!s.ok()) return FailRpc(s, absl::StrCat("adding notification channel '", a.name, "'"));
  std::printf("added %s channel '%s' (%s%s); send a test message with `shoebox notify test %s`\n",
              resp.kind().c_str(), resp.name().c_str(), resp.url().c_str(),
              resp.email_to().empty() ? "" : absl::StrCat(" to ", resp.email_to()).c_str(),
              resp.name().c_str());
  if (a.insecure_smtp) {
    std::printf(
        "warning: '%s' sends mail (and any password) in plain text: only for a relay on your "
        "own LAN\n",
        resp.name().c_str());
  }
  return 0;
}

int List(AdminClient& client) {
  v1::ListNotifyResponse resp;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->ListNotify(ctx.get(), v1::ListNotifyRequest(), &resp);
  if (!s.ok()) return FailRpc(s, "listing notifications");
  std::printf("channels:\n");
  if (resp.channels_size() == 0) {
    std::printf("  (none: add one with `shoebox notify add email|webhook|ntfy NAME ...`)\n");
  }
  for (const v1::NotifyChannel& c : resp.channels()) {
    std::printf(
        "  %-16s %-8s %s%s%s%s  last sent: %s%s\n", c.name().c_str(), c.kind().c_str(),
        c.url().c_str(), c.email_to().empty() ? "" : (" to " + c.email_to()).c_str(),
        c.has_secret() ? " (secret set)" : "", c.insecure_smtp() ? " (insecure-smtp)" : "",
        When(c.last_sent_unix_ms()).c_str(),
        c.queued_messages() > 0 ? absl::StrCat(", ", c.queued_messages(), " waiting").c_str() : "");
    if (!c.last_error().empty()) {
      std::printf("    last error: %s\n", PrintablePath(c.last_error()).c_str());
    }
  }
  std::printf("settings (change with `shoebox notify set KEY VALUE`):\n");
  for (const v1::NotifySetting& st : resp.settings()) {
    std::printf("  %-26s %-16s %s\n", st.key().c_str(),
                st.value().empty() ? "\"\"" : st.value().c_str(), st.description().c_str());
  }
  std::printf("open alerts:\n");
  if (resp.alerts_size() == 0) std::printf("  (none)\n");
  for (const v1::NotifyAlert& al : resp.alerts()) {
    std::printf("  %s: %s (since %s; %s)\n", PrintablePath(al.object()).c_str(),
                PrintablePath(al.message()).c_str(), When(al.first_seen_unix_ms()).c_str(),
                al.started_unix_ms() != 0 ? ("announced " + When(al.started_unix_ms())).c_str()
                                          : "not announced yet: below its threshold");
  }
  if (resp.pings_size() > 0) std::printf("device ping URLs:\n");
  for (const v1::DevicePing& p : resp.pings()) {
    std::printf("  %-16s %s  last ping: %s%s%s\n", PrintablePath(p.device()).c_str(),
                p.url().c_str(), When(p.last_ping_unix_ms()).c_str(),
                p.last_error().empty() ? "" : ", error: ", PrintablePath(p.last_error()).c_str());
  }
  return 0;
}

int Remove(AdminClient& client, const std::string& name) {
  v1::RemoveNotifyChannelRequest req;
  req.set_name(name);
  v1::RemoveNotifyChannelResponse resp;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->RemoveNotifyChannel(ctx.get(), req, &resp);
  if (!s.ok()) return FailRpc(s, absl::StrCat("removing notification channel '", name, "'"));
  std::printf("removed notification channel '%s' (and any messages waiting for it)\n",
              name.c_str());
  return 0;
}

int Test(AdminClient& client, const std::string& name) {
  v1::TestNotifyChannelRequest req;
  req.set_name(name);
  v1::TestNotifyChannelResponse resp;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->TestNotifyChannel(ctx.get(), req, &resp);
  if (!s.ok()) {
    return FailRpc(s, absl::StrCat("sending a test message to notification channel '", name, "'"));
  }
  std::printf("test message to '%s' accepted: %s\n", name.c_str(), resp.answer().c_str());
  return 0;
}

int Set(AdminClient& client, const std::string& key, const std::string& value) {
  v1::SetNotifySettingRequest req;
  req.set_key(key);
  req.set_value(value);
  v1::ListNotifyResponse resp;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->SetNotifySetting(ctx.get(), req, &resp);
  if (!s.ok()) return FailRpc(s, absl::StrCat("setting notify ", key));
  std::printf("notify %s = %s (the coordinator applies it at its next evaluation, now)\n",
              key.c_str(), value.c_str());
  return 0;
}

int PingUrl(AdminClient& client, const std::string& device, const std::string& url) {
  v1::SetDevicePingUrlRequest req;
  req.set_device(device);
  req.set_url(url);
  v1::SetDevicePingUrlResponse resp;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->SetDevicePingUrl(ctx.get(), req, &resp);
  if (!s.ok()) return FailRpc(s, absl::StrCat("setting the ping URL of device '", device, "'"));
  if (url.empty()) {
    std::printf("device '%s' has no ping URL any more\n", PrintablePath(device).c_str());
  } else {
    std::printf(
        "device '%s' pings %s after each completed backup, and %s/fail when one of its alerts "
        "starts\n",
        PrintablePath(device).c_str(), url.c_str(), url.c_str());
  }
  return 0;
}

}  // namespace

void RegisterNotifyCommands(CLI::App& app, CliContext& ctx) {
  auto* notify = app.add_subcommand(
      "notify",
      "notifications: email, webhook and ntfy channels, thresholds (the coordinator "
      "sends them)");
  notify->require_subcommand(1);
  auto* add = notify->add_subcommand("add", "add a notification channel");
  add->require_subcommand(1);

  auto email_args = std::make_shared<AddArgs>();
  email_args->kind = "email";
  auto* email = add->add_subcommand("email", "email over SMTP (STARTTLS required by default)");
  email->add_option("name", email_args->name, "channel name")->required();
  email->add_option("--to", email_args->to, "recipient address")->required();
  email
      ->add_option("--smtp", email_args->smtp,
                   "SMTP server URL: smtp://HOST[:587] (STARTTLS) or smtps://HOST[:465]")
      ->required();
  email->add_option("--user", email_args->user, "SMTP user name");
  email->add_option("--password-file", email_args->password_file,
                    "file whose first line is the SMTP password");
  email->add_flag("--insecure-smtp", email_args->insecure_smtp,
                  "allow plain SMTP without STARTTLS (a relay on your own LAN only)");
  ctx.AddAdminHandler(
      email, [email_args](CliContext&, AdminClient& client) { return Add(client, *email_args); });

  auto hook_args = std::make_shared<AddArgs>();
  hook_args->kind = "webhook";
  auto* hook = add->add_subcommand("webhook", "a JSON POST to a URL (optionally HMAC-signed)");
  hook->add_option("name", hook_args->name, "channel name")->required();
  hook->add_option("--url", hook_args->url, "http(s) URL")->required();
  hook->add_option("--secret-file", hook_args->secret_file,
                   "file whose first line is the shared secret for the X-Shoebox-Signature "
                   "header");
  ctx.AddAdminHandler(
      hook, [hook_args](CliContext&, AdminClient& client) { return Add(client, *hook_args); });

  auto ntfy_args = std::make_shared<AddArgs>();
  ntfy_args->kind = "ntfy";
  auto* ntfy = add->add_subcommand("ntfy", "ntfy.sh or a self-hosted ntfy server");
  ntfy->add_option("name", ntfy_args->name, "channel name")->required();
  ntfy->add_option("--url", ntfy_args->url, "topic URL, e.g. https://ntfy.sh/TOPIC")->required();
  ctx.AddAdminHandler(
      ntfy, [ntfy_args](CliContext&, AdminClient& client) { return Add(client, *ntfy_args); });

  auto* list = notify->add_subcommand("list", "channels, settings, open alerts, ping URLs");
  ctx.AddAdminHandler(list, [](CliContext&, AdminClient& client) { return List(client); });

  auto name = std::make_shared<std::string>();
  auto* remove = notify->add_subcommand("remove", "remove a channel");
  remove->add_option("name", *name, "channel name")->required();
  ctx.AddAdminHandler(remove,
                      [name](CliContext&, AdminClient& client) { return Remove(client, *name); });
  auto* test = notify->add_subcommand("test", "send a test message now and show the answer");
  test->add_option("name", *name, "channel name")->required();
  ctx.AddAdminHandler(test,
                      [name](CliContext&, AdminClient& client) { return Test(client, *name); });

  auto kv = std::make_shared<std::pair<std::string, std::string>>();
  auto* set = notify->add_subcommand("set", "set a threshold or setting (see `notify list`)");
  set->add_option("key", kv->first, "setting name")->required();
  set->add_option("value", kv->second, "value, e.g. 15m, 3d, off, 90")->required();
  ctx.AddAdminHandler(
      set, [kv](CliContext&, AdminClient& client) { return Set(client, kv->first, kv->second); });

  auto* device = app.add_subcommand("device", "settings of one device");
  device->require_subcommand(1);
  auto dp = std::make_shared<std::pair<std::string, std::string>>();
  auto* ping = device->add_subcommand(
      "ping-url", "a Healthchecks-style URL pinged after each completed backup (\"\" removes)");
  ping->add_option("device", dp->first, "device name")->required();
  ping->add_option("url", dp->second, "http(s) URL, or \"\" to remove")->required();
  ctx.AddAdminHandler(ping, [dp](CliContext&, AdminClient& client) {
    return PingUrl(client, dp->first, dp->second);
  });
}

}  // namespace shoebox::cli
