#include "common/snapshot/catalog_snapshot.h"

#include <cstdlib>

#include <gtest/gtest.h>

#include "common/crypto/keys.h"
#include "common/snapshot/pg_tools.h"
#include "common/subprocess.h"

namespace shoebox::snapshot {
namespace {

Key256 TestKey(uint8_t seed) {
  Key256 master;
  for (size_t i = 0; i < master.size(); ++i) master[i] = static_cast<uint8_t>(seed + i);
  return DeriveKeys(master).catalog_key;
}

TEST(CatalogSnapshot, SealedSnapshotOpensWithTheSameKeyOnly) {
  const std::string dump = "PGDMP fake dump \x01\x02 bytes";
  const std::string sealed = Seal(TestKey(1), 1764189840123, AsBytes(dump));
  auto back = Open(TestKey(1), sealed, "s");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, dump);
  EXPECT_EQ(*CreatedUnixMs(sealed, "s"), 1764189840123);
  EXPECT_EQ(sealed.find("fake dump"), std::string::npos) << "plaintext visible in the sealed file";

  auto wrong = Open(TestKey(2), sealed, "catalog/x.snap");
  ASSERT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition) << wrong.status();
  EXPECT_NE(wrong.status().message().find("different master key"), std::string::npos);
  EXPECT_NE(wrong.status().message().find("catalog/x.snap"), std::string::npos);
}

TEST(CatalogSnapshot, AnyFlippedByteOrTruncationIsDataLoss) {
  const std::string sealed = Seal(TestKey(1), 1000, AsBytes(std::string(300, 'd')));
  for (size_t i = 0; i < sealed.size(); ++i) {
    if (i >= 8 && i < 16) continue;  // key check: reported as another key
    std::string bad = sealed;
    bad[i] ^= 0x04;
    EXPECT_EQ(Open(TestKey(1), bad, "s").status().code(), absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
  EXPECT_EQ(Open(TestKey(1), sealed.substr(0, sealed.size() - 1), "s").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(Open(TestKey(1), "not a snapshot", "s").status().code(), absl::StatusCode::kDataLoss);
}

TEST(CatalogSnapshot, FileNamesSortByTimeAndParseBack) {
  EXPECT_EQ(FileName(1764189840123), "20251126T204400123Z.snap");
  int64_t t = 0;
  ASSERT_TRUE(ParseFileName("20251126T204400123Z.snap", &t));
  EXPECT_EQ(t, 1764189840123);
  EXPECT_LT(FileName(1764189840123), FileName(1764189840124));
  EXPECT_LT(FileName(999), FileName(1764189840124));
  for (const char* bad : {"", "x.snap", "20251126T204400123Z.snapx", "2025112XT204400123Z.snap",
                          "20251126T204400123.snap"}) {
    EXPECT_FALSE(ParseFileName(bad, &t)) << bad;
  }
}

TEST(CatalogSnapshot, ChunkStoreKeepsTheNewestAfterPrune) {
  char tmpl[] = "/tmp/shoebox-snaptest-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  {
    auto store = OpenDirChunkStore(root + "/chunks");
    ASSERT_TRUE(store.ok()) << store.status();
    for (int64_t t : {3000, 1000, 5000, 2000, 4000}) {
      auto put = Put(store->get(), Seal(TestKey(1), t, AsBytes(std::string("dump"))), t);
      ASSERT_TRUE(put.ok()) << put.status();
    }
    ASSERT_TRUE((*store)->PutNamed("catalog/README", "not a snapshot").ok());
    auto all = List(store->get());
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_EQ(all->size(), 5u);
    EXPECT_EQ((*all)[0].created_unix_ms, 5000);
    EXPECT_EQ((*all)[4].created_unix_ms, 1000);
    auto pruned = Prune(store->get(), 2);
    ASSERT_TRUE(pruned.ok()) << pruned.status();
    EXPECT_EQ(*pruned, 3);
    all = List(store->get());
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].created_unix_ms, 5000);
    EXPECT_EQ((*all)[1].created_unix_ms, 4000);
    auto newest = (*store)->GetNamed((*all)[0].name);
    ASSERT_TRUE(newest.ok());
    EXPECT_EQ(*Open(TestKey(1), *newest, (*all)[0].name), "dump");
  }
  ASSERT_TRUE(RunProcess({"rm", "-rf", root}).ok());
}

TEST(PgTools, RedactedUrlsShowNoPassword) {
  EXPECT_EQ(RedactDatabaseUrl("postgresql://shoebox:s3cr%40t@127.0.0.1:5432/db"),
            "postgresql://shoebox@127.0.0.1:5432/db");
  EXPECT_EQ(RedactDatabaseUrl("postgresql://shoebox@127.0.0.1/db"),
            "postgresql://shoebox@127.0.0.1/db");
  EXPECT_EQ(RedactDatabaseUrl("host=h password=abc dbname=x"), "host=h password=*** dbname=x");
  EXPECT_EQ(RedactDatabaseUrl("password='a b' host=h"), "password=*** host=h");
}

TEST(PgTools, PasswordsTravelInTheEnvironmentNotOnTheCommandLine) {
  PgConn a = SplitDatabasePassword("postgresql://shoebox:p%40ss@127.0.0.1:5432/db");
  EXPECT_EQ(a.url, "postgresql://shoebox@127.0.0.1:5432/db");
  EXPECT_EQ(a.env, std::vector<std::string>{"PGPASSWORD=p@ss"});
  PgConn b = SplitDatabasePassword("host=h password='a b' dbname=x");
  EXPECT_EQ(b.url, "host=h dbname=x");
  EXPECT_EQ(b.env, std::vector<std::string>{"PGPASSWORD=a b"});
  PgConn c = SplitDatabasePassword("postgresql://shoebox@127.0.0.1/db");
  EXPECT_EQ(c.url, "postgresql://shoebox@127.0.0.1/db");
  EXPECT_TRUE(c.env.empty());
  auto r = RunProcess({"sh", "-c", "echo $PGPASSWORD"}, {}, a.env);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "p@ss\n");
}

TEST(Subprocess, FeedsStdinAndCapturesOutputAndExitCode) {
  std::string big(1 << 20, 'x');
  auto r = RunProcess({"cat"}, big);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, big);
  auto f = RunProcess({"sh", "-c", "echo oops >&2; exit 3"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->exit_code, 3);
  EXPECT_EQ(DescribeFailure(*f), "exit code 3: oops");
  auto early = RunProcess({"true"}, big);  // exits without reading stdin
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_EQ(early->exit_code, 0);
  EXPECT_FALSE(RunProcess({"/nonexistent/program"}).ok());
}

}  // namespace
}  // namespace shoebox::snapshot
