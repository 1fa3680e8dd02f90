// `shoebox transfer add|list|pause|resume|cancel` (issue 21, slice 2;
// docs/transfers.md, docs/cli.md): a configured destination read by the
// workers into a device of the transfer's name, delivered to --to.
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "cli/transfer_cmd.h"

#include "cli/commands.h"
#include "common/bytes.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

namespace {

using nlohmann::json;

struct AddArgs {
  std::string name, from, since;
  std::vector<std::string> to;
  bool keep = false, pass_through = false;
};

// "YYYY-MM-DD" (UTC midnight) -> ms since the epoch; -1 when malformed.
int64_t ParseDate(const std::string& s) {
  int y = 0, m = 0, d = 0;
  char rest = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &rest) != 3) return -1;
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) return -1;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  const time_t t = timegm(&tm);
  if (tm.tm_mday != d) return -1;  // 2024-02-31
  return static_cast<int64_t>(t) * 1000;
}

std::string Date(int64_t ms) {
  if (ms == 0) return "never";
  time_t t = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

json TransferJson(const v1::Transfer& t) {
  json j{{"name", t.name()},
         {"source", t.source()},
         {"targets", json::array()},
         {"mode", t.pass_through() ? "pass-through" : "keep"},
         {"since_unix_ms", t.since_unix_ms()},
         {"state", t.state()},
         {"created_unix_ms", t.created_unix_ms()},
         {"last_listed_unix_ms", t.last_listed_unix_ms()},
         {"items_found", t.items_found()},
         {"items_fetched", t.items_fetched()},
         {"bytes_fetched", t.bytes_fetched()},
         {"items_pending", t.items_pending()},
         {"items_failed", t.items_failed()},
         {"delivery", json::array()},
         {"waiting", t.waiting()},
         {"bytes_delivered", t.bytes_delivered()},
         {"items_per_s", t.items_per_s()},
         {"bytes_per_s", t.bytes_per_s()},
         {"rate_window_s", t.rate_window_s()},
         {"eta_s", t.eta_s()}};
  for (const std::string& d : t.targets()) j["targets"].push_back(d);
  for (const v1::TransferTarget& d : t.delivery()) {
    j["delivery"].push_back({{"destination", d.destination()},
                             {"delivered", d.delivered()},
                             {"pending", d.pending()},
                             {"delivered_bytes", d.delivered_bytes()},
                             {"failed", d.failed()},
                             {"waiting", d.waiting()}});
  }
  return j;
}

std::string TransferEta(int64_t eta_s) {
  if (eta_s < 0) return "unknown";
  if (eta_s == 0) return "done";
  char buf[64];
  const long long s = eta_s;
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
  }
  return buf;
}

namespace {

void PrintTransfer(const v1::Transfer& t) {
  std::printf("%s: %s -> %s (%s), %s\n", PrintablePath(t.name()).c_str(),
              PrintablePath(t.source()).c_str(),
              PrintablePath(absl::StrJoin(t.targets(), ",")).c_str(),
              t.pass_through() ? "pass-through" : "keep", t.state().c_str());
  std::printf(
      "  found %llu, fetched %llu (%s), pending %llu, failed %llu; listed %s\n",
      static_cast<unsigned long long>(t.items_found()),
      static_cast<unsigned long long>(t.items_fetched()), HumanBytes(t.bytes_fetched()).c_str(),
      static_cast<unsigned long long>(t.items_pending()),
      static_cast<unsigned long long>(t.items_failed()), Date(t.last_listed_unix_ms()).c_str());
  std::printf("  rate %.2f items/s, %s/s (last %u s); ETA %s\n", t.items_per_s(),
              HumanBytes(static_cast<uint64_t>(t.bytes_per_s())).c_str(), t.rate_window_s(),
              TransferEta(t.eta_s()).c_str());
  for (const v1::TransferTarget& d : t.delivery()) {
    std::printf(
        "  delivered to %s: %llu (%s), pending %llu, failed %llu\n",
        PrintablePath(d.destination()).c_str(), static_cast<unsigned long long>(d.delivered()),
        HumanBytes(d.delivered_bytes()).c_str(), static_cast<unsigned long long>(d.pending()),
        static_cast<unsigned long long>(d.failed()));
    if (!d.waiting().empty()) {
      std::printf("    waiting: %s\n", PrintablePath(d.waiting()).c_str());
    }
  }
  if (!t.waiting().empty()) std::printf("  waiting: %s\n", PrintablePath(t.waiting()).c_str());
}

}  // namespace

json TransfersJson(const v1::ListTransfersResponse& r) {
  json out = json::array();
  for (const v1::Transfer& t : r.transfers()) out.push_back(TransferJson(t));
  return out;
}

void PrintTransfers(const v1::ListTransfersResponse& r) {
  for (const v1::Transfer& t : r.transfers()) PrintTransfer(t);
}

bool ListTransfersForStatus(AdminClient& client, v1::ListTransfersResponse* out) {
  auto c = client.Context();
  return client.stub()->ListTransfers(c.get(), v1::ListTransfersRequest{}, out).ok();
}

namespace {

int Add(AdminClient& client, const AddArgs& a) {
  if (a.keep && a.pass_through) {
    std::fprintf(stderr, "shoebox: transfer add %s: give --keep or --pass-through, not both\n",
                 PrintablePath(a.name).c_str());
    return 2;
  }
  v1::AddTransferRequest req;
  req.set_name(a.name);
  req.set_source(a.from);
  for (const std::string& d : a.to) req.add_targets(d);
  req.set_pass_through(a.pass_through);
  if (!a.since.empty()) {
    int64_t ms = ParseDate(a.since);
    if (ms < 0) {
      std::fprintf(stderr,
                   "shoebox: transfer add %s: --since %s is not a date; give YYYY-MM-DD (UTC)\n",
                   PrintablePath(a.name).c_str(), PrintablePath(a.since).c_str());
      return 2;
    }
    req.set_since_unix_ms(ms);
  }
  v1::Transfer t;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->AddTransfer(ctx.get(), req, &t);
  if (!s.ok()) return FailRpc(s, "adding transfer '" + PrintablePath(a.name) + "'");
  std::printf(
      "transfer '%s' added: the workers list '%s' now and again periodically; its items "
      "become device '%s' (`shoebox transfer list` shows the progress)\n",
      PrintablePath(t.name()).c_str(), PrintablePath(t.source()).c_str(),
      PrintablePath(t.name()).c_str());
  return 0;
}

int List(CliContext& ctx, AdminClient& client) {
  v1::ListTransfersResponse resp;
  auto c = client.Context();
  grpc::Status s = client.stub()->ListTransfers(c.get(), v1::ListTransfersRequest{}, &resp);
  if (!s.ok()) return FailRpc(s, "listing transfers");
  if (ctx.json()) {
    std::printf("%s\n", TransfersJson(resp).dump(2).c_str());
    return 0;
  }
  if (resp.transfers().empty()) std::printf("no transfers (`shoebox transfer add` adds one)\n");
  PrintTransfers(resp);
  return 0;
}

int SetState(AdminClient& client, const std::string& verb, const std::string& name) {
  v1::TransferNameRequest req;
  req.set_name(name);
  v1::Transfer t;
  auto c = client.Context();
  grpc::Status s;
  if (verb == "pause") {
    s = client.stub()->PauseTransfer(c.get(), req, &t);
  } else if (verb == "resume") {
    s = client.stub()->ResumeTransfer(c.get(), req, &t);
  } else {
    s = client.stub()->CancelTransfer(c.get(), req, &t);
  }
  if (!s.ok()) return FailRpc(s, verb + " transfer '" + PrintablePath(name) + "'");
  PrintTransfer(t);
  return 0;
}

}  // namespace

void RegisterTransferCommands(CLI::App& app, CliContext& ctx) {
  auto* tr = app.add_subcommand(
      "transfer", "read a destination (a service or storage) into Shoebox and deliver it on");
  tr->require_subcommand(1);

  auto a = std::make_shared<AddArgs>();
  auto* add = tr->add_subcommand(
      "add", "add a transfer: the workers list SOURCE and fetch what is new into device NAME");
  add->add_option("name", a->name, "transfer name (also its device's)")->required();
  add->add_option("--from", a->from, "source destination (`shoebox dest add`)")->required();
  add->add_option("--to", a->to, "destinations to deliver to, comma-separated")
      ->required()
      ->delimiter(',');
  add->add_flag("--keep", a->keep, "keep the items in the chunk store with history (default)");
  add->add_flag("--pass-through", a->pass_through,
                "drop the chunks once every --to destination has the item");
  add->add_option("--since", a->since, "only items modified on or after DATE (YYYY-MM-DD, UTC)");
  ctx.AddAdminHandler(add, [a](CliContext&, AdminClient& client) { return Add(client, *a); });

  auto* list = tr->add_subcommand("list", "transfers, their counts and why they wait");
  list->add_flag("--json", ctx.json(), "print JSON");
  ctx.AddAdminHandler(list, [](CliContext& c, AdminClient& client) { return List(c, client); });

  for (const char* verb : {"pause", "resume", "cancel"}) {
    auto name = std::make_shared<std::string>();
    const std::string v = verb;
    const char* help = v == "pause"    ? "stop leasing the transfer's jobs (running ones finish)"
                       : v == "resume" ? "lease its jobs again and list the source now"
                                       : "cancel for good: queued jobs are removed; fetched items "
                                         "stay and are delivered";
    auto* sub = tr->add_subcommand(verb, help);
    sub->add_option("name", *name, "transfer name")->required();
    ctx.AddAdminHandler(
        sub, [name, v](CliContext&, AdminClient& client) { return SetState(client, v, *name); });
  }
}

}  // namespace shoebox::cli
