// `shoebox setup` (docs/deploy.md "Packages"): after `apt install
// shoebox-server`, one command creates what deploy/quickstart.sh creates for
// a server, in the places the packages use: the database role and database
// on the local PostgreSQL (or a given URL), configs in /etc/shoebox, the
// worker pool key, the master key, CA and admin certificate (the coordinator
// creates those on its first start, which setup runs once if no coordinator
// answers), enrolled workers, optionally this machine's agent and a first
// local destination. Every step checks before it acts: running it again
// changes nothing and says so. It ends with what to do next.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/seal.h"
#include "cli/setup_system.h"
#include "common/config.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

namespace {

namespace fs = std::filesystem;
using setup::SystemUser;

struct SetupArgs {
  std::string config_dir = "/etc/shoebox";
  std::string state_dir = "/var/lib/shoebox";
  std::string agent_state_dir = "/var/lib/shoebox-agent";
  std::string user = "shoebox";
  std::string database_url;
  std::string pg_cluster;
  std::string pg_socket_dir = "/var/run/postgresql";
  std::string listen = "127.0.0.1:7443";
  std::string metrics_listen = "127.0.0.1:9464";
  std::vector<std::string> tls_names;
  int workers = 2;
  std::string dest_local;
  std::string dest_name = "local";
  std::vector<std::string> backup;
  std::string device;
};

// What setup did, step by step, printed as it goes.
void Did(bool changed, const std::string& what_new, const std::string& what_kept) {
  std::printf("  %s %s\n", changed ? "created" : "kept   ",
              changed ? what_new.c_str() : what_kept.c_str());
  std::fflush(stdout);
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "shoebox setup: %s\n", msg.c_str());
  return 1;
}

int Fail(const absl::Status& s) { return Fail(std::string(s.message())); }

// A PostgreSQL identifier from a user name (setup checked it is plain).
std::string PgIdent(const std::string& s) { return absl::StrCat("\"", s, "\""); }

bool PlainName(const std::string& s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '-')) return false;
  }
  return absl::ascii_islower(s[0]) || s[0] == '_';
}

std::string Hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "server";
  std::string h = buf;
  return h.substr(0, h.find('.'));
}

// host:port to connect to for a listen address (a wildcard means loopback).
std::string ConnectAddress(const std::string& listen) {
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") host = "127.0.0.1";
  return absl::StrCat(host, ":", port);
}

// A program's failure as one message: what was run, its exit code, stderr.
std::string Explain(const std::string& what, const setup::RunResult& r) {
  std::string err = std::string(absl::StripAsciiWhitespace(r.err.empty() ? r.out : r.err));
  return absl::StrCat(what, " failed (exit code ", r.exit_code, ")", err.empty() ? "" : ": ", err);
}

// --- Database on the local PostgreSQL (Debian's postgresql-common). -------

struct Cluster {
  std::string version, name, port, status;
};

absl::StatusOr<Cluster> PickCluster(const SetupArgs& a, const SystemUser& root) {
  auto r = setup::Run({"pg_lsclusters", "--no-header"}, root);
  if (!r.ok()) {
    return absl::FailedPreconditionError(
        "no local PostgreSQL (pg_lsclusters not found): `apt install postgresql`, or pass "
        "--database-url URL for a PostgreSQL elsewhere");
  }
  std::vector<Cluster> clusters;
  for (absl::string_view line : absl::StrSplit(r->out, '\n', absl::SkipWhitespace())) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (f.size() >= 4) clusters.push_back({f[0], f[1], f[2], f[3]});
  }
  std::vector<std::string> names;
  for (const auto& c : clusters) names.push_back(absl::StrCat(c.version, "/", c.name));
  if (clusters.empty()) {
    return absl::FailedPreconditionError(
        "the local PostgreSQL has no cluster: create one with `pg_createcluster 15 main "
        "--start`, or pass --database-url URL");
  }
  for (const auto& c : clusters) {
    std::string id = absl::StrCat(c.version, "/", c.name);
    if (!a.pg_cluster.empty() ? id == a.pg_cluster : clusters.size() == 1 || c.name == "main") {
      return c;
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      a.pg_cluster.empty() ? "several PostgreSQL clusters and none is called 'main'"
                           : absl::StrCat("no PostgreSQL cluster ", a.pg_cluster),
      " (clusters here: ", absl::StrJoin(names, ", "), "): pass --pg-cluster VERSION/NAME"));
}

// psql as postgres on the cluster; the trimmed stdout.
absl::StatusOr<std::string> AsPostgres(const SetupArgs& a, const Cluster& c,
                                       const std::string& sql) {
  auto pg = setup::LookupUser("postgres");
  if (!pg.ok()) return pg.status();
  auto r = setup::Run({"psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-h", a.pg_socket_dir,
                       "-p", c.port, "-d", "postgres", "-c", sql},
                      *pg);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return absl::InternalError(Explain(absl::StrCat("psql: ", sql), *r));
  return std::string(absl::StripAsciiWhitespace(r->out));
}

// Role and database named after the user, reached over the Unix socket with
// peer authentication (the daemons run as that user): no password to keep.
absl::StatusOr<std::string> LocalDatabase(const SetupArgs& a, const SystemUser& root) {
  auto c = PickCluster(a, root);
  if (!c.ok()) return c.status();
  std::string id = absl::StrCat(c->version, "/", c->name);
  if (c->status != "online") {
    std::printf("  starting PostgreSQL cluster %s (pg_ctlcluster %s %s start)\n", id.c_str(),
                c->version.c_str(), c->name.c_str());
    auto r = setup::Run({"pg_ctlcluster", c->version, c->name, "start"}, root);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) {
      return absl::FailedPreconditionError(
          Explain(absl::StrCat("starting PostgreSQL cluster ", id), *r));
    }
  }
  auto role =
      AsPostgres(a, *c, absl::StrCat("SELECT 1 FROM pg_roles WHERE rolname = '", a.user, "'"));
  if (!role.ok()) return role.status();
  if (*role != "1") {
    auto made = AsPostgres(a, *c, absl::StrCat("CREATE ROLE ", PgIdent(a.user), " LOGIN"));
    if (!made.ok()) return made.status();
  }
  Did(*role != "1", absl::StrCat("PostgreSQL role ", a.user, " (cluster ", id, ")"),
      absl::StrCat("PostgreSQL role ", a.user, " (cluster ", id, ")"));
  auto db =
      AsPostgres(a, *c, absl::StrCat("SELECT 1 FROM pg_database WHERE datname = '", a.user, "'"));
  if (!db.ok()) return db.status();
  if (*db != "1") {
    auto made = AsPostgres(a, *c,
                           absl::StrCat("CREATE DATABASE ", PgIdent(a.user), " OWNER ",
                                        PgIdent(a.user), " ENCODING 'UTF8'"));
    if (!made.ok()) return made.status();
  }
  Did(*db != "1", absl::StrCat("PostgreSQL database ", a.user, " owned by ", a.user),
      absl::StrCat("PostgreSQL database ", a.user));
  return absl::StrCat("postgresql:///", a.user, "?host=", a.pg_socket_dir, "&port=", c->port);
}

// The daemons' user can connect (peer authentication, or the URL's password).
absl::Status CheckDatabase(const std::string& url, const SystemUser& user) {
  auto r = setup::Run({"psql", "-X", "-q", "-tA", url, "-c", "SELECT 1"}, user);
  if (!r.ok()) {
    std::printf("  (psql not found: the database is checked when the coordinator starts)\n");
    return absl::OkStatus();
  }
  if (r->exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(Explain(absl::StrCat("connecting to ", url, " as user ", user.name), *r),
                     "; check the URL (--database-url) and that the role may log in"));
  }
  return absl::OkStatus();
}

// --- Config files (written once; an existing file is the admin's). -------

// A string key of an existing TOML file, or `def` when the file or key is
// missing or unreadable (the daemon reading that file reports its errors).
std::string ConfigString(const std::string& path, std::string_view key, const std::string& def) {
  auto c = Config::LoadFile(path);
  if (!c.ok()) return def;
  auto v = c->GetString(key, def);
  return v.ok() ? *v : def;
}

std::string CoordinatorToml(const SetupArgs& a, const std::string& db_url) {
  std::string names;
  if (!a.tls_names.empty()) {
    std::vector<std::string> quoted;
    for (const auto& n : a.tls_names) quoted.push_back(setup::TomlString(n));
    names = absl::StrCat("\n[tls]\n# Extra names in the server certificate (agents dial these).\n",
                         "names = [", absl::StrJoin(quoted, ", "), "]\n");
  }
  return absl::StrCat(
      "# Written by `shoebox setup`; edit freely (setup never rewrites an existing file).\n",
      "# Every key: /usr/share/doc/shoebox-server or docs/coordinator.md.\n", "[coordinator]\n",
      "listen = ", setup::TomlString(a.listen), "\n",
      "key_file = ", setup::TomlString(a.state_dir + "/master.key"), "\n", "create_key = true\n",
      "metrics_listen = ", setup::TomlString(a.metrics_listen), "\n", names, "\n[database]\n",
      "url = ", setup::TomlString(db_url), "\n\n[chunk_store]\n",
      "location = ", setup::TomlString(a.state_dir + "/chunks"), "\n");
}

std::string WorkerToml(const SetupArgs& a, int n, const std::string& device) {
  return absl::StrCat(
      "# Written by `shoebox setup`; edit freely (setup never rewrites an existing file).\n",
      "[worker]\n", "name = ", setup::TomlString(absl::StrCat(device, "-worker-", n)), "\n",
      "coordinator = ", setup::TomlString(ConnectAddress(a.listen)), "\n",
      "tls_dir = ", setup::TomlString(absl::StrCat(a.state_dir, "/worker-", n, "-tls")), "\n",
      "kinds = [\"local\", \"s3\", \"webdav\", \"sftp\", \"rclone\"]\n", "concurrency = 2\n",
      "chunk_store = ", setup::TomlString(a.state_dir + "/chunks"), "\n",
      "master_key_file = ", setup::TomlString(a.state_dir + "/master.key"), "\n",
      "pool_key_file = ", setup::TomlString(a.state_dir + "/pool.key"), "\n");
}

std::string AgentToml(const SetupArgs& a, const std::string& device) {
  std::string s = absl::StrCat(
      "# Written by `shoebox setup`; edit freely (setup never rewrites an existing file).\n",
      "[coordinator]\n", "address = ", setup::TomlString(ConnectAddress(a.listen)), "\n\n",
      "[agent]\n", "device_name = ", setup::TomlString(device), "\n",
      "state_dir = ", setup::TomlString(a.agent_state_dir), "\n");
  for (const auto& f : a.backup)
    absl::StrAppend(&s, "\n[[folder]]\npath = ", setup::TomlString(f), "\n");
  return s;
}

std::string CliToml(const SetupArgs& a) {
  return absl::StrCat(
      "# Written by `shoebox setup`: how `shoebox` reaches this coordinator as admin.\n",
      "coordinator = ", setup::TomlString(ConnectAddress(a.listen)), "\n",
      "tls_dir = ", setup::TomlString(a.state_dir + "/tls"), "\n",
      "pool_public_key = ", setup::TomlString(a.state_dir + "/pool.pub"), "\n");
}

// --- Steps against the coordinator. ---------------------------------------

// One enrollment: a token from the admin API, piped into `PROGRAM --config
// CONFIG enroll --token -` run as the daemons' user (never on a command line).
absl::Status Enroll(AdminClient& admin, const std::string& program, const std::string& config,
                    bool device, const std::string& name, const SystemUser& user) {
  v1::CreateEnrollTokenRequest req;
  (device ? req.mutable_device() : req.mutable_worker())->assign(name);
  req.set_ttl_seconds(600);
  v1::CreateEnrollTokenResponse resp;
  auto ctx = admin.Context();
  grpc::Status s = admin.stub()->CreateEnrollToken(ctx.get(), req, &resp);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("creating an enroll token for ", name, ": ", s.error_message()));
  }
  auto r = setup::Run({program, "--config", config, "enroll", "--token", "-"}, user,
                      resp.token() + "\n");
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::InternalError(Explain(absl::StrCat("enrolling ", name, " (", program, ")"), *r));
  }
  return absl::OkStatus();
}

// The first destination: a local folder the daemons' user writes to.
absl::Status LocalDestination(AdminClient& admin, const SetupArgs& a, const SystemUser& user) {
  v1::ListDestinationsResponse list;
  auto ctx = admin.Context();
  grpc::Status s = admin.stub()->ListDestinations(ctx.get(), v1::ListDestinationsRequest(), &list);
  if (!s.ok())
    return absl::UnavailableError(absl::StrCat("listing destinations: ", s.error_message()));
  for (const auto& d : list.destinations()) {
    if (d.name() != a.dest_name) continue;
    auto settings = nlohmann::json::parse(d.settings_json(), nullptr, false);
    std::string root_dir = settings.is_object() ? settings.value("root", "") : "";
    if (d.kind() == "local" && root_dir == a.dest_local) {
      Did(false, "", absl::StrCat("destination ", a.dest_name, " -> ", a.dest_local));
    } else {
      std::printf(
          "  NOTE destination '%s' exists (%s %s) and was left as it is; add %s under "
          "another name with --dest-name\n",
          a.dest_name.c_str(), d.kind().c_str(), d.settings_json().c_str(), a.dest_local.c_str());
    }
    return absl::OkStatus();
  }
  auto made = setup::EnsureDir(a.dest_local, 0750, user.uid, user.gid);
  if (!made.ok()) return made.status();
  auto w = setup::Run({"test", "-w", a.dest_local}, user);
  if (!w.ok()) return w.status();
  if (w->exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("user ", user.name, " cannot write ", a.dest_local, ": `chown ", user.name,
                     " ", a.dest_local, "` or pick another folder for --dest-local"));
  }
  v1::CreateDestinationRequest req;
  req.set_name(a.dest_name);
  req.set_kind("local");
  req.set_settings_json(nlohmann::json{{"root", a.dest_local}}.dump());
  v1::Destination out;
  auto ctx2 = admin.Context();
  s = admin.stub()->CreateDestination(ctx2.get(), req, &out);
  if (!s.ok()) {
    return absl::InternalError(
        absl::StrCat("adding destination '", a.dest_name, "': ", s.error_message()));
  }
  Did(true, absl::StrCat("destination ", a.dest_name, " -> ", a.dest_local), "");
  return absl::OkStatus();
}

// Binds the device to the destination once the device exists (it appears
// when its agent first connects). Returns whether it is bound.
bool BindIfKnown(AdminClient& admin, const std::string& device, const std::string& dest) {
  v1::ListDevicesResponse devices;
  auto ctx = admin.Context();
  if (!admin.stub()->ListDevices(ctx.get(), v1::ListDevicesRequest(), &devices).ok()) return false;
  bool known = false;
  for (const auto& d : devices.devices()) known = known || d.name() == device;
  if (!known) return false;
  v1::BindFolderRequest req;
  req.set_device(device);
  req.set_destination(dest);
  req.set_backfill(true);
  v1::BindFolderResponse resp;
  auto ctx2 = admin.Context();
  return admin.stub()->BindFolder(ctx2.get(), req, &resp).ok();
}

void PrintNextSteps(const SetupArgs& a, const std::string& device, bool agent, bool bound,
                    const std::string& cfg) {
  std::vector<std::string> units = {"shoebox-coordinator"};
  for (int i = 1; i <= a.workers; i++) units.push_back(absl::StrCat("shoebox-worker@", i));
  if (agent) units.push_back("shoebox-agent");
  std::printf("\nShoebox is set up. Next:\n");
  if (setup::SystemdRunning()) {
    std::printf("  systemctl enable --now %s\n", absl::StrJoin(units, " ").c_str());
  } else {
    std::printf(
        "  systemd is not running on this machine (no /run/systemd/system), so start the\n"
        "  daemons as the %s user yourself (the units in /lib/systemd/system do this on a\n"
        "  machine with systemd):\n",
        a.user.c_str());
    std::printf("    runuser -u %s -- shoebox-coordinator --config %s/coordinator.toml &\n",
                a.user.c_str(), cfg.c_str());
    for (int i = 1; i <= a.workers; i++) {
      std::printf("    runuser -u %s -- shoebox-worker --config %s/worker-%d.toml &\n",
                  a.user.c_str(), cfg.c_str(), i);
    }
    if (agent) {
      std::printf("    runuser -u %s -- shoebox-agent --config %s/agent.toml run --no-progress &\n",
                  a.user.c_str(), cfg.c_str());
    }
  }
  if (agent && !a.dest_local.empty() && !bound) {
    std::printf("  once the agent has connected (`shoebox devices` lists %s):\n", device.c_str());
    std::printf("    shoebox bind --device %s --dest %s\n", device.c_str(), a.dest_name.c_str());
  }
  std::printf("  shoebox status                  what is pending and delivered\n");
  std::printf(
      "  shoebox key export              the recovery kit: keep it away from this machine\n");
  std::printf(
      "  shoebox enroll-token --device laptop   then on the laptop, with shoebox-agent "
      "installed:\n"
      "    shoebox-agent enroll --coordinator %s --token TOKEN\n",
      a.listen.c_str());
  if (absl::StartsWith(a.listen, "127.")) {
    std::printf(
        "    (the coordinator listens on %s only: for other machines set coordinator.listen\n"
        "    in %s/coordinator.toml, or run setup with --listen 0.0.0.0:7443 --tls-name HOST\n"
        "    on a fresh install)\n",
        a.listen.c_str(), cfg.c_str());
  }
}

int Setup(SetupArgs a) {
  if (geteuid() != 0) {
    return Fail(absl::StrCat("run it as root (sudo shoebox setup ...): it writes ", a.config_dir,
                             " and ", a.state_dir, " and runs programs as user ", a.user));
  }
  if (!PlainName(a.user)) return Fail(absl::StrCat("--user '", a.user, "': not a plain user name"));
  if (a.workers < 1 || a.workers > 16) return Fail("--workers: between 1 and 16");
  if (a.listen.find(':') == std::string::npos) return Fail("--listen: expected HOST:PORT");
  for (auto* p : {&a.config_dir, &a.state_dir, &a.agent_state_dir, &a.dest_local}) {
    if (!p->empty() && (*p)[0] != '/')
      return Fail(absl::StrCat("'", *p, "': give an absolute path"));
    while (p->size() > 1 && p->back() == '/') p->pop_back();
  }
  for (const auto& f : a.backup) {
    std::error_code ec;
    if (f.empty() || f[0] != '/' || !fs::is_directory(f, ec)) {
      return Fail(absl::StrCat("--backup '", f, "': not an existing folder (absolute path)"));
    }
  }
  const std::string device = a.device.empty() ? Hostname() : a.device;
  const std::string coordinator_bin = setup::FindProgram("shoebox-coordinator", "coordinator");
  const std::string worker_bin = setup::FindProgram("shoebox-worker", "workers");
  const std::string agent_bin = setup::FindProgram("shoebox-agent", "agent");
  if (coordinator_bin.empty() || worker_bin.empty()) {
    return Fail("shoebox-coordinator or shoebox-worker not found: `apt install shoebox-server`");
  }
  if (!a.backup.empty() && agent_bin.empty()) {
    return Fail("--backup needs shoebox-agent: `apt install shoebox-agent`");
  }
  auto user = setup::LookupUser(a.user);
  if (!user.ok()) {
    return Fail(absl::StrCat(user.status().message(),
                             ": the shoebox-server package creates it; or `adduser --system "
                             "--group --home ",
                             a.state_dir, " ", a.user, "`"));
  }
  const SystemUser root{"", 0, 0};
  const std::string& cfg = a.config_dir;
  std::printf("shoebox setup: %s, %s, user %s\n", cfg.c_str(), a.state_dir.c_str(), a.user.c_str());

  // 1. Directories: configs readable by the daemons' group, state theirs alone.
  auto d1 = setup::EnsureDir(cfg, 0755, 0, user->gid);
  if (!d1.ok()) return Fail(d1.status());
  Did(*d1, cfg, cfg);
  auto d2 = setup::EnsureDir(a.state_dir, 0700, user->uid, user->gid);
  if (!d2.ok()) return Fail(d2.status());
  Did(*d2, a.state_dir, a.state_dir);

  // 2. Database (only when no coordinator config names one already).
  const std::string coordinator_cfg = cfg + "/coordinator.toml";
  std::error_code ec;
  if (!fs::exists(coordinator_cfg, ec)) {
    std::string url = a.database_url;
    if (url.empty()) {
      auto local = LocalDatabase(a, root);
      if (!local.ok()) return Fail(local.status());
      url = *local;
    }
    if (auto st = CheckDatabase(url, *user); !st.ok()) return Fail(st);
    auto w = setup::WriteFileOnce(coordinator_cfg, CoordinatorToml(a, url), 0640, 0, user->gid);
    if (!w.ok()) return Fail(w.status());
    Did(*w, coordinator_cfg + " (database " + url + ")", "");
  } else {
    Did(false, "", coordinator_cfg + " (database and listen address as written there)");
  }

  // 3. Worker pool key pair (the CLI seals destination credentials to it).
  const std::string pool_key = a.state_dir + "/pool.key", pool_pub = a.state_dir + "/pool.pub";
  bool pool_new = !fs::exists(pool_key, ec);
  if (pool_new) {
    if (auto st = CreatePoolKeyPair(pool_key, pool_pub); !st.ok()) return Fail(st);
    if (auto st = setup::Chown(pool_key, user->uid, user->gid); !st.ok()) return Fail(st);
  }
  Did(pool_new, pool_key + " and pool.pub (worker pool key pair)", pool_key);

  // 4. Configs for the workers, the CLI and (with --backup) this machine's agent.
  for (int i = 1; i <= a.workers; i++) {
    std::string path = absl::StrCat(cfg, "/worker-", i, ".toml");
    auto w = setup::WriteFileOnce(path, WorkerToml(a, i, device), 0640, 0, user->gid);
    if (!w.ok()) return Fail(w.status());
    Did(*w, path, path);
  }
  const std::string cli_cfg = cfg + "/cli.toml";
  auto wc = setup::WriteFileOnce(cli_cfg, CliToml(a), 0644, 0, 0);
  if (!wc.ok()) return Fail(wc.status());
  Did(*wc, cli_cfg + " (the admin identity for `shoebox` run as root)", cli_cfg);
  const std::string agent_cfg = cfg + "/agent.toml";
  bool agent = !a.backup.empty() || (fs::exists(agent_cfg, ec) && !agent_bin.empty());
  if (!a.backup.empty()) {
    auto w = setup::WriteFileOnce(agent_cfg, AgentToml(a, device), 0640, 0, user->gid);
    if (!w.ok()) return Fail(w.status());
    Did(*w, agent_cfg + " (device " + device + ": " + absl::StrJoin(a.backup, ", ") + ")",
        agent_cfg + " (folders as written there)");
    auto d = setup::EnsureDir(a.agent_state_dir, 0700, user->uid, user->gid);
    if (!d.ok()) return Fail(d.status());
  }

  // 5. The coordinator: the one running, or started here once (it creates
  // the master key, the CA, its certificates and the schema on first start).
  const std::string addr = ConnectAddress(a.listen);
  const bool key_existed = fs::exists(a.state_dir + "/master.key", ec);
  pid_t started = 0;
  struct StopOnExit {
    pid_t* pid;
    ~StopOnExit() {
      if (*pid > 0) setup::Stop(*pid, std::chrono::seconds(30));
    }
  } stop_on_exit{&started};
  if (setup::TcpReachable(addr)) {
    std::printf("  using the coordinator that answers on %s\n", addr.c_str());
  } else {
    const std::string log = a.state_dir + "/setup-coordinator.log";
    std::printf("  starting the coordinator once as %s (log: %s)\n", a.user.c_str(), log.c_str());
    auto pid = setup::StartBackground({coordinator_bin, "--config", coordinator_cfg}, *user, log);
    if (!pid.ok()) return Fail(pid.status());
    started = *pid;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!setup::TcpReachable(addr)) {
      if (!setup::StillRunning(started)) {
        started = 0;
        return Fail(absl::StrCat("the coordinator stopped during its first start; see ", log));
      }
      if (std::chrono::steady_clock::now() > until) {
        return Fail(
            absl::StrCat("the coordinator did not listen on ", addr, " within 120 s; see ", log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  ClientOptions opts;
  opts.coordinator = addr;
  opts.ca_file = a.state_dir + "/tls/ca.crt";
  opts.cert_file = a.state_dir + "/tls/admin.crt";
  opts.key_file = a.state_dir + "/tls/admin.key";
  AdminClient admin(opts);
  if (!admin.status().ok()) return Fail(admin.status());
  Did(!key_existed, a.state_dir + "/master.key, the CA and the admin certificate in tls/",
      a.state_dir + "/master.key, tls/ (CA, admin certificate)");

  // 6. Enrollment of the workers and this machine's agent, with the names
  // and places their configs give (an admin may have edited them).
  for (int i = 1; i <= a.workers; i++) {
    std::string wcfg = absl::StrCat(cfg, "/worker-", i, ".toml");
    std::string name = ConfigString(wcfg, "worker.name", absl::StrCat(device, "-worker-", i));
    std::string tls =
        ConfigString(wcfg, "worker.tls_dir", absl::StrCat(a.state_dir, "/worker-", i, "-tls"));
    bool need = !fs::exists(tls + "/client.crt", ec);
    if (need) {
      auto st = Enroll(admin, worker_bin, wcfg, false, name, *user);
      if (!st.ok()) return Fail(st);
    }
    Did(need, "worker identity " + name, "worker identity " + name);
  }
  std::string agent_device = device;
  if (agent) {
    agent_device = ConfigString(agent_cfg, "agent.device_name", device);
    std::string tls =
        ConfigString(agent_cfg, "coordinator.tls_dir",
                     ConfigString(agent_cfg, "agent.state_dir", a.agent_state_dir) + "/tls");
    bool need = !fs::exists(tls + "/client.crt", ec);
    if (need) {
      auto st = Enroll(admin, agent_bin, agent_cfg, true, agent_device, *user);
      if (!st.ok()) return Fail(st);
    }
    Did(need, "device identity " + agent_device + " (agent)",
        "device identity " + agent_device + " (agent)");
  }

  // 7. A first destination, bound to this machine's device when it is known.
  bool bound = false;
  if (!a.dest_local.empty()) {
    if (auto st = LocalDestination(admin, a, *user); !st.ok()) return Fail(st);
    if (agent) {
      bound = BindIfKnown(admin, agent_device, a.dest_name);
      if (bound) {
        std::printf("  bound device %s to %s\n", agent_device.c_str(), a.dest_name.c_str());
      }
    }
  }
  PrintNextSteps(a, agent_device, agent, bound, cfg);
  return 0;
}

}  // namespace

void RegisterSetupCommands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<SetupArgs>();
  auto* cmd = app.add_subcommand(
      "setup",
      "set up this machine as a Shoebox server after `apt install shoebox-server` (run as root; "
      "safe to run again)");
  cmd->add_option("--database-url", a->database_url,
                  "PostgreSQL URL (default: a role and database on the local cluster)");
  cmd->add_option("--pg-cluster", a->pg_cluster,
                  "local cluster VERSION/NAME (default: the only one, or */main)");
  cmd->add_option("--pg-socket-dir", a->pg_socket_dir, "local PostgreSQL socket directory");
  cmd->add_option("--listen", a->listen, "coordinator address HOST:PORT (default 127.0.0.1:7443)");
  cmd->add_option("--metrics-listen", a->metrics_listen,
                  "Prometheus metrics address (default 127.0.0.1:9464; \"\" for none)");
  cmd->add_option("--tls-name", a->tls_names,
                  "extra name in the server certificate (repeat; for agents on other machines)");
  cmd->add_option("--workers", a->workers, "workers to configure and enroll (default 2)");
  cmd->add_option("--dest-local", a->dest_local, "add this folder as the first destination");
  cmd->add_option("--dest-name", a->dest_name, "name of that destination (default local)");
  cmd->add_option("--backup", a->backup,
                  "also back up this folder of this machine (repeat; needs shoebox-agent)");
  cmd->add_option("--device", a->device, "this machine's device name (default: host name)");
  cmd->add_option("--config-dir", a->config_dir, "config directory (default /etc/shoebox)");
  cmd->add_option("--state-dir", a->state_dir, "state directory (default /var/lib/shoebox)");
  cmd->add_option("--agent-state-dir", a->agent_state_dir,
                  "agent state directory (default /var/lib/shoebox-agent)");
  cmd->add_option("--user", a->user, "user the daemons run as (default shoebox)");
  ctx.AddHandler(cmd, [a](CliContext&) { return Setup(*a); });
}

}  // namespace shoebox::cli
