// Transfers (issue 21, slice 2; docs/transfers.md) end to end: a real
// WebDAV server (Apache mod_dav) is the source, a local folder the target;
// the real `shoebox` CLI adds and steers the transfer against an in-process
// coordinator on a private PostgreSQL, and workers (in-process, and the real
// shoebox-worker binary killed with SIGKILL) list and fetch. Apache's access
// log counts every GET, so "fetched exactly once" is counted by the server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "tests/support/cli_fixture.h"
#include "tests/support/data_gen.h"
#include "tests/support/servers.h"

extern char** environ;

namespace shoebox {
namespace {

namespace fs = std::filesystem;
using testsupport::CliRun;

// GET http://127.0.0.1:PORT/PATH, the whole answer ("" when unreachable).
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return "";
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

class TransferTest : public testsupport::CliFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CliFixture::SetUp());
    auto dav = testsupport::StartApacheDav();
    ASSERT_TRUE(dav.ok()) << dav.status();
    dav_ = std::move(*dav);
    const size_t slash = dav_->url.find('/', std::string("http://").size());
    url_path_ = slash == std::string::npos ? "" : dav_->url.substr(slash);
    admin_ = v1::AdminService::NewStub(channel());
    nas_ = Path("nas");
    fs::create_directories(nas_);
  }

  // Writes photos/IMG_<i>.jpg for i in [from, to) into the WebDAV folder.
  void AddItems(int from, int to, size_t size = 20000) {
    fs::create_directories(dav_->root_dir + "/photos");
    for (int i = from; i < to; ++i) {
      const std::string name = absl::StrFormat("photos/IMG_%03d.jpg", i);
      const std::string content = testsupport::PseudoRandomBytes(size + i, 1000 + i);
      std::ofstream(dav_->root_dir + "/" + name, std::ios::binary) << content;
      contents_[name] = content;
    }
  }

  // `dest add` for the WebDAV source and the local target (a worker must
  // run: `dest add` checks the connection).
  void AddDestinations() {
    CliRun src = Cli({"dest", "add", "src", "--kind", "webdav", "--set", "url=" + dav_->url,
                      "--secret", "user=" + dav_->user, "--secret", "password=" + dav_->password},
                     "", "add-src");
    ASSERT_EQ(src.code, 0) << src.out << src.err;
    CliRun nas =
        Cli({"dest", "add", "nas", "--kind", "local", "--set", "root=" + nas_}, "", "add-nas");
    ASSERT_EQ(nas.code, 0) << nas.out << nas.err;
  }

  // GET requests Apache answered for each item path.
  std::map<std::string, int> Gets() const {
    std::map<std::string, int> out;
    std::ifstream in(dav_->access_log);
    std::string method, path, status;
    while (in >> method >> path >> status) {
      if (method != "GET" || path.rfind(url_path_ + "/", 0) != 0) continue;
      out[path.substr(url_path_.size() + 1)]++;
    }
    return out;
  }
  int TotalGets() const {
    int n = 0;
    for (const auto& [p, c] : Gets()) {
      if (contents_.count(p) != 0) n += c;
    }
    return n;
  }

  absl::StatusOr<v1::Transfer> Get(const std::string& name) {
    grpc::ClientContext ctx;
    testsupport::AsAdmin(&ctx);
    v1::ListTransfersResponse r;
    grpc::Status s = admin_->ListTransfers(&ctx, v1::ListTransfersRequest{}, &r);
    if (!s.ok()) return absl::UnknownError(s.error_message());
    for (const v1::Transfer& t : r.transfers()) {
      if (t.name() == name) return t;
    }
    return absl::NotFoundError(name);
  }

  uint64_t Delivered(const v1::Transfer& t) {
    uint64_t n = 0;
    for (const auto& d : t.delivery()) n += d.delivered();
    return n;
  }

  // Waits up to `seconds` until every item is fetched and delivered.
  ::testing::AssertionResult WaitDone(const std::string& name, uint64_t items, int seconds = 120) {
    v1::Transfer last;
    for (int i = 0; i < seconds * 5; ++i) {
      absl::StatusOr<v1::Transfer> t = Get(name);
      if (t.ok()) {
        last = *t;
        if (t->items_fetched() >= items && Delivered(*t) >= items && t->items_pending() == 0) {
          return ::testing::AssertionSuccess();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return ::testing::AssertionFailure() << "not done: " << last.DebugString();
  }

  // Files at the local target by content: each item must be there once.
  std::map<std::string, int> CopiesAtNas() const {
    std::map<std::string, std::string> by_content;
    for (const auto& [p, c] : contents_) by_content[c] = p;
    std::map<std::string, int> out;
    for (const auto& e : fs::recursive_directory_iterator(nas_)) {
      // Not copies: Shoebox's own files, and a killed worker's temp file
      // (".NAME<marker>...", swept by the local connector later).
      if (!e.is_regular_file() || e.path().string().find("/.shoebox") != std::string::npos ||
          e.path().filename().string().rfind('.', 0) == 0)
        continue;
      auto it = by_content.find(testsupport::ReadWholeFile(e.path().string()));
      out[it == by_content.end() ? "unknown:" + e.path().string() : it->second]++;
    }
    return out;
  }

  void ExpectEveryItemOnceAtNas() {
    std::map<std::string, int> copies = CopiesAtNas();
    EXPECT_EQ(copies.size(), contents_.size());
    for (const auto& [p, n] : copies) EXPECT_EQ(n, 1) << p;
  }

  std::unique_ptr<testsupport::ApacheDav> dav_;
  std::string url_path_;
  std::string nas_;
  std::map<std::string, std::string> contents_;  // item path -> bytes
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

TEST_F(TransferTest, EveryItemOnceAndASecondRunFetchesOnlyTheNewOnes) {
  AddItems(0, 10);
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  ASSERT_NO_FATAL_FAILURE(AddDestinations());
  CliRun add = Cli({"transfer", "add", "dav-copy", "--from", "src", "--to", "nas"}, "", "tadd");
  ASSERT_EQ(add.code, 0) << add.out << add.err;
  ASSERT_TRUE(WaitDone("dav-copy", 10));
  EXPECT_EQ(TotalGets(), 10);
  for (const auto& [p, n] : Gets()) {
    if (contents_.count(p) != 0) {
      EXPECT_EQ(n, 1) << p;
    }
  }
  ExpectEveryItemOnceAtNas();

  // A later run (resume of an active transfer lists now) after 5 new items
  // fetches exactly those 5.
  AddItems(10, 15);
  CliRun again = Cli({"transfer", "resume", "dav-copy"}, "", "resume");
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  ASSERT_TRUE(WaitDone("dav-copy", 15));
  EXPECT_EQ(TotalGets(), 15);
  ExpectEveryItemOnceAtNas();
  absl::StatusOr<v1::Transfer> t = Get("dav-copy");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->items_found(), 15u);
  EXPECT_EQ(t->items_fetched(), 15u);
  uint64_t bytes = 0;
  for (const auto& [p, c] : contents_) bytes += c.size();
  EXPECT_EQ(t->bytes_fetched(), bytes);
  // Progress (migration 21): bytes delivered from the status counters, the
  // rate from the fetches completed in the last 5 minutes, nothing left.
  EXPECT_EQ(t->bytes_delivered(), bytes);
  ASSERT_EQ(t->delivery_size(), 1);
  EXPECT_EQ(t->delivery(0).delivered_bytes(), bytes);
  EXPECT_EQ(t->delivery(0).failed(), 0u);
  EXPECT_EQ(t->delivery(0).waiting(), "");
  EXPECT_EQ(t->rate_window_s(), 300u);
  EXPECT_GT(t->items_per_s(), 0.0);
  EXPECT_LE(t->items_per_s(), 15.0);  // 15 fetches over at least 1 s
  EXPECT_GT(t->bytes_per_s(), 0.0);
  EXPECT_EQ(t->eta_s(), 0);
  EXPECT_EQ(t->waiting(), "");

  // The per-transfer Prometheus gauges (refreshed every 5 s).
  ASSERT_TRUE(harness_->coordinator().metrics().Expose("127.0.0.1:0").ok());
  const int port = harness_->coordinator().metrics().exposed_port();
  std::string metrics;
  for (int i = 0; i < 150; ++i) {
    metrics = HttpGet(port, "/metrics");
    if (metrics.find("transfer_items_fetched{transfer=\"dav-copy\"} 15") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(metrics.find("shoebox_coordinator_transfer_items_fetched{transfer=\"dav-copy\"} 15"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("shoebox_coordinator_transfer_items_remaining{transfer=\"dav-copy\"} 0"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(absl::StrCat("shoebox_coordinator_transfer_bytes_fetched{transfer=\"dav-"
                                      "copy\"} ",
                                      bytes)),
            std::string::npos)
      << metrics;

  CliRun list = Cli({"transfer", "list"}, "", "list");
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("dav-copy: src -> nas (keep), active"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("delivered to nas: 15 ("), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("pending 0, failed 0"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("(last 300 s); ETA done"), std::string::npos) << list.out;
  CliRun json = Cli({"transfer", "list", "--json"}, "", "json");
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_NE(json.out.find("\"items_fetched\": 15"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"eta_s\": 0"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find(absl::StrCat("\"bytes_delivered\": ", bytes)), std::string::npos)
      << json.out;

  // `shoebox status` shows the transfer too.
  CliRun st = Cli({"status"}, "", "status");
  ASSERT_EQ(st.code, 0) << st.err;
  EXPECT_NE(st.out.find("transfers:\ndav-copy: src -> nas (keep), active"), std::string::npos)
      << st.out;
  CliRun stj = Cli({"status", "--json"}, "", "statusj");
  ASSERT_EQ(stj.code, 0) << stj.err;
  EXPECT_NE(stj.out.find("\"transfers\""), std::string::npos) << stj.out;

  // A third run with nothing new fetches nothing.
  ASSERT_EQ(Cli({"transfer", "resume", "dav-copy"}, "", "resume2").code, 0);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(TotalGets(), 15);
}

TEST_F(TransferTest, PauseStopsLeasesResumeContinuesCancelRemovesQueuedJobs) {
  AddItems(0, 6);
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  ASSERT_NO_FATAL_FAILURE(AddDestinations());
  StopWorker();
  ASSERT_EQ(Cli({"transfer", "add", "t2", "--from", "src", "--to", "nas"}, "", "tadd").code, 0);
  CliRun pause = Cli({"transfer", "pause", "t2"}, "", "pause");
  ASSERT_EQ(pause.code, 0) << pause.out << pause.err;
  EXPECT_NE(pause.out.find("waiting: paused by an admin"), std::string::npos) << pause.out;
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  std::this_thread::sleep_for(std::chrono::seconds(4));
  absl::StatusOr<v1::Transfer> t = Get("t2");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->last_listed_unix_ms(), 0) << "a paused transfer's list job was leased";
  EXPECT_EQ(t->items_fetched(), 0u);
  EXPECT_EQ(TotalGets(), 0);

  ASSERT_EQ(Cli({"transfer", "resume", "t2"}, "", "resume").code, 0);
  ASSERT_TRUE(WaitDone("t2", 6));
  EXPECT_EQ(TotalGets(), 6);

  // Cancel while a listing is queued: it is cancelled and never runs.
  StopWorker();
  AddItems(6, 9);
  ASSERT_EQ(Cli({"transfer", "resume", "t2"}, "", "resume2").code, 0);  // queues a listing
  CliRun cancel = Cli({"transfer", "cancel", "t2"}, "", "cancel");
  ASSERT_EQ(cancel.code, 0) << cancel.out << cancel.err;
  EXPECT_NE(cancel.out.find("cancelled"), std::string::npos) << cancel.out;
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(TotalGets(), 6);
  t = Get("t2");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->state(), "cancelled");
  EXPECT_EQ(t->items_pending(), 0u);
  v1::ListJobsRequest lj;
  lj.add_states(v1::JOB_STATE_QUEUED);
  grpc::ClientContext ctx;
  testsupport::AsAdmin(&ctx);
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(admin_->ListJobs(&ctx, lj, &jobs).ok());
  for (const auto& j : jobs.jobs()) {
    EXPECT_NE(j.kind(), v1::JOB_KIND_TRANSFER_LIST) << j.DebugString();
    EXPECT_NE(j.kind(), v1::JOB_KIND_TRANSFER) << j.DebugString();
  }
  CliRun resume = Cli({"transfer", "resume", "t2"}, "", "resume3");
  EXPECT_NE(resume.code, 0);
  EXPECT_NE(resume.err.find("was cancelled, which is final"), std::string::npos) << resume.err;
}

// Why a transfer waits, in the queue's words: the source paused (its jobs
// are not leased), then a target paused (fetched items wait for delivery);
// the ETA is unknown while nothing moves and 0 once nothing is left to fetch.
TEST_F(TransferTest, StatusSaysWhyItWaitsAtTheSourceAndAtATarget) {
  AddItems(0, 4);
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  ASSERT_NO_FATAL_FAILURE(AddDestinations());
  ASSERT_EQ(Cli({"dest", "pause", "src"}, "", "psrc").code, 0);
  ASSERT_EQ(Cli({"dest", "pause", "nas"}, "", "pnas").code, 0);
  ASSERT_EQ(Cli({"transfer", "add", "w", "--from", "src", "--to", "nas"}, "", "tadd").code, 0);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  absl::StatusOr<v1::Transfer> t = Get("w");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->last_listed_unix_ms(), 0) << "the paused source was listed";
  EXPECT_NE(t->waiting().find("source: destination src is paused by an admin since"),
            std::string::npos)
      << t->waiting();
  CliRun list = Cli({"transfer", "list"}, "", "list");
  EXPECT_NE(list.out.find("waiting: source: destination src is paused"), std::string::npos)
      << list.out;

  ASSERT_EQ(Cli({"dest", "resume", "src"}, "", "rsrc").code, 0);
  bool fetched = false;
  for (int i = 0; i < 600 && !fetched; ++i) {
    t = Get("w");
    fetched = t.ok() && t->items_fetched() == 4 && t->items_pending() == 0;
    if (!fetched) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(fetched) << (t.ok() ? t->DebugString() : t.status().ToString());
  EXPECT_EQ(t->eta_s(), 0);
  ASSERT_EQ(t->delivery_size(), 1);
  EXPECT_EQ(t->delivery(0).delivered(), 0u);
  EXPECT_EQ(t->delivery(0).pending(), 4u);
  EXPECT_NE(t->delivery(0).waiting().find("destination nas is paused by an admin"),
            std::string::npos)
      << t->DebugString();
  EXPECT_NE(t->waiting().find("delivery to nas: destination nas is paused"), std::string::npos)
      << t->waiting();
  CliRun json = Cli({"transfer", "list", "--json"}, "", "json");
  EXPECT_NE(json.out.find("\"pending\": 4"), std::string::npos) << json.out;

  ASSERT_EQ(Cli({"dest", "resume", "nas"}, "", "rnas").code, 0);
  ASSERT_TRUE(WaitDone("w", 4));
  t = Get("w");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->waiting(), "");
  EXPECT_EQ(t->delivery(0).waiting(), "");
  ExpectEveryItemOnceAtNas();
}

TEST_F(TransferTest, BadInputIsRefusedNamingTheObject) {
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  ASSERT_NO_FATAL_FAILURE(AddDestinations());
  CliRun unknown = Cli({"transfer", "add", "x", "--from", "nope", "--to", "nas"}, "", "u");
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.err.find("no destination named 'nope'"), std::string::npos) << unknown.err;
  CliRun to_unknown = Cli({"transfer", "add", "x", "--from", "src", "--to", "nas,gone"}, "", "g");
  EXPECT_NE(to_unknown.code, 0);
  EXPECT_NE(to_unknown.err.find("no destination named 'gone'"), std::string::npos)
      << to_unknown.err;
  CliRun self = Cli({"transfer", "add", "x", "--from", "src", "--to", "nas,src"}, "", "s");
  EXPECT_NE(self.code, 0);
  EXPECT_NE(self.err.find("--to names the source 'src'"), std::string::npos) << self.err;
  // Photo services are sources since slice 3 (photo_transfer_test.cc).
  CliRun fl = Cli({"dest", "add", "fl", "--kind", "flickr", "--set", "api_key=k"}, "", "fl");
  if (fl.code == 0) {
    CliRun can = Cli({"transfer", "add", "from-fl", "--from", "fl", "--to", "nas"}, "", "c");
    EXPECT_EQ(can.code, 0) << can.out << can.err;
  } else {
    ADD_FAILURE() << "dest add fl --kind flickr: " << fl.out << fl.err;
  }
  CliRun bad_name = Cli({"transfer", "add", "a/b", "--from", "src", "--to", "nas"}, "", "n");
  EXPECT_NE(bad_name.code, 0);
  EXPECT_NE(bad_name.err.find("name 'a/b'"), std::string::npos) << bad_name.err;
  CliRun since =
      Cli({"transfer", "add", "x", "--from", "src", "--to", "nas", "--since", "May"}, "", "since");
  EXPECT_EQ(since.code, 2);
  EXPECT_NE(since.err.find("--since May is not a date"), std::string::npos) << since.err;
  ASSERT_EQ(Cli({"transfer", "add", "x", "--from", "src", "--to", "nas"}, "", "ok").code, 0);
  CliRun taken = Cli({"transfer", "add", "x", "--from", "src", "--to", "nas"}, "", "t");
  EXPECT_NE(taken.code, 0);
  EXPECT_NE(taken.err.find("transfer 'x' exists already"), std::string::npos) << taken.err;
  // An agent's device "laptop": its name is taken for transfers.
  {
    auto agent = v1::AgentService::NewStub(channel());
    grpc::ClientContext ctx;
    testsupport::AsDevice(&ctx, "laptop");
    v1::HelloRequest hello;
    hello.set_hostname("laptop.local");
    hello.add_folders("/home/u/Pictures");
    v1::HelloResponse hr;
    ASSERT_TRUE(agent->Hello(&ctx, hello, &hr).ok());
  }
  CliRun dev = Cli({"transfer", "add", "laptop", "--from", "src", "--to", "nas"}, "", "dev");
  EXPECT_NE(dev.code, 0);
  EXPECT_NE(dev.err.find("name 'laptop' is in use by device 'laptop' (host laptop.local)"),
            std::string::npos)
      << dev.err;
  CliRun both =
      Cli({"transfer", "add", "z", "--from", "src", "--to", "nas", "--keep", "--pass-through"}, "",
          "both");
  EXPECT_EQ(both.code, 2);

  // Pass-through: the device's folder gets a pass-through retention policy.
  CliRun pt =
      Cli({"transfer", "add", "pt", "--from", "src", "--to", "nas", "--pass-through"}, "", "pt");
  ASSERT_EQ(pt.code, 0) << pt.err;
  CliRun ret = Cli({"retention", "show", "--device", "pt", "--json"}, "", "ret");
  ASSERT_EQ(ret.code, 0) << ret.err;
  EXPECT_NE(ret.out.find("\"pass_through\": true"), std::string::npos) << ret.out;
  CliRun ptl = Cli({"transfer", "list", "--json"}, "", "ptl");
  EXPECT_NE(ptl.out.find("\"mode\": \"pass-through\""), std::string::npos) << ptl.out;

  CliRun unknown_t = Cli({"transfer", "pause", "y"}, "", "p");
  EXPECT_NE(unknown_t.code, 0);
  EXPECT_NE(unknown_t.err.find("transfer 'y' does not exist"), std::string::npos) << unknown_t.err;
}

// A real shoebox-worker process is killed with SIGKILL mid-transfer; a
// second worker finishes. At most the item in flight is fetched twice, and
// every item is at the target exactly once.
TEST_F(TransferTest, WorkerKilledMidTransferLosesAtMostTheItemInFlight) {
  const int kItems = 24;
  AddItems(0, kItems, 3 << 20);  // 3 MiB each: fetches take a moment
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  ASSERT_NO_FATAL_FAILURE(AddDestinations());
  StopWorker();
  ASSERT_EQ(Cli({"transfer", "add", "big", "--from", "src", "--to", "nas"}, "", "tadd").code, 0);

  const std::string config = Path("worker.toml");
  std::ofstream(config) << "[worker]\n"
                        << "name = \"w-bin\"\n"
                        << "coordinator = \"" << harness_->address() << "\"\n"
                        << "insecure_dev = true\n"
                        << "concurrency = 1\n"
                        << "chunk_store = \"" << harness_->dir() << "/chunks\"\n"
                        << "master_key_file = \"" << harness_->dir() << "/master.key\"\n"
                        << "pool_key_file = \"" << Path("pool.key") << "\"\n"
                        << "lease_wait_seconds = 1\n";
  std::vector<std::string> args = {SHOEBOX_WORKER_BINARY, "--config", config, "--log-level",
                                   "warn"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  // Kill it once it has fetched a few items, while it works on the next.
  bool some = false;
  for (int i = 0; i < 600 && !some; ++i) {
    absl::StatusOr<v1::Transfer> t = Get("big");
    some = t.ok() && t->items_fetched() >= 5;
    if (!some) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(some) << "the worker binary fetched nothing";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  absl::StatusOr<v1::Transfer> at_kill = Get("big");
  ASSERT_TRUE(at_kill.ok());
  EXPECT_LT(at_kill->items_fetched(), static_cast<uint64_t>(kItems)) << "killed too late";

  ASSERT_NO_FATAL_FAILURE(StartWorker());
  ASSERT_TRUE(WaitDone("big", kItems, 240));
  int twice = 0;
  for (const auto& [p, c] : contents_) {
    const int n = Gets()[p];
    EXPECT_GE(n, 1) << p;
    EXPECT_LE(n, 2) << p;
    if (n == 2) ++twice;
  }
  EXPECT_LE(twice, 1) << "more than the item in flight was fetched twice";
  ExpectEveryItemOnceAtNas();
  absl::StatusOr<v1::Transfer> t = Get("big");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->items_fetched(), static_cast<uint64_t>(kItems));
  ASSERT_EQ(t->delivery_size(), 1);
  EXPECT_EQ(t->delivery(0).delivered(), static_cast<uint64_t>(kItems));
}

}  // namespace
}  // namespace shoebox
