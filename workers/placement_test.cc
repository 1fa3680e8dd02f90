#include "workers/placement.h"

#include <gtest/gtest.h>

namespace shoebox::worker {
namespace {

PlacementInput In(std::string path, int64_t mtime_s = 1720000000 /* 2024-07-03 */) {
  PlacementInput in;
  in.device = "alice-phone";
  in.folder = "/storage/DCIM/Camera/";
  in.path = std::move(path);
  in.mtime_ns = mtime_s * 1000000000ll;
  return in;
}

TEST(Placement, DefaultLayoutMirrorsTheDeviceTree) {
  EXPECT_EQ(*ExpandLayout("", In("2024/IMG_1.jpg")), "alice-phone/Camera/2024/IMG_1.jpg");
  EXPECT_EQ(*ExpandLayout(kDefaultLayout, In("a.jpg")), "alice-phone/Camera/a.jpg");
}

TEST(Placement, DateLayoutUsesMtimeWithoutExif) {
  EXPECT_EQ(*ExpandLayout("{year}/{month}/{name}", In("x/IMG_1.jpg")), "2024/07/IMG_1.jpg");
}

TEST(Placement, DateLayoutPrefersExifDate) {
  PlacementInput in = In("IMG_1.jpg");
  in.exif_date = CaptureDate{2019, 12, 31};
  EXPECT_EQ(*ExpandLayout("{year}/{month}/{day}/{name}", in), "2019/12/31/IMG_1.jpg");
}

TEST(Placement, AlbumIsTheFoldersNameOrTheRootsName) {
  EXPECT_EQ(AlbumFor(In("Holiday 2024/IMG_1.jpg")), "Holiday 2024");
  EXPECT_EQ(AlbumFor(In("IMG_1.jpg")), "Camera");
  EXPECT_EQ(*ExpandLayout("{album}/{name}", In("trips/Rome/IMG_1.jpg")), "Rome/IMG_1.jpg");
}

TEST(Placement, UnknownTokenAndEscapingPathsAreRefused) {
  EXPECT_EQ(ExpandLayout("{nope}/{name}", In("a.jpg")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ExpandLayout("{path}", In("../a.jpg")).status().code(),
            absl::StatusCode::kInvalidArgument);
  PlacementInput in = In("a.jpg");
  in.device = "..";
  EXPECT_EQ(ExpandLayout("{device}/{name}", in).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Placement, SlashesInDeviceNamesCannotCreateFolders) {
  PlacementInput in = In("a.jpg");
  in.device = "evil/../../etc";
  EXPECT_EQ(*ExpandLayout("{device}/{name}", in), "evil_.._.._etc/a.jpg");
}

TEST(Placement, CollisionCandidatesAreDeterministic) {
  EXPECT_EQ(CollisionCandidate("2024/07/IMG_1.jpg", 1), "2024/07/IMG_1.jpg");
  EXPECT_EQ(CollisionCandidate("2024/07/IMG_1.jpg", 2), "2024/07/IMG_1 (2).jpg");
  EXPECT_EQ(CollisionCandidate("a.b/README", 3), "a.b/README (3)");
  EXPECT_EQ(CollisionCandidate(".hidden", 2), ".hidden (2)");
}

TEST(Placement, OnlyPathLayoutsAreOneToOne) {
  EXPECT_TRUE(LayoutIsOneToOne(kDefaultLayout));
  EXPECT_FALSE(LayoutIsOneToOne("{year}/{month}/{name}"));
  EXPECT_FALSE(LayoutIsOneToOne("{album}/{name}"));
}

TEST(Placement, GarbageIsNotExif) {
  EXPECT_FALSE(ExifCaptureDate("definitely not an image, just some bytes").has_value());
}

}  // namespace
}  // namespace shoebox::worker
