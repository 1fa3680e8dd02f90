// The Takeout rules (common/takeout/takeout.h): sidecar matching (exact,
// supplemental-metadata, the "(1)" moved before .json, names cut at 46/47
// characters, "-edited" variants, ambiguity), year vs album folders, and
// the plan (one item per content with every album).
#include "common/takeout/takeout.h"

#include <gtest/gtest.h>

namespace shoebox::takeout {
namespace {

std::string Sha(char c) { return std::string(32, c); }

TEST(TakeoutSidecar, LegacyAndSupplementalNamesMatchExactly) {
  EXPECT_EQ(MatchSidecar("IMG_1.jpg", {"IMG_1.jpg.json", "other.jpg.json"}), "IMG_1.jpg.json");
  EXPECT_EQ(MatchSidecar("IMG_1.jpg", {"IMG_1.jpg.supplemental-metadata.json"}),
            "IMG_1.jpg.supplemental-metadata.json");
  // Both present: the newer form first.
  EXPECT_EQ(MatchSidecar("IMG_1.jpg", {"IMG_1.jpg.json", "IMG_1.jpg.supplemental-metadata.json"}),
            "IMG_1.jpg.supplemental-metadata.json");
  EXPECT_EQ(MatchSidecar("IMG_1.jpg", {"IMG_2.jpg.json"}), std::nullopt);
}

TEST(TakeoutSidecar, DuplicateSuffixMovesBeforeJson) {
  const std::vector<std::string> jsons = {"IMG.jpg.json", "IMG.jpg(1).json"};
  EXPECT_EQ(MatchSidecar("IMG(1).jpg", jsons), "IMG.jpg(1).json");
  EXPECT_EQ(MatchSidecar("IMG.jpg", jsons), "IMG.jpg.json");
  EXPECT_EQ(MatchSidecar("IMG(1).jpg", {"IMG.jpg.supplemental-metadata(1).json"}),
            "IMG.jpg.supplemental-metadata(1).json");
  // The "(1)" is not dropped: IMG(2).jpg has no sidecar here.
  EXPECT_EQ(MatchSidecar("IMG(2).jpg", jsons), std::nullopt);
}

TEST(TakeoutSidecar, TruncatedAt47CharactersMatchesTheLongName) {
  const std::string name = "IMG_20190704_183001_a_very_long_title_from_the_phone.jpg";  // 56
  const std::string cut = name.substr(0, 47) + ".json";
  EXPECT_EQ(MatchSidecar(name, {cut}), cut);
  const std::string cut46 = (name + ".supplemental-metadata").substr(0, 46) + ".json";
  EXPECT_EQ(MatchSidecar(name, {cut46}), cut46);
  // A short stem that is merely a prefix is not a truncation.
  EXPECT_EQ(MatchSidecar(name, {"IMG_2019.json"}), std::nullopt);
}

TEST(TakeoutSidecar, TruncatedSidecarTwoNamesCouldClaimBelongsToNone) {
  const std::string a = "IMG_20190704_183001_a_very_long_title_from_the_phone_A.jpg";
  const std::string b = "IMG_20190704_183001_a_very_long_title_from_the_phone_B.jpg";
  const std::string cut = a.substr(0, 47) + ".json";
  EXPECT_EQ(MatchSidecar(a, {cut}, {a, b}), std::nullopt);
  EXPECT_EQ(MatchSidecar(a, {cut}, {a}), cut);
}

TEST(TakeoutSidecar, EditedVariantUsesTheOriginalsSidecar) {
  EXPECT_EQ(OriginalOfEdited("IMG_1-edited.jpg"), "IMG_1.jpg");
  EXPECT_EQ(OriginalOfEdited("IMG_1-edited(1).jpg"), "IMG_1(1).jpg");
  EXPECT_EQ(OriginalOfEdited("IMG_1.jpg"), std::nullopt);
  EXPECT_EQ(MatchSidecar("IMG_1-edited.jpg", {"IMG_1.jpg.json"}), "IMG_1.jpg.json");
}

TEST(TakeoutFolders, YearFoldersAreNotAlbums) {
  EXPECT_TRUE(IsYearFolder("Photos from 2019"));
  EXPECT_FALSE(IsYearFolder("Photos from 19"));
  EXPECT_FALSE(IsYearFolder("Photos from 2019 trip"));
  EXPECT_FALSE(IsYearFolder("Summer"));
  EXPECT_EQ(AlbumTitle(R"({"title": "Summer 2019", "description": ""})"), "Summer 2019");
  EXPECT_EQ(AlbumTitle(R"({"title": ""})"), std::nullopt);
  EXPECT_EQ(AlbumTitle("not json"), std::nullopt);
}

TEST(TakeoutSidecar, PhotoTakenTimeAsStringOrNumber) {
  EXPECT_EQ(PhotoTakenTime(R"({"photoTakenTime": {"timestamp": "1562265001"}})"), 1562265001);
  EXPECT_EQ(PhotoTakenTime(R"({"photoTakenTime": {"timestamp": 1562265001}})"), 1562265001);
  EXPECT_EQ(PhotoTakenTime(R"({"creationTime": {"timestamp": "1"}})"), std::nullopt);
  EXPECT_EQ(PhotoTakenTime(R"({"photoTakenTime": {"timestamp": "12x"}})"), std::nullopt);
}

TEST(TakeoutPlan, SamePhotoInYearAndAlbumFolderIsOneItemWithTheAlbum) {
  const std::string y = "Takeout/Google Photos/Photos from 2019/";
  const std::string s = "Takeout/Google Photos/Summer/";
  std::vector<Entry> entries = {
      {0, s + "IMG_1.jpg", 10, 5000000000, Sha('a')},
      {1, y + "IMG_1.jpg", 10, 5000000000, Sha('a')},
      {1, y + "IMG_1-edited.jpg", 12, 5000000000, Sha('b')},
      {0, y + "IMG_2.jpg", 11, 7000000000, Sha('c')},
  };
  std::map<std::string, std::string> jsons = {
      {y + "IMG_1.jpg.json", R"({"photoTakenTime": {"timestamp": "1562265001"}})"},
      {s + "IMG_1.jpg.json", R"({"photoTakenTime": {"timestamp": "1562265001"}})"},
      {s + "metadata.json", R"({"title": "Summer trip"})"},
      {y + "metadata.json", R"({"title": "Photos from 2019"})"},
  };
  Plan p = MakePlan(entries, jsons);
  ASSERT_EQ(p.items.size(), 3u);
  EXPECT_EQ(p.items[0].path, "Google Photos/Photos from 2019/IMG_1-edited.jpg");
  EXPECT_TRUE(p.items[0].albums.empty());
  EXPECT_EQ(p.items[0].capture_ns, 1562265001ll * 1000000000);
  EXPECT_EQ(p.items[1].path, "Google Photos/Photos from 2019/IMG_1.jpg");
  EXPECT_EQ(p.items[1].entry, 1u);
  EXPECT_EQ(p.items[1].albums, std::vector<std::string>{"Summer trip"});
  EXPECT_EQ(p.items[1].copies.size(), 2u);
  EXPECT_EQ(p.items[1].mtime_ns, 1562265001ll * 1000000000);
  // No sidecar: the archive's time in whole seconds, and a note.
  EXPECT_EQ(p.items[2].path, "Google Photos/Photos from 2019/IMG_2.jpg");
  EXPECT_EQ(p.items[2].capture_ns, 0);
  EXPECT_EQ(p.items[2].mtime_ns, 7000000000);
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_NE(p.notes[0].find("IMG_2.jpg"), std::string::npos);
}

TEST(TakeoutPlan, AlbumFolderWithoutMetadataIsNoAlbum) {
  std::vector<Entry> entries = {{0, "Takeout/Google Photos/Trash/x.jpg", 1, 0, Sha('x')}};
  Plan p = MakePlan(entries, {});
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_TRUE(p.items[0].albums.empty());
}

}  // namespace
}  // namespace shoebox::takeout
