// Disaster recovery (issue 7, docs/recovery.md) against a real PostgreSQL
// and a real S3 server (moto, which verifies SigV4): back up files through
// the coordinator, snapshot the catalog into the S3 chunk store, lose the
// database and the server's state directory (only the master key is kept),
// run `shoebox recover` into a new database, start a coordinator on it with
// the same chunk store and restore every file byte for byte.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "cli/recover.h"
#include "common/bytes.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "common/http/url.h"
#include "common/s3/s3_chunkstore.h"
#include "common/snapshot/catalog_snapshot.h"
#include "common/snapshot/pg_tools.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "tests/support/coordinator_harness.h"
#include "tests/support/data_gen.h"
#include "tests/support/pg_environment.h"
#include "tests/support/servers.h"

extern "C" const char* __lsan_default_suppressions() { return "leak:libpq.so\n"; }

namespace shoebox {
namespace {

using testsupport::PseudoRandomBytes;

using testsupport::AsAdmin;
using testsupport::AsDevice;
using testsupport::CoordinatorHarness;
namespace pb = shoebox::v1;

const std::string kFolder = "/home/ana/Pictures";

// Shared servers: the PostgreSQL cluster of pg_environment.h and one moto per
// test binary.
testsupport::S3Server* g_s3 = nullptr;

class Servers : public ::testing::Environment {
 public:
  void SetUp() override {
    auto s3 = testsupport::StartMoto("chunks");
    ASSERT_TRUE(s3.ok()) << s3.status();
    g_s3 = s3->release();
    s3::RegisterS3ChunkStore();
  }
  void TearDown() override {
    delete g_s3;
    g_s3 = nullptr;
  }
};
::testing::Environment* const g_env = ::testing::AddGlobalTestEnvironment(new Servers());

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(g_s3, nullptr);
    static std::atomic<int> n{0};
    const int id = n++;
    prefix_ = absl::StrCat("store", id, "-", ::getpid());
    auto db = testsupport::FreshDatabase("orig", &db_name_);
    ASSERT_TRUE(db.ok()) << db.status();
    orig_url_ = *db;
    auto rebuilt = testsupport::FreshDatabase("rebuilt");
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
    rebuilt_url_ = *rebuilt;
    auto keep = testsupport::TempDir::Make("recovery-keep");
    ASSERT_TRUE(keep.ok()) << keep.status();
    keep_ = std::move(*keep);
    key_file_ = keep_->path() + "/master.key";
  }

  std::string ChunkStoreLocation() const {
    return absl::StrCat("s3://", http::PercentEncode(g_s3->access_key, false), ":",
                        http::PercentEncode(g_s3->secret_key, false), "@127.0.0.1:", g_s3->port,
                        "/", g_s3->bucket, "/", prefix_, "?tls=0");
  }

  coordinator::CoordinatorOptions Options(const std::string& url) const {
    coordinator::CoordinatorOptions o = testsupport::TestCoordinatorOptions(url);
    o.chunk_store = ChunkStoreLocation();
    o.key_file = key_file_;
    o.snapshot_interval_s = 0;  // on demand only, unless a test says otherwise
    return o;
  }

  // Reports and uploads `files` (path → content) for device `device`.
  void BackUp(const std::string& address, const std::string& device,
              const std::map<std::string, std::string>& files) {
    auto agent = pb::AgentService::NewStub(testsupport::Channel(address));
    pb::HelloResponse hello;
    {
      grpc::ClientContext ctx;
      AsDevice(&ctx, device);
      pb::HelloRequest req;
      req.set_hostname(device);
      req.add_folders(kFolder);
      grpc::Status st = agent->Hello(&ctx, req, &hello);
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
    HmacSha256 h(AsBytes(hello.chunk_id_key()));
    pb::ReportFilesRequest report;
    std::map<std::string, std::string> chunks;  // id → plaintext
    for (const auto& [path, data] : files) {
      pb::FileReport* r = report.add_files();
      r->set_folder(kFolder);
      r->set_path(path);
      r->set_op(pb::FileReport::OP_UPSERT);
      r->set_size(data.size());
      r->set_mtime_ns(1700000000000000000);
      r->set_sha256(DigestToString(Sha256::Of(data)));
      r->set_mode(0644);
      for (size_t off = 0; off < data.size() || off == 0; off += 256 * 1024) {
        std::string piece = data.substr(off, 256 * 1024);
        std::string cid = DigestToString(h.Compute(piece));
        pb::ChunkRef* c = r->add_chunks();
        c->set_id(cid);
        c->set_size(piece.size());
        chunks[cid] = piece;
        if (data.empty()) break;
      }
    }
    {
      grpc::ClientContext ctx;
      AsDevice(&ctx, device);
      pb::ReportFilesResponse resp;
      grpc::Status st = agent->ReportFiles(&ctx, report, &resp);
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    auto stream = agent->PutChunks(&ctx);
    for (const auto& [cid, data] : chunks) {
      pb::PutChunkRequest req;
      req.set_id(cid);
      req.set_data(data);
      ASSERT_TRUE(stream->Write(req));
      pb::PutChunkAck ack;
      ASSERT_TRUE(stream->Read(&ack));
    }
    stream->WritesDone();
    grpc::Status st = stream->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // Every current file of `device`, rebuilt from chunks read through the
  // admin API and checked against the catalog's SHA-256.
  std::map<std::string, std::string> RestoreAll(const std::string& address,
                                                const std::string& device) {
    auto admin = pb::AdminService::NewStub(testsupport::Channel(address));
    std::map<std::string, std::string> out;
    pb::ListVersionsResponse vs;
    {
      grpc::ClientContext ctx;
      AsAdmin(&ctx);
      pb::ListVersionsRequest req;
      req.set_device(device);
      req.set_limit(10000);
      grpc::Status st = admin->ListVersions(&ctx, req, &vs);
      EXPECT_TRUE(st.ok()) << st.error_message();
    }
    for (const pb::FileVersion& v : vs.versions()) {
      grpc::ClientContext ctx;
      AsAdmin(&ctx);
      pb::ReadChunksRequest req;
      for (const auto& c : v.chunks()) req.add_ids(c.id());
      auto reader = admin->ReadChunks(&ctx, req);
      std::map<std::string, std::string> got;
      pb::ChunkData d;
      while (reader->Read(&d)) got[d.id()] = d.data();
      grpc::Status st = reader->Finish();
      EXPECT_TRUE(st.ok()) << v.path() << ": " << st.error_message();
      std::string data;
      for (const auto& c : v.chunks()) data += got[c.id()];
      EXPECT_EQ(DigestToString(Sha256::Of(data)), v.sha256()) << v.path();
      out[v.path()] = data;
    }
    return out;
  }

  absl::StatusOr<pb::CatalogSnapshot> Snapshot(const std::string& address) {
    auto admin = pb::AdminService::NewStub(testsupport::Channel(address));
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::CatalogSnapshot r;
    grpc::Status st = admin->CreateSnapshot(&ctx, pb::CreateSnapshotRequest(), &r);
    if (!st.ok())
      return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
    return r;
  }

  int64_t Relations(const std::string& url) {
    auto n = snapshot::CountUserRelations(url);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  // A state directory like the quickstart's: the key file plus what else
  // a server keeps. Returns the key's bytes.
  std::string prefix_, orig_url_, rebuilt_url_, db_name_, key_file_;
  std::unique_ptr<testsupport::TempDir> keep_;
};

// Same names and the same bytes (failures name the file, not its bytes).
void ExpectSameFiles(const std::map<std::string, std::string>& got,
                     const std::map<std::string, std::string>& want, const std::string& when) {
  for (const auto& [path, data] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      ADD_FAILURE() << when << ": " << path << " was not restored";
    } else if (it->second != data) {
      ADD_FAILURE() << when << ": " << path << " differs (" << it->second.size() << " bytes, want "
                    << data.size() << ")";
    }
  }
  EXPECT_EQ(got.size(), want.size()) << when;
}

std::map<std::string, std::string> SampleFiles() {
  std::map<std::string, std::string> files;
  files["2024/IMG_0001.jpg"] = PseudoRandomBytes(700 * 1024, 1);
  files["2024/IMG_0002.jpg"] = PseudoRandomBytes(1, 2);
  files["2024/copy of IMG_0001.jpg"] = files["2024/IMG_0001.jpg"];  // dedup
  files["videos/clip #1.mp4"] = PseudoRandomBytes(2 * 1024 * 1024 + 17, 3);
  return files;
}

TEST_F(RecoveryTest, LostServerIsRebuiltFromTheS3ChunkStoreAndRestoresByteIdentical) {
  const std::map<std::string, std::string> files = SampleFiles();
  auto state = testsupport::TempDir::Make("recovery-state");
  ASSERT_TRUE(state.ok());
  std::string snap_name;
  {
    coordinator::CoordinatorOptions o = Options(orig_url_);
    // The server's state directory holds the key (a copy is kept aside, as
    // the recovery kit would be).
    o.key_file = (*state)->path() + "/master.key";
    auto c = CoordinatorHarness::Start(o);
    ASSERT_TRUE(c.ok()) << c.status();
    BackUp((*c)->address(), "laptop", files);
    ExpectSameFiles(RestoreAll((*c)->address(), "laptop"), files, "before the loss");
    auto snap = Snapshot((*c)->address());
    ASSERT_TRUE(snap.ok()) << snap.status();
    snap_name = snap->name();
    EXPECT_EQ(snap_name.rfind("catalog/", 0), 0u) << snap_name;
    EXPECT_GT(snap->size(), 0u);

    auto admin = pb::AdminService::NewStub(testsupport::Channel((*c)->address()));
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::ListSnapshotsResponse list;
    ASSERT_TRUE(admin->ListSnapshots(&ctx, pb::ListSnapshotsRequest(), &list).ok());
    ASSERT_EQ(list.snapshots_size(), 1);
    EXPECT_EQ(list.snapshots(0).name(), snap_name);
    EXPECT_EQ(list.chunk_store().find(g_s3->secret_key), std::string::npos)
        << "secret shown: " << list.chunk_store();
    EXPECT_NE(list.chunk_store().find(prefix_), std::string::npos) << list.chunk_store();
  }
  // The snapshot in the bucket, read with an independent client, is sealed.
  auto raw = g_s3->AwsCliRead(absl::StrCat(prefix_, "/meta/", snap_name));
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->substr(0, 8), "SBXCATS1");
  EXPECT_EQ(raw->find("IMG_0001"), std::string::npos)
      << "file names readable in the sealed snapshot";

  // The server is lost: its database and its state directory. Only the key
  // file survives (copied aside, as from the recovery kit).
  std::filesystem::copy_file((*state)->path() + "/master.key", key_file_);
  ::chmod(key_file_.c_str(), 0600);
  state->reset();
  ASSERT_TRUE(
      (*testsupport::SharedPg())->Query(absl::StrCat("DROP DATABASE ", db_name_), "postgres").ok());

  // The CLI binary, on the "new machine".
  std::string out;
  absl::Status ran =
      testsupport::RunCommand({SHOEBOX_CLI_BINARY, "recover", "--key", key_file_, "--from",
                               ChunkStoreLocation(), "--database", rebuilt_url_},
                              &out);
  ASSERT_TRUE(ran.ok()) << ran;
  EXPECT_NE(out.find(absl::StrCat("recovered the catalog from ", snap_name)), std::string::npos)
      << out;
  EXPECT_NE(out.find("of them missing"), std::string::npos) << out;
  EXPECT_NE(out.find(", 0 of them missing"), std::string::npos) << out;

  // A coordinator on the rebuilt database and the same chunk store serves
  // restores again.
  auto c = CoordinatorHarness::Start(Options(rebuilt_url_));
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectSameFiles(RestoreAll((*c)->address(), "laptop"), files, "after recover");
}

TEST_F(RecoveryTest, WrongKeyIsRefusedAndTheDatabaseStaysEmpty) {
  {
    auto c = CoordinatorHarness::Start(Options(orig_url_));
    ASSERT_TRUE(c.ok()) << c.status();
    BackUp((*c)->address(), "laptop", {{"a.jpg", PseudoRandomBytes(1000, 7)}});
    ASSERT_TRUE(Snapshot((*c)->address()).ok());
  }
  const std::string other_key = keep_->path() + "/other.key";
  ASSERT_TRUE(LoadOrCreateMasterKey(other_key, true).ok());
  cli::RecoverOptions ro;
  ro.key_file = other_key;
  ro.from = ChunkStoreLocation();
  ro.database_url = rebuilt_url_;
  auto rep = cli::Recover(ro, [](const std::string&) {});
  ASSERT_EQ(rep.status().code(), absl::StatusCode::kFailedPrecondition) << rep.status();
  EXPECT_NE(rep.status().message().find("different master key"), absl::string_view::npos)
      << rep.status();
  EXPECT_EQ(Relations(rebuilt_url_), 0);

  // A key file that does not exist says so.
  ro.key_file = keep_->path() + "/nope.key";
  rep = cli::Recover(ro, [](const std::string&) {});
  EXPECT_EQ(rep.status().code(), absl::StatusCode::kNotFound) << rep.status();
}

TEST_F(RecoveryTest, NoSnapshotAnywhereIsAClearError) {
  ASSERT_TRUE(LoadOrCreateMasterKey(key_file_, true).ok());
  cli::RecoverOptions ro;
  ro.key_file = key_file_;
  ro.from = ChunkStoreLocation();  // an empty prefix
  ro.database_url = rebuilt_url_;
  auto rep = cli::Recover(ro, [](const std::string&) {});
  ASSERT_EQ(rep.status().code(), absl::StatusCode::kNotFound) << rep.status();
  EXPECT_NE(rep.status().message().find("no catalog snapshot found"), absl::string_view::npos)
      << rep.status();

  auto empty = testsupport::TempDir::Make("recovery-empty");
  ASSERT_TRUE(empty.ok());
  ro.from = (*empty)->path();
  rep = cli::Recover(ro, [](const std::string&) {});
  ASSERT_EQ(rep.status().code(), absl::StatusCode::kNotFound) << rep.status();
  EXPECT_NE(rep.status().message().find("no catalog snapshot found"), absl::string_view::npos)
      << rep.status();
  EXPECT_EQ(Relations(rebuilt_url_), 0);
}

TEST_F(RecoveryTest, DatabaseThatIsNotEmptyNeedsForce) {
  std::map<std::string, std::string> files = {{"x/y.jpg", PseudoRandomBytes(300000, 9)}};
  {
    auto c = CoordinatorHarness::Start(Options(orig_url_));
    ASSERT_TRUE(c.ok()) << c.status();
    BackUp((*c)->address(), "phone", files);
    ASSERT_TRUE(Snapshot((*c)->address()).ok());
  }
  // The target database holds something already (here: an unrelated table).
  auto made = snapshot::Psql(rebuilt_url_, "CREATE TABLE leftovers (x int)");
  ASSERT_TRUE(made.ok()) << made.status();
  cli::RecoverOptions ro;
  ro.key_file = key_file_;
  ro.from = ChunkStoreLocation();
  ro.database_url = rebuilt_url_;
  auto rep = cli::Recover(ro, [](const std::string&) {});
  ASSERT_EQ(rep.status().code(), absl::StatusCode::kFailedPrecondition) << rep.status();
  EXPECT_NE(rep.status().message().find("--force"), absl::string_view::npos) << rep.status();
  EXPECT_EQ(Relations(rebuilt_url_), 1) << "refused recover must not change the database";

  ro.force = true;
  rep = cli::Recover(ro, [](const std::string&) {});
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_TRUE(rep->chunks_checked);
  EXPECT_EQ(rep->chunks_missing, 0u);
  EXPECT_EQ(rep->chunks_referenced, 2u);  // 300000 bytes in 256 KiB pieces
  auto c = CoordinatorHarness::Start(Options(rebuilt_url_));
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectSameFiles(RestoreAll((*c)->address(), "phone"), files, "after recover --force");
}

TEST_F(RecoveryTest, DamagedNewestSnapshotFallsBackToTheOlderOne) {
  std::string older, newer;
  {
    auto c = CoordinatorHarness::Start(Options(orig_url_));
    ASSERT_TRUE(c.ok()) << c.status();
    BackUp((*c)->address(), "laptop", {{"a.jpg", PseudoRandomBytes(5000, 1)}});
    auto s1 = Snapshot((*c)->address());
    ASSERT_TRUE(s1.ok()) << s1.status();
    older = s1->name();
    auto s2 = Snapshot((*c)->address());
    ASSERT_TRUE(s2.ok()) << s2.status();
    newer = s2->name();
  }
  ASSERT_LT(older, newer);
  auto store = OpenChunkStore(ChunkStoreLocation());
  ASSERT_TRUE(store.ok()) << store.status();
  auto bytes = (*store)->GetNamed(newer);
  ASSERT_TRUE(bytes.ok());
  std::string damaged = *bytes;
  damaged[damaged.size() / 2] ^= 1;
  ASSERT_TRUE((*store)->PutNamed(newer, damaged).ok());

  cli::RecoverOptions ro;
  ro.key_file = key_file_;
  ro.from = ChunkStoreLocation();
  ro.database_url = rebuilt_url_;
  auto rep = cli::Recover(ro, [](const std::string&) {});
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->snapshot, older);
  ASSERT_EQ(rep->skipped.size(), 1u);
  EXPECT_NE(rep->skipped[0].find("damaged"), std::string::npos) << rep->skipped[0];
}

TEST_F(RecoveryTest, ScheduledSnapshotsKeepTheNewestK) {
  coordinator::CoordinatorOptions o = Options(orig_url_);
  o.snapshot_interval_s = 1;
  o.snapshot_keep = 2;
  std::set<std::string> seen;
  {
    auto c = CoordinatorHarness::Start(o);
    ASSERT_TRUE(c.ok()) << c.status();
    auto admin = pb::AdminService::NewStub(testsupport::Channel((*c)->address()));
    for (int i = 0; i < 600 && seen.size() < 4; ++i) {
      grpc::ClientContext ctx;
      AsAdmin(&ctx);
      pb::ListSnapshotsResponse list;
      ASSERT_TRUE(admin->ListSnapshots(&ctx, pb::ListSnapshotsRequest(), &list).ok());
      EXPECT_EQ(list.interval_s(), 1u);
      EXPECT_EQ(list.keep(), 2u);
      for (const auto& s : list.snapshots()) seen.insert(s.name());
      ::usleep(100 * 1000);
    }
  }
  ASSERT_GE(seen.size(), 4u) << "the schedule did not take snapshots";
  auto store = OpenChunkStore(ChunkStoreLocation());
  ASSERT_TRUE(store.ok());
  auto left = snapshot::List(store->get());
  ASSERT_TRUE(left.ok()) << left.status();
  ASSERT_EQ(left->size(), 2u);
  // The two kept are the newest ones.
  EXPECT_GE((*left)[1].name, *std::next(seen.rbegin()));
}

TEST_F(RecoveryTest, KeyExportPrintsTheKeyWhereSnapshotsAreAndTheRecoverCommand) {
  auto c = CoordinatorHarness::Start(Options(orig_url_));
  ASSERT_TRUE(c.ok()) << c.status();
  // `shoebox snapshot` and `shoebox snapshot --list`, the binary.
  std::string taken, listed;
  absl::Status took = testsupport::RunCommand(
      {SHOEBOX_CLI_BINARY, "--coordinator", (*c)->address(), "--insecure-dev", "snapshot"}, &taken);
  ASSERT_TRUE(took.ok()) << took;
  EXPECT_NE(taken.find("catalog snapshot catalog/"), std::string::npos) << taken;
  auto snap = Snapshot((*c)->address());
  ASSERT_TRUE(snap.ok()) << snap.status();
  ASSERT_TRUE(testsupport::RunCommand({SHOEBOX_CLI_BINARY, "--coordinator", (*c)->address(),
                                       "--insecure-dev", "snapshot", "--list"},
                                      &listed)
                  .ok());
  EXPECT_NE(listed.find(snap->name()), std::string::npos) << listed;
  EXPECT_LT(listed.find(snap->name()), listed.find(taken.substr(taken.find("catalog/"), 32)))
      << "newest first: " << listed;
  auto key = LoadOrCreateMasterKey(key_file_, false);
  ASSERT_TRUE(key.ok()) << key.status();
  std::string out;
  absl::Status ran =
      testsupport::RunCommand({SHOEBOX_CLI_BINARY, "--coordinator", (*c)->address(),
                               "--insecure-dev", "key", "export", "--key-file", key_file_},
                              &out);
  ASSERT_TRUE(ran.ok()) << ran;
  EXPECT_NE(out.find(ToHex(ByteSpan(key->data(), key->size()))), std::string::npos) << out;
  EXPECT_NE(out.find(snap->name()), std::string::npos) << out;
  EXPECT_NE(out.find(absl::StrCat("/", g_s3->bucket, "/", prefix_)), std::string::npos) << out;
  EXPECT_EQ(out.find(g_s3->secret_key), std::string::npos)
      << "the S3 secret is not part of the kit: " << out;
  EXPECT_NE(out.find("shoebox recover --key master.key --from"), std::string::npos) << out;

  // Without a coordinator the kit still has the key and says what is missing.
  c->reset();
  out.clear();
  ran = testsupport::RunCommand({SHOEBOX_CLI_BINARY, "--coordinator", "127.0.0.1:1",
                                 "--insecure-dev", "key", "export", "--key-file", key_file_},
                                &out);
  ASSERT_TRUE(ran.ok()) << ran;
  EXPECT_NE(out.find(ToHex(ByteSpan(key->data(), key->size()))), std::string::npos) << out;
  EXPECT_NE(out.find("did not answer"), std::string::npos) << out;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(RecoveryTest, SnapshotsAreCopiedToPlainFileDestinationsAndRecoverWorksFromThere) {
  auto tmp = testsupport::TempDir::Make("recovery-dest");
  ASSERT_TRUE(tmp.ok());
  const std::string nas = (*tmp)->path() + "/nas";
  coordinator::CoordinatorOptions o = Options(orig_url_);
  o.chunk_store = "";  // the harness's directory store, which the worker reads directly
  o.snapshot_keep = 1;
  auto c = CoordinatorHarness::Start(o);
  ASSERT_TRUE(c.ok()) << c.status();
  const std::map<std::string, std::string> files = {{"a/b.jpg", PseudoRandomBytes(400000, 4)}};
  BackUp((*c)->address(), "laptop", files);
  auto admin = pb::AdminService::NewStub(testsupport::Channel((*c)->address()));
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::CreateDestinationRequest req;
    req.set_name("nas");
    req.set_kind("local");
    req.set_settings_json(absl::StrCat(R"({"root":")", nas, R"("})"));
    pb::Destination d;
    grpc::Status st = admin->CreateDestination(&ctx, req, &d);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  const std::string config = (*tmp)->path() + "/worker.toml";
  ASSERT_TRUE(testsupport::WriteTextFile(
                  config, absl::StrCat("[worker]\nname = \"w1\"\ncoordinator = \"", (*c)->address(),
                                       "\"\ninsecure_dev = true\nchunk_store = \"", (*c)->dir(),
                                       "/chunks\"\nmaster_key_file = \"", key_file_,
                                       "\"\npool_key_file = \"", (*tmp)->path(),
                                       "/pool.key\"\nlease_wait_seconds = 1\n"))
                  .ok());
  auto worker = testsupport::ScopedProcess::Start(
      {SHOEBOX_WORKER_BINARY, "--config", config, "--log-level", "warn"},
      (*tmp)->path() + "/worker.log");
  ASSERT_TRUE(worker.ok()) << worker.status();

  std::string copied;
  for (int round = 0; round < 2; ++round) {
    auto snap = Snapshot((*c)->address());
    ASSERT_TRUE(snap.ok()) << snap.status();
    const std::string file = snap->name().substr(snap->name().rfind('/') + 1);
    copied = nas + "/.shoebox/catalog/" + file;
    for (int i = 0; i < 600 && !std::filesystem::exists(copied); ++i) ::usleep(50 * 1000);
    ASSERT_TRUE(std::filesystem::exists(copied))
        << "the worker did not copy " << snap->name()
        << "; log: " << ReadWholeFile((*tmp)->path() + "/worker.log");
    EXPECT_EQ(ReadWholeFile(copied), ReadWholeFile((*c)->dir() + "/chunks/meta/" + snap->name()));
  }
  // keep = 1: the older copy was removed when the newer one arrived.
  size_t at_nas = 0;
  for (const auto& e : std::filesystem::directory_iterator(nas + "/.shoebox/catalog")) {
    if (e.path().extension() == ".snap") ++at_nas;
  }
  EXPECT_EQ(at_nas, 1u);
  {
    // The worker writes the copy before it completes the job: wait for the
    // completion rather than assume it happened with the file.
    int snapshot_jobs_done = 0;
    for (int i = 0; i < 600 && snapshot_jobs_done < 2; ++i) {
      if (i > 0) ::usleep(50 * 1000);
      grpc::ClientContext ctx;
      AsAdmin(&ctx);
      pb::ListJobsRequest req;
      req.set_destination("nas");
      pb::ListJobsResponse jobs;
      ASSERT_TRUE(admin->ListJobs(&ctx, req, &jobs).ok());
      snapshot_jobs_done = 0;
      for (const auto& j : jobs.jobs()) {
        if (j.kind() == pb::JOB_KIND_SNAPSHOT && j.state() == pb::JOB_STATE_DONE)
          ++snapshot_jobs_done;
      }
    }
    EXPECT_EQ(snapshot_jobs_done, 2);
  }
  (*worker)->Stop();
  c->reset();

  // The destination alone (its root directory) is enough to rebuild the catalog.
  cli::RecoverOptions ro;
  ro.key_file = key_file_;
  ro.from = nas;
  ro.database_url = rebuilt_url_;
  auto rep = cli::Recover(ro, [](const std::string&) {});
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->snapshot, copied);
  EXPECT_GT(Relations(rebuilt_url_), 0);
}

}  // namespace
}  // namespace shoebox
