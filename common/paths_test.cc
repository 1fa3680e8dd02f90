#include "common/paths.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shoebox {
namespace {

TEST(PathsTest, AcceptsOrdinaryRelativePaths) {
  for (const std::string& p :
       std::vector<std::string>{"a", "a/b/c.jpg", "Photos/été/IMG 0001.HEIC", "x/..y/z.",
                                ".hidden/f", std::string("raw\xff/bytes"), std::string(255, 'n')}) {
    EXPECT_TRUE(ValidateRelativePath(p, "file.path").ok()) << p;
  }
}

TEST(PathsTest, RejectsPathsThatEscapeOrAreMalformed) {
  for (const std::string& p : std::vector<std::string>{
           "", "/abs", "a//b", "a/", "./a", "a/./b", "../a", "a/../b", "a/..",
           std::string("nul\0byte", 8), std::string(256, 'n'), std::string(4097, 'a')}) {
    absl::Status st = ValidateRelativePath(p, "file.path");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << p;
    EXPECT_NE(st.message().find("file.path"), absl::string_view::npos) << st;
  }
}

TEST(PathsTest, ErrorShowsThePathPrintably) {
  absl::Status st = ValidateRelativePath(std::string("a/\xff/../b"), "report.path");
  EXPECT_NE(st.message().find("a/\\xff/../b"), absl::string_view::npos) << st;
}

TEST(PathsTest, AbsolutePaths) {
  EXPECT_TRUE(ValidateAbsolutePath("/home/me/Photos", "folder.root").ok());
  EXPECT_TRUE(ValidateAbsolutePath("/", "folder.root").ok());
  EXPECT_FALSE(ValidateAbsolutePath("home", "folder.root").ok());
  EXPECT_FALSE(ValidateAbsolutePath("", "folder.root").ok());
  EXPECT_FALSE(ValidateAbsolutePath(std::string("/a\0b", 4), "folder.root").ok());
  EXPECT_FALSE(ValidateAbsolutePath("/" + std::string(4096, 'a'), "folder.root").ok());
}

}  // namespace
}  // namespace shoebox
