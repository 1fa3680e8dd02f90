#include "agent/filter.h"

#include "gtest/gtest.h"

namespace shoebox::agent {
namespace {

TEST(GlobTest, StarDoesNotCrossSlash) {
  EXPECT_TRUE(GlobMatch("*.jpg", "a.jpg"));
  EXPECT_FALSE(GlobMatch("*.jpg", "dir/a.jpg"));
  EXPECT_TRUE(GlobMatch("**/*.jpg", "dir/sub/a.jpg"));
  EXPECT_TRUE(GlobMatch("**/*.jpg", "a.jpg"));
  EXPECT_TRUE(GlobMatch("raw/**", "raw/x/y.nef"));
  EXPECT_FALSE(GlobMatch("raw/**", "cooked/x.nef"));
}

TEST(GlobTest, MatchingIsCaseInsensitive) {
  EXPECT_TRUE(GlobMatch("*.jpg", "IMG_0001.JPG"));
  EXPECT_TRUE(GlobMatch("*.HeIc", "x.heic"));
}

TEST(GlobTest, QuestionMarkAndClasses) {
  EXPECT_TRUE(GlobMatch("IMG_????.jpg", "img_0001.jpg"));
  EXPECT_FALSE(GlobMatch("IMG_????.jpg", "img_001.jpg"));
  EXPECT_TRUE(GlobMatch("[a-c]*.png", "b1.png"));
  EXPECT_FALSE(GlobMatch("[!a-c]*.png", "b1.png"));
  EXPECT_TRUE(GlobMatch("[", "["));  // unterminated bracket is literal
}

TEST(GlobTest, NonUtf8BytesMatchStar) {
  EXPECT_TRUE(GlobMatch("*.jpg", std::string("caf\xe9\xff.jpg")));
}

TEST(PathFilterTest, DefaultsTakePhotosVideosAndSidecarsOnly) {
  PathFilter f({}, {}, false);
  for (const char* p :
       {"a.jpg", "b/c.JPEG", "x.heic", "y.HEIF", "z.png", "g.gif", "w.webp", "t.tif", "t.tiff",
        "r.dng", "r.CR2",    "r.cr3",  "r.nef",  "r.arw", "r.raf", "r.orf",  "r.rw2", "v.mp4",
        "v.MOV", "v.m4v",    "v.avi",  "v.mkv",  "v.3gp", "s.xmp", "s.AAE"}) {
    EXPECT_TRUE(f.IncludeFile(p)) << p;
  }
  for (const char* p : {"notes.txt", "a.jpg.bak", "doc.pdf", "Makefile"})
    EXPECT_FALSE(f.IncludeFile(p)) << p;
}

TEST(PathFilterTest, TemporaryFilesAreIgnoredEvenWithAllFiles) {
  PathFilter f({}, {}, true);
  EXPECT_TRUE(f.IncludeFile("notes.txt"));
  for (const char* p : {"a/IMG_1.jpg.part", "x.tmp", "~$report.docx", ".DS_Store", "d/Thumbs.db",
                        "THUMBS.DB", "._IMG_1.jpg"}) {
    EXPECT_FALSE(f.IncludeFile(p)) << p;
  }
}

TEST(PathFilterTest, ExcludesWinAndPruneDirectories) {
  PathFilter f({"*.jpg"}, {"private/**", "*_thumb.jpg"}, false);
  EXPECT_TRUE(f.IncludeFile("a/b.jpg"));
  EXPECT_FALSE(f.IncludeFile("private/b.jpg"));
  EXPECT_FALSE(f.IncludeFile("a/b_thumb.jpg"));
  EXPECT_FALSE(f.DescendDir("private"));
  EXPECT_TRUE(f.DescendDir("public"));
}

}  // namespace
}  // namespace shoebox::agent
