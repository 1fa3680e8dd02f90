// Transfers from a photo service (issue 21, slice 3; docs/transfers.md):
// the local Flickr (tests/fakes/flickr_server.py) seeded with items in 20
// photosets (some in two sets, some byte-identical duplicates of others) is
// the source, a local folder the target; the real `shoebox` CLI adds the
// transfer against an in-process coordinator on a private PostgreSQL, and
// the real shoebox-worker binary, killed with SIGKILL twice, lists and
// fetches. The Flickr server counts the originals it serves, so "fetched
// once" and "the next run fetches exactly the 50 new ones" are counted by
// the server. SHOEBOX_PHOTO_TRANSFER_ITEMS=2000 is the size (the
// default, 200, keeps CI short).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "tests/support/cli_fixture.h"
#include "tests/support/data_gen.h"
#include "tests/support/flickr_fake.h"

extern char** environ;

namespace shoebox {
namespace {

namespace fs = std::filesystem;
using testsupport::CliRun;

constexpr int64_t kFirstUpload = 1700000000;  // unix seconds of item 0

int ItemCount() {
  const char* env = getenv("SHOEBOX_PHOTO_TRANSFER_ITEMS");
  const int n = env != nullptr ? atoi(env) : 0;
  return n > 0 ? n : 200;
}

// An item as seeded at Flickr and as it must arrive.
struct Seeded {
  std::string title;
  std::string content;
  std::set<std::string> sets;
  std::string taken;
};

class PhotoTransferTest : public testsupport::CliFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CliFixture::SetUp());
    auto fl = testsupport::StartFlickrFake();
    ASSERT_TRUE(fl.ok()) << fl.status();
    flickr_ = std::move(*fl);
    auto account = flickr_->NewAccount("source");
    ASSERT_TRUE(account.ok()) << account.status();
    account_ = *account;
    admin_ = v1::AdminService::NewStub(channel());
    nas_ = Path("nas");
    fs::create_directories(nas_);
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    CliFixture::TearDown();
  }

  // Items [from, to): item i is in set i % 20, every 7th also in set
  // (i + 3) % 20, every 10th (i % 10 == 9) in none; every 25th is a
  // byte-identical copy of the one before. Uploaded one second apart.
  void Seed(int from, int to) {
    nlohmann::json photos = nlohmann::json::array();
    for (int i = from; i < to; ++i) {
      Seeded s;
      s.title = absl::StrFormat("IMG_%05d", i);
      s.content = (i % 25 == 24 && i > from)
                      ? seeded_[absl::StrFormat("IMG_%05d", i - 1)].content
                      : testsupport::PseudoRandomBytes(3000 + (i % 97) * 31, 7000 + i);
      if (i % 10 != 9) {
        s.sets.insert(absl::StrFormat("Set %02d", i % 20));
        if (i % 7 == 0) s.sets.insert(absl::StrFormat("Set %02d", (i + 3) % 20));
      }
      s.taken = absl::StrFormat("2019-07-%02d 10:%02d:%02d", 1 + i % 28, i % 60, (i * 7) % 60);
      nlohmann::json sets = nlohmann::json::array();
      for (const std::string& t : s.sets) sets.push_back(t);
      photos.push_back({{"title", s.title},
                        {"content_b64", absl::Base64Escape(s.content)},
                        {"format", "jpg"},
                        {"taken", s.taken},
                        {"uploaded", kFirstUpload + i},
                        {"sets", sets}});
      seeded_[s.title] = std::move(s);
    }
    ASSERT_TRUE(flickr_->Control("seed", {{"user_id", account_.user_id}, {"photos", photos}}).ok());
  }

  void AddDestinations() {
    CliRun src = Cli(
        {"dest", "add", "fl", "--kind", "flickr", "--set", "api_key=" + flickr_->api_key, "--set",
         "endpoint=" + flickr_->services(), "--set", "max_requests_per_s=0", "--secret",
         "api_secret=" + flickr_->api_secret, "--secret", "oauth_token=" + account_.oauth_token,
         "--secret", "oauth_token_secret=" + account_.oauth_token_secret, "--check-read-only"},
        "", "add-fl");
    ASSERT_EQ(src.code, 0) << src.out << src.err;
    CliRun nas =
        Cli({"dest", "add", "nas", "--kind", "local", "--set", "root=" + nas_}, "", "add-nas");
    ASSERT_EQ(nas.code, 0) << nas.out << nas.err;
  }

  int64_t Downloads() {
    auto st = flickr_->Get("stats");
    EXPECT_TRUE(st.ok()) << st.status();
    return st.ok() ? (*st)["downloads"].get<int64_t>() : -1;
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

  ::testing::AssertionResult WaitDone(const std::string& name, uint64_t items, int seconds) {
    v1::Transfer last;
    for (int i = 0; i < seconds * 5; ++i) {
      absl::StatusOr<v1::Transfer> t = Get(name);
      if (t.ok()) {
        last = *t;
        uint64_t delivered = 0;
        for (const auto& d : t->delivery()) delivered += d.delivered();
        if (t->items_fetched() >= items && delivered >= items && t->items_pending() == 0) {
          return ::testing::AssertionSuccess();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return ::testing::AssertionFailure() << "not done: " << last.DebugString();
  }

  // Starts the real worker binary (concurrency 1).
  void SpawnWorker(const std::string& name) {
    const std::string config = Path(name + ".toml");
    std::ofstream(config) << "[worker]\n"
                          << "name = \"" << name << "\"\n"
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
    ASSERT_EQ(posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  }
  // Waits until `fetched` items are fetched, then SIGKILLs the binary.
  void KillAfter(const std::string& transfer, uint64_t fetched) {
    bool reached = false;
    for (int i = 0; i < 6000 && !reached; ++i) {
      absl::StatusOr<v1::Transfer> t = Get(transfer);
      reached = t.ok() && t->items_fetched() >= fetched;
      if (!reached) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(reached) << "the worker binary did not fetch " << fetched << " items";
    ASSERT_EQ(kill(pid_, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid_, &status, 0), pid_);
    pid_ = 0;
    EXPECT_TRUE(WIFSIGNALED(status));
  }

  // Files at the target by name (Shoebox's own and a killed worker's temp
  // files left out), with their contents.
  std::map<std::string, std::vector<std::string>> FilesAtNas() const {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& e : fs::recursive_directory_iterator(nas_)) {
      if (!e.is_regular_file() || e.path().string().find("/.shoebox") != std::string::npos ||
          e.path().filename().string().rfind('.', 0) == 0)
        continue;
      out[e.path().filename().string()].push_back(testsupport::ReadWholeFile(e.path().string()));
    }
    return out;
  }

  std::string Sql(const std::string& q) {
    auto r = pg()->Query(q, db_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : "";
  }

  // "title|album,album" per version of the transfer's device that has albums.
  std::map<std::string, std::string> AlbumsInCatalog() {
    std::map<std::string, std::string> out;
    const std::string rows =
        Sql("SELECT convert_from(f.path, 'UTF8') || '|' || string_agg(convert_from(a.album, "
            "'UTF8'), ',' ORDER BY a.album) FROM version_albums a JOIN file_versions v ON v.id = "
            "a.version_id JOIN files f ON f.id = v.file_id GROUP BY f.path");
    for (absl::string_view sv : absl::StrSplit(rows, '\n', absl::SkipEmpty())) {
      const std::string line(sv);
      const size_t bar = line.find('|');
      const std::string path = line.substr(0, bar);
      // "<id>_IMG_00001.jpg" -> "IMG_00001"
      const size_t us = path.find('_');
      out[path.substr(us + 1, path.size() - us - 1 - 4)] = line.substr(bar + 1);
    }
    return out;
  }
  std::map<std::string, std::string> AlbumsWanted() const {
    std::map<std::string, std::string> out;
    for (const auto& [title, s] : seeded_) {
      if (!s.sets.empty()) out[title] = absl::StrJoin(s.sets, ",");
    }
    return out;
  }

  void ExpectEveryItemOnceAtNas() {
    std::map<std::string, std::vector<std::string>> files = FilesAtNas();
    EXPECT_EQ(files.size(), seeded_.size());
    std::map<std::string, const Seeded*> by_title;
    for (const auto& [t, s] : seeded_) by_title[t] = &s;
    for (const auto& [name, contents] : files) {
      EXPECT_EQ(contents.size(), 1u) << name;
      const size_t us = name.find('_');
      auto it = by_title.find(name.substr(us + 1, name.size() - us - 1 - 4));
      if (it == by_title.end()) {
        ADD_FAILURE() << "unexpected file " << name;
        continue;
      }
      EXPECT_EQ(contents[0], it->second->content) << name;
    }
  }

  std::unique_ptr<testsupport::FlickrFake> flickr_;
  testsupport::FlickrAccount account_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::string nas_;
  std::map<std::string, Seeded> seeded_;
  pid_t pid_ = 0;
};

TEST_F(PhotoTransferTest, FlickrWithAlbumsKilledTwiceEveryItemOnceThenExactlyTheNewOnes) {
  const int n = ItemCount();
  ASSERT_NO_FATAL_FAILURE(Seed(0, n));
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  ASSERT_NO_FATAL_FAILURE(AddDestinations());
  StopWorker();
  CliRun add = Cli({"transfer", "add", "fl-copy", "--from", "fl", "--to", "nas"}, "", "tadd");
  ASSERT_EQ(add.code, 0) << add.out << add.err;

  // The worker binary is killed twice mid-transfer.
  ASSERT_NO_FATAL_FAILURE(SpawnWorker("w-bin1"));
  ASSERT_NO_FATAL_FAILURE(KillAfter("fl-copy", n / 4));
  ASSERT_NO_FATAL_FAILURE(SpawnWorker("w-bin2"));
  ASSERT_NO_FATAL_FAILURE(KillAfter("fl-copy", n / 2));
  absl::StatusOr<v1::Transfer> at_kill = Get("fl-copy");
  ASSERT_TRUE(at_kill.ok());
  EXPECT_LT(at_kill->items_fetched(), static_cast<uint64_t>(n)) << "killed too late";
  ASSERT_NO_FATAL_FAILURE(SpawnWorker("w-bin3"));
  ASSERT_TRUE(WaitDone("fl-copy", n, 600));

  // Every original downloaded once, but at most the item in flight at each
  // kill twice; every item once at the target, byte-identical.
  const int64_t first = Downloads();
  EXPECT_GE(first, n);
  EXPECT_LE(first, n + 2);
  ExpectEveryItemOnceAtNas();
  // Every album membership, and the capture dates Flickr reported.
  EXPECT_EQ(AlbumsInCatalog(), AlbumsWanted());
  EXPECT_EQ(Sql("SELECT count(*) FROM version_capture"), absl::StrCat(n, "\n"));
  EXPECT_EQ(Sql("SELECT list_cursor FROM transfers WHERE name = 'fl-copy'"),
            absl::StrCat("upload:", kFirstUpload + n - 1, "\n"));

  // 50 new items at Flickr: the next run fetches exactly those 50.
  ASSERT_NO_FATAL_FAILURE(Seed(n, n + 50));
  ASSERT_EQ(Cli({"transfer", "resume", "fl-copy"}, "", "resume").code, 0);
  ASSERT_TRUE(WaitDone("fl-copy", n + 50, 300));
  EXPECT_EQ(Downloads() - first, 50);
  ExpectEveryItemOnceAtNas();
  EXPECT_EQ(AlbumsInCatalog(), AlbumsWanted());
  EXPECT_EQ(Sql("SELECT list_cursor FROM transfers WHERE name = 'fl-copy'"),
            absl::StrCat("upload:", kFirstUpload + n + 49, "\n"));
  absl::StatusOr<v1::Transfer> t = Get("fl-copy");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->items_found(), static_cast<uint64_t>(n + 50));

  // A run with nothing new fetches nothing.
  ASSERT_EQ(Cli({"transfer", "resume", "fl-copy"}, "", "resume2").code, 0);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(Downloads() - first, 50);
}

}  // namespace
}  // namespace shoebox
