// `shoebox import takeout` end to end (issue 21): a Google Takeout export
// generated here (real JPEGs with EXIF dates from ImageMagick and exiftool,
// sidecars whose photoTakenTime differs from EXIF, a name cut at 47
// characters, the "(1)" moved before .json, an album folder holding a photo
// also in "Photos from 2019", an -edited variant, a multi-chunk file),
// split into two .zip parts with photos and sidecars in different parts,
// and the same export as one .tgz. The real CLI imports it into an
// in-process coordinator on a private PostgreSQL; a worker delivers it to
// a local destination, byte-identical.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "tests/support/cli_fixture.h"

namespace shoebox {
namespace {

namespace fs = std::filesystem;
using testsupport::CliRun;
using testsupport::ReadWholeFile;
using testsupport::ShellQuote;

constexpr char kLong[] = "IMG_20190704_183001_a_very_long_title_from_the_phone.jpg";
constexpr char kYear[] = "Takeout/Google Photos/Photos from 2019";
constexpr char kAlbum[] = "Takeout/Google Photos/Summer trip";

class ImportTakeoutTest : public testsupport::CliFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CliFixture::SetUp());
    src_ = Path("src");
    ASSERT_NO_FATAL_FAILURE(Generate());
  }

  void Sh(const std::string& script) {
    const std::string cmd =
        absl::StrCat("bash -c ",
                     ShellQuote(absl::StrCat("set -e; source ", ShellQuote(SHOEBOX_MEDIA_SH),
                                             "; cd ", ShellQuote(src_), "; ", script)),
                     " >", ShellQuote(Path("sh.log")), " 2>&1");
    const int st = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << script << "\n"
                                                       << ReadWholeFile(Path("sh.log"));
  }

  static std::string Taken(int64_t s) {
    return absl::StrCat(R"({"title": "x", "photoTakenTime": {"timestamp": ")", s,
                        R"(", "formatted": "..."}})");
  }

  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(src_ + "/" + rel, std::ios::binary) << text;
  }

  void Generate() {
    fs::create_directories(src_ + "/" + kYear);
    fs::create_directories(src_ + "/" + kAlbum);
    const std::string y = ShellQuote(kYear), a = ShellQuote(kAlbum);
    // EXIF dates in 2015-2017; the sidecars say 2019.
    ASSERT_NO_FATAL_FAILURE(
        Sh(absl::StrCat("sb_gen_jpeg ", y, "/IMG_0001.jpg 1 '2015:01:01 10:00:00' 320x240; ", "cp ",
                        y, "/IMG_0001.jpg ", a, "/IMG_0001.jpg; ", "sb_gen_jpeg ", y,
                        "/IMG_0001-edited.jpg 2 '2015:01:01 10:00:00' 320x240; ", "sb_gen_jpeg ", y,
                        "/", kLong, " 3 '2016:02:02 10:00:00' 320x240; ", "sb_gen_jpeg ", y,
                        "/'IMG_0002(1).jpg' 4 '2017:03:03 10:00:00' 320x240; ", "sb_gen_random ", y,
                        "/VID_0003.mp4 3145728")));
    Write(std::string(kYear) + "/IMG_0001.jpg.json", Taken(1562265001));
    Write(std::string(kYear) + "/" + std::string(kLong).substr(0, 47) + ".json", Taken(1563000000));
    Write(std::string(kYear) + "/IMG_0002.jpg(1).json", Taken(1564000000));
    Write(std::string(kYear) + "/VID_0003.mp4.supplemental-metadata.json", Taken(1565000000));
    Write(std::string(kYear) + "/metadata.json", R"({"title": "Photos from 2019"})");
    Write(std::string(kAlbum) + "/metadata.json", R"({"title": "Summer trip"})");
    Write(std::string(kAlbum) + "/IMG_0001.jpg.supplemental-metadata.json", Taken(1562265001));
    // Part 1: the year folder's media and the album's metadata; part 2: the
    // year folder's sidecars and the album's photo with its sidecar.
    ASSERT_NO_FATAL_FAILURE(Sh(absl::StrCat(
        "zip -q -X ../takeout-20240101T000000Z-001.zip ", y, "/*.jpg ", y, "/*.mp4 ", a,
        "/metadata.json; ", "zip -q -X ../takeout-20240101T000000Z-002.zip ", y, "/*.json ", a,
        "/IMG_0001.jpg ", a, "/IMG_0001.jpg.supplemental-metadata.json; ",
        "tar czf ../takeout-20240101T000000Z-001.tgz Takeout")));
  }

  std::vector<std::string> Parts() const {
    return {"import", "takeout", Path("takeout-20240101T000000Z-001.zip"),
            Path("takeout-20240101T000000Z-002.zip")};
  }

  // path -> mtime_ns of the takeout device's current versions.
  std::map<std::string, int64_t> Versions() {
    auto admin = v1::AdminService::NewStub(channel());
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-shoebox-admin", "admin");  // --insecure-dev identity
    v1::ListVersionsRequest req;
    req.set_device("takeout");
    v1::ListVersionsResponse resp;
    grpc::Status s = admin->ListVersions(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::map<std::string, int64_t> out;
    for (const auto& v : resp.versions()) out[v.path()] = v.mtime_ns();
    return out;
  }

  std::string Sql(const std::string& q) {
    auto r = pg()->Query(q, db_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : "";
  }

  // The export's items with their sidecars' dates.
  static std::map<std::string, int64_t> Expected() {
    const std::string p = "Google Photos/Photos from 2019/";
    return {
        {p + "IMG_0001.jpg", 1562265001ll * 1000000000},
        {p + "IMG_0001-edited.jpg", 1562265001ll * 1000000000},  // the original's sidecar
        {p + kLong, 1563000000ll * 1000000000},                  // truncated sidecar
        {p + "IMG_0002(1).jpg", 1564000000ll * 1000000000},      // "(1)" before .json
        {p + "VID_0003.mp4", 1565000000ll * 1000000000},         // supplemental-metadata
    };
  }

  std::string src_;
};

TEST_F(ImportTakeoutTest, SplitArchiveImportsDatesAlbumsOnceAndRerunAddsNothing) {
  CliRun r = Cli(Parts());
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("imported 5 items into device 'takeout': 5 new, 0 already imported"),
            std::string::npos)
      << r.out;

  const std::string p = "Google Photos/Photos from 2019/";
  EXPECT_EQ(Versions(), Expected());
  // The album photo is the year folder's photo: one version, in the album.
  EXPECT_EQ(Sql("SELECT convert_from(f.path, 'UTF8') || '|' || convert_from(a.album, 'UTF8') "
                "FROM version_albums a JOIN file_versions v ON v.id = a.version_id "
                "JOIN files f ON f.id = v.file_id"),
            p + "IMG_0001.jpg|Summer trip\n");
  EXPECT_EQ(Sql("SELECT count(*) FROM version_capture"), "5\n");

  CliRun again = Cli(Parts(), "", "again");
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("0 new, 5 already imported"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("0 chunks written"), std::string::npos) << again.out;

  // The same export as one .tgz: the same items.
  CliRun tgz = Cli({"import", "takeout", Path("takeout-20240101T000000Z-001.tgz")}, "", "tgz");
  ASSERT_EQ(tgz.code, 0) << tgz.out << tgz.err;
  EXPECT_NE(tgz.out.find("0 new, 5 already imported"), std::string::npos) << tgz.out;
  EXPECT_EQ(Versions().size(), 5u);
  EXPECT_EQ(Sql("SELECT count(*) FROM file_versions"), "5\n");
}

TEST_F(ImportTakeoutTest, DeliveryToALocalDestinationIsByteIdentical) {
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  CliRun r = Cli({"import", "takeout", Path("takeout-20240101T000000Z-001.tgz"), "--device",
                  "gphotos-export"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::string nas = Path("nas");
  fs::create_directories(nas);
  CliRun add = Cli({"dest", "add", "nas", "--kind", "local", "--set", "root=" + nas}, "", "add");
  ASSERT_EQ(add.code, 0) << add.out << add.err;
  CliRun bind = Cli({"bind", "--device", "gphotos-export", "--dest", "nas"}, "", "bind");
  ASSERT_EQ(bind.code, 0) << bind.out << bind.err;

  std::map<std::string, std::string> delivered;  // basename -> path
  for (int i = 0; i < 120 && delivered.size() < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    delivered.clear();
    for (const auto& e : fs::recursive_directory_iterator(nas)) {
      if (!e.is_regular_file() || e.path().string().find("/.shoebox") != std::string::npos) {
        continue;
      }
      if (e.path().filename().string().find(".tmp") != std::string::npos) continue;
      delivered[e.path().filename().string()] = e.path().string();
    }
  }
  ASSERT_EQ(delivered.size(), 5u);
  for (const auto& [name, path] : delivered) {
    const std::string original = ReadWholeFile(src_ + "/" + kYear + "/" + name);
    ASSERT_FALSE(original.empty()) << name;
    EXPECT_EQ(ReadWholeFile(path), original) << name;
  }
}

TEST_F(ImportTakeoutTest, DamagedArchiveIsNamedAndNothingIsImported) {
  std::ofstream(Path("broken.zip")) << "PK\x03\x04 this is not a whole zip file";
  CliRun r = Cli({"import", "takeout", Path("broken.zip")});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("broken.zip"), std::string::npos) << r.err;
  // The archive is read before anything is sent: no device, no version.
  EXPECT_EQ(Sql("SELECT count(*) FROM devices WHERE name = 'takeout'"), "0\n");
  EXPECT_EQ(Sql("SELECT count(*) FROM file_versions"), "0\n");
  CliRun usage = Cli({"import", "takeout"}, "", "usage");
  EXPECT_EQ(usage.code, 2) << usage.err;
}

// `--watch DIR`: an export is imported once its archives settled, all its
// parts together; a part added later makes the whole export be imported
// again (its sidecars reach the photos of the first part); a damaged archive
// is named and retried, the others go on; nothing is imported twice.
TEST_F(ImportTakeoutTest, WatchedFolderImportsSettledExportsAndAPartAddedLater) {
  const std::string inbox = Path("inbox");
  fs::create_directories(inbox);
  const std::string part1 = "takeout-20240101T000000Z-001.zip";
  const std::string part2 = "takeout-20240101T000000Z-002.zip";
  fs::copy_file(Path(part1), inbox + "/" + part1);
  auto watch = [&](const char* settle, const char* name) {
    return Cli({"import", "takeout", "--watch", inbox, "--once", "--settle", settle}, "", name);
  };
  // Just written: not settled, nothing imported.
  CliRun wait = watch("3600", "wait");
  ASSERT_EQ(wait.code, 0) << wait.out << wait.err;
  EXPECT_NE(wait.err.find("still being written"), std::string::npos) << wait.err;
  EXPECT_EQ(Sql("SELECT count(*) FROM file_versions"), "0\n");

  // Settled, part 1 alone: its media without part 2's sidecars.
  CliRun first = watch("0", "first");
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("imported 5 items"), std::string::npos) << first.out;
  EXPECT_NE(Versions(), Expected());

  // Nothing changed: nothing is imported.
  CliRun same = watch("0", "same");
  ASSERT_EQ(same.code, 0) << same.out << same.err;
  EXPECT_EQ(same.err.find("importing"), std::string::npos) << same.err;
  EXPECT_EQ(same.out, "");

  // Part 2 arrives, and a damaged archive of another export.
  fs::copy_file(Path(part2), inbox + "/" + part2);
  std::ofstream(inbox + "/broken-001.zip") << "PK\x03\x04 not a whole zip file";
  CliRun second = watch("0", "second");
  EXPECT_EQ(second.code, 1) << second.out << second.err;  // the broken one
  EXPECT_NE(second.err.find("broken-001.zip"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("tried again"), std::string::npos) << second.err;
  EXPECT_NE(second.out.find("imported 5 items"), std::string::npos) << second.out;
  // The current versions carry the sidecars' dates now; the album is right.
  EXPECT_EQ(Versions(), Expected());
  EXPECT_EQ(Sql("SELECT DISTINCT convert_from(a.album, 'UTF8') FROM version_albums a"),
            "Summer trip\n");
  const std::string state = ReadWholeFile(inbox + "/.shoebox-takeout.json");
  EXPECT_NE(state.find(part2), std::string::npos) << state;
  EXPECT_EQ(state.find("broken"), std::string::npos) << state;

  // The broken archive is removed: the next pass imports nothing again.
  fs::remove(inbox + "/broken-001.zip");
  const std::string before = Sql("SELECT count(*) FROM file_versions");
  CliRun third = watch("0", "third");
  ASSERT_EQ(third.code, 0) << third.out << third.err;
  EXPECT_EQ(third.out, "");
  EXPECT_EQ(Sql("SELECT count(*) FROM file_versions"), before);
}

}  // namespace
}  // namespace shoebox
