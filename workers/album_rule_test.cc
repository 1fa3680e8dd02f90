// The album rule (issue 20): "folder", "none" and templates, awkward folder
// names kept byte for byte, the capture date, keywords, the settings as a
// destination stores them, and the coordinator's check of the `albums`
// value (common/destination_kinds.h) agreeing with what the worker expands.
#include "workers/album_rule.h"

#include <gtest/gtest.h>

#include "common/destination_kinds.h"

namespace shoebox::worker {
namespace {

PlacementInput In(std::string path, std::string folder = "/storage/DCIM/Camera",
                  int64_t mtime_s = 1720000000 /* 2024-07-03 09:46:40 UTC */) {
  PlacementInput in;
  in.device = "alice-phone";
  in.folder = std::move(folder);
  in.path = std::move(path);
  in.mtime_ns = mtime_s * 1000000000ll;
  return in;
}

std::string Album(const std::string& rule, const PlacementInput& in) {
  absl::StatusOr<AlbumRule> r = AlbumRule::Parse(rule);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->AlbumFor(in) : "<refused>";
}

TEST(AlbumRule, FolderIsThePathUnderTheRootWithSpaces) {
  EXPECT_EQ(Album("folder", In("Camera/2023/IMG_1.jpg", "/home/ana/Pictures")), "Camera 2023");
  EXPECT_EQ(Album("folder", In("Holiday/IMG_1.jpg")), "Holiday");
  // A file at the top of the root: the root's name.
  EXPECT_EQ(Album("folder", In("IMG_1.jpg")), "Camera");
  EXPECT_EQ(Album("folder", In("IMG_1.jpg", "/storage/DCIM/Camera/")), "Camera");
  EXPECT_EQ(Album("folder", In("IMG_1.jpg", "/")), "root");
}

TEST(AlbumRule, NoneGivesNoAlbum) {
  EXPECT_EQ(Album("none", In("Camera/2023/IMG_1.jpg")), "");
  EXPECT_EQ(Album("none", In("IMG_1.jpg")), "");
}

TEST(AlbumRule, TemplatesUseTheLayoutTokens) {
  const PlacementInput in = In("Trips/Rome/IMG_1.jpg");
  EXPECT_EQ(Album("{folder}", in), "Camera");
  EXPECT_EQ(Album("{dir}", in), "Trips Rome");
  EXPECT_EQ(Album("{year}-{month}", in), "2024-07");
  EXPECT_EQ(Album("{device} {year}", in), "alice-phone 2024");
  EXPECT_EQ(Album("Phone {folder}/{dir}", in), "Phone Camera Trips Rome");
  EXPECT_EQ(Album("Everything", in), "Everything");  // one album for all
}

TEST(AlbumRule, TemplatesPreferTheExifDate) {
  PlacementInput in = In("IMG_1.jpg");
  in.exif_date = CaptureDate{2019, 12, 31, 23, 59, 58};
  EXPECT_EQ(Album("{year}/{month}", in), "2019 12");
  absl::StatusOr<AlbumRule> r = AlbumRule::Parse("{year}");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->NeedsDate());
  EXPECT_FALSE(AlbumRule::Parse("{dir}")->NeedsDate());
  EXPECT_FALSE(AlbumRule::Parse("folder")->NeedsDate());
}

TEST(AlbumRule, ResultIsTrimmedAndEmptyMeansNoAlbum) {
  // {dir} is empty at the top of the root: nothing is left.
  EXPECT_EQ(Album("{dir}", In("IMG_1.jpg")), "");
  EXPECT_EQ(Album("  {dir} / ", In("IMG_1.jpg")), "");
  EXPECT_EQ(Album("{folder}/{dir}", In("IMG_1.jpg")), "Camera");
  // Runs of '/' become one space; a device name with '/' too.
  PlacementInput in = In("a//b/IMG_1.jpg");
  in.device = "lab/scanner";
  EXPECT_EQ(Album("{dir}", in), "a b");
  EXPECT_EQ(Album("{device}", in), "lab scanner");
}

TEST(AlbumRule, AwkwardFolderNamesAreKeptByteForByte) {
  // Latin-1 (not UTF-8): the bytes go to the connector, which maps them.
  const std::string latin1 = "\xe9t\xe9 2023";
  EXPECT_EQ(Album("folder", In(latin1 + "/IMG_1.jpg")), latin1);
  // Emoji and NFD accents stay as they are.
  const std::string emoji = "\xf0\x9f\x8c\x8a Beach";
  EXPECT_EQ(Album("folder", In(emoji + "/IMG_1.jpg")), emoji);
  const std::string nfd = "Cafe\xcc\x81";
  EXPECT_EQ(Album("folder", In("x/" + nfd + "/IMG_1.jpg")), "x " + nfd);
  // Very long names are not cut here: a service's length limit is the
  // connector's business.
  const std::string longname(250, 'L');
  EXPECT_EQ(Album("folder", In(longname + "/" + longname + "/IMG_1.jpg")),
            longname + " " + longname);
  EXPECT_EQ(Album("folder", In(longname + "/IMG_1.jpg")).size(), 250u);
}

TEST(AlbumRule, UnknownTokensAreRefusedNamingThemAndTheAllowedOnes) {
  for (const char* bad : {"{album}", "{day}", "{path}/x", "{Folder}", "{}", "x {year"}) {
    absl::StatusOr<AlbumRule> r = AlbumRule::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
    for (const char* t : {"{folder}", "{dir}", "{year}", "{month}", "{device}"}) {
      EXPECT_NE(r.status().message().find(t), std::string_view::npos) << r.status();
    }
  }
  absl::Status st = AlbumRule::Parse("{album} {year}").status();
  EXPECT_NE(st.message().find("unknown token {album}"), std::string_view::npos) << st;
  EXPECT_NE(AlbumRule::Parse("x {year").status().message().find("unclosed"),
            std::string_view::npos);
}

TEST(AlbumRule, TheCoordinatorsCheckRefusesWhatTheWorkerRefuses) {
  // Any kind's `albums` key goes through CheckAlbumRule in CheckSettingValue
  // (what CreateDestination/UpdateDestination and the CLI call).
  const SettingSpec albums{"albums", SettingType::kString, "\"folder\"", false,
                           false,    "album rule"};
  for (const char* ok : {"folder", "none", "{folder}", "{dir}", "{year} {month}", "{device}",
                         "Phone {folder} {dir}", "Everything"}) {
    EXPECT_TRUE(CheckSettingValue("flickr", albums, nlohmann::json(ok), false).ok()) << ok;
    EXPECT_TRUE(AlbumRule::Parse(ok).ok()) << ok;
  }
  for (const char* bad : {"{album}", "{nope}", "{year", "{day}/{month}"}) {
    absl::Status st = CheckSettingValue("flickr", albums, nlohmann::json(bad), false);
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << bad;
    EXPECT_EQ(st.message().substr(0, 7), "albums:") << st;  // starts with the key
    EXPECT_FALSE(AlbumRule::Parse(bad).ok()) << bad;
  }
  // Another key of the same type is not an album rule.
  const SettingSpec folder{"folder", SettingType::kString, "\"\"", false, false, "folder"};
  EXPECT_TRUE(CheckSettingValue("dropbox", folder, nlohmann::json("{album}"), false).ok());
}

TEST(AlbumRule, EveryKindDeclaringAlbumsDefaultsToFolderAndIsChecked) {
  for (const KindSpec& k : DestinationKinds()) {
    const SettingSpec* s = FindSetting(k, "albums", false);
    if (s == nullptr) continue;
    EXPECT_STREQ(s->default_json, "\"folder\"") << k.kind;
    nlohmann::json settings = nlohmann::json::object();
    for (const SettingSpec& req : k.keys) {
      if (req.secret || !req.required) continue;
      switch (req.type) {
        case SettingType::kAbsolutePath:
          settings[req.key] = "/srv/x";
          break;
        case SettingType::kInt:
          settings[req.key] = req.min;
          break;
        case SettingType::kBool:
          settings[req.key] = false;
          break;
        case SettingType::kChoice:
          settings[req.key] =
              std::string(req.choices).substr(0, std::string(req.choices).find('|'));
          break;
        case SettingType::kStringList:
          settings[req.key] = nlohmann::json::array();
          break;
        default:
          settings[req.key] = "https://example.invalid/x";
      }
    }
    settings["albums"] = "{album}";
    absl::Status st = ValidateDestinationSettings(k.kind, settings);
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << k.kind << ": " << st;
    EXPECT_NE(st.message().find("{album}"), std::string_view::npos) << st;
    if (const SettingSpec* kw = FindSetting(k, "keywords", false)) {
      EXPECT_STREQ(kw->default_json, "false") << k.kind;
    }
  }
}

TEST(AlbumRule, CaptureDateIsExifElseMtimeInUtc) {
  PlacementInput in = In("IMG_1.jpg");
  EXPECT_EQ(CaptureDateTime(in), "2024-07-03 09:46:40");
  in.exif_date = CaptureDate{2019, 12, 31, 23, 59, 58};
  EXPECT_EQ(CaptureDateTime(in), "2019-12-31 23:59:58");
  in.exif_date = CaptureDate{2019, 1, 2};  // a date without a time
  EXPECT_EQ(CaptureDateTime(in), "2019-01-02 00:00:00");
}

TEST(AlbumRule, KeywordsAreTheFolderNamesOnce) {
  EXPECT_EQ(FolderKeywords(In("Camera/2023/IMG_1.jpg")),
            (std::vector<std::string>{"Camera", "2023"}));
  EXPECT_EQ(FolderKeywords(In("a/b/a/IMG_1.jpg")), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(FolderKeywords(In("IMG_1.jpg")), (std::vector<std::string>{"Camera"}));
}

TEST(AlbumRule, SettingsAsStoredWithDefaults) {
  absl::StatusOr<PhotoSettings> d = ReadPhotoSettings(nlohmann::json::object(), "f");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rule.mode(), AlbumRule::Mode::kFolder);
  EXPECT_FALSE(d->keywords);
  absl::StatusOr<PhotoSettings> s =
      ReadPhotoSettings(nlohmann::json{{"albums", "{year}"}, {"keywords", true}}, "f");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->rule.mode(), AlbumRule::Mode::kTemplate);
  EXPECT_TRUE(s->keywords);
  // Text as older CLIs stored it.
  EXPECT_TRUE(ReadPhotoSettings(nlohmann::json{{"keywords", "yes"}}, "f")->keywords);
  EXPECT_EQ(ReadPhotoSettings(nlohmann::json{{"albums", "none"}}, "f")->rule.mode(),
            AlbumRule::Mode::kNone);
  // Bad stored values name the destination and the key.
  absl::Status bad = ReadPhotoSettings(nlohmann::json{{"albums", "{x}"}}, "photos").status();
  EXPECT_TRUE(absl::IsInvalidArgument(bad));
  EXPECT_NE(bad.message().find("destination 'photos': albums:"), std::string_view::npos) << bad;
  EXPECT_TRUE(
      absl::IsInvalidArgument(ReadPhotoSettings(nlohmann::json{{"albums", 3}}, "photos").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ReadPhotoSettings(nlohmann::json{{"keywords", "maybe"}}, "photos").status()));
}

}  // namespace
}  // namespace shoebox::worker
