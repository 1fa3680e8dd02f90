// Capture dates from real images: a JPEG made with ImageMagick and dated with
// exiftool (TESTING.md, "Real media for tests").
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/servers.h"
#include "workers/placement.h"

namespace shoebox::worker {
namespace {

std::string ReadAll(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ExifCaptureDate, DateTimeOriginalOfARealJpegDrivesTheDateLayout) {
  auto dir = testsupport::TempDir::Make("exif");
  ASSERT_TRUE(dir.ok());
  const std::string jpg = (*dir)->path() + "/photo.jpg";
  ASSERT_TRUE(
      testsupport::RunCommand({"convert-im6.q16", "-size", "64x48", "xc:skyblue", jpg}).ok());
  ASSERT_TRUE(testsupport::RunCommand({"exiftool", "-q", "-overwrite_original",
                                       "-DateTimeOriginal=2019:12:31 23:59:58", jpg})
                  .ok());
  auto d = ExifCaptureDate(ReadAll(jpg));
  ASSERT_TRUE(d.has_value()) << "no EXIF date read from " << jpg;
  EXPECT_EQ(d->year, 2019);
  EXPECT_EQ(d->month, 12);
  EXPECT_EQ(d->day, 31);
  PlacementInput in;
  in.device = "cam";
  in.folder = "/DCIM";
  in.path = "photo.jpg";
  in.mtime_ns = 1720000000ll * 1000000000ll;  // 2024-07: must lose against EXIF
  in.exif_date = d;
  EXPECT_EQ(*ExpandLayout("{year}/{month}/{name}", in), "2019/12/photo.jpg");
}

TEST(ExifCaptureDate, JpegWithoutExifHasNoDate) {
  auto dir = testsupport::TempDir::Make("exif");
  ASSERT_TRUE(dir.ok());
  const std::string jpg = (*dir)->path() + "/plain.jpg";
  ASSERT_TRUE(
      testsupport::RunCommand({"convert-im6.q16", "-size", "16x16", "xc:red", "-strip", jpg}).ok());
  EXPECT_FALSE(ExifCaptureDate(ReadAll(jpg)).has_value());
}

}  // namespace
}  // namespace shoebox::worker
