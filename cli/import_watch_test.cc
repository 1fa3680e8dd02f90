#include "cli/import_watch.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace shoebox::cli {
namespace {

namespace fs = std::filesystem;

TEST(TakeoutWatch, PartsOfOneExportShareAGroup) {
  EXPECT_EQ(TakeoutGroup("takeout-20240101T000000Z-001.zip"), "takeout-20240101T000000Z");
  EXPECT_EQ(TakeoutGroup("takeout-20240101T000000Z-012.tgz"), "takeout-20240101T000000Z");
  EXPECT_EQ(TakeoutGroup("takeout-20240101T000000Z.tar.gz"), "takeout-20240101T000000Z");
  EXPECT_EQ(TakeoutGroup("photos-2.zip"), "photos-2");      // not a 3-digit part number
  EXPECT_EQ(TakeoutGroup("photos-abc.zip"), "photos-abc");  // not a number
}

void Touch(const std::string& path, int64_t mtime_s) {
  std::ofstream(path) << "x";
  struct timeval tv[2] = {{mtime_s, 0}, {mtime_s, 0}};
  ASSERT_EQ(utimes(path.c_str(), tv), 0);
}

TEST(TakeoutWatch, ScanGroupsArchivesAndTellsWhichSettled) {
  const fs::path dir = fs::temp_directory_path() / ("takeout-watch-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  const int64_t now = 1'700'000'000;
  Touch(dir / "takeout-A-001.zip", now - 100);
  Touch(dir / "takeout-A-002.zip", now - 5);  // still arriving
  Touch(dir / "takeout-B-001.tgz", now - 100);
  Touch(dir / "notes.txt", now - 100);                  // not an archive
  Touch(dir / ".takeout-C-001.zip", now - 100);         // hidden: a download in progress
  Touch(dir / "sub" / "takeout-D-001.zip", now - 100);  // not directly in the folder
  auto groups = ScanTakeoutFolder(dir.string(), now * 1000000000, int64_t{60} * 1000000000);
  ASSERT_TRUE(groups.ok()) << groups.status();
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_EQ((*groups)[0].name, "takeout-A");
  EXPECT_EQ((*groups)[0].parts.size(), 2u);
  EXPECT_FALSE((*groups)[0].settled);
  EXPECT_EQ((*groups)[1].name, "takeout-B");
  EXPECT_TRUE((*groups)[1].settled);
  EXPECT_EQ((*groups)[1].parts[0].size, 1u);

  auto missing = ScanTakeoutFolder((dir / "nope").string(), 0, 0);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("nope"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace shoebox::cli
