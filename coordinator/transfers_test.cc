// The listing comparison of transfers (issue 21, coordinator/transfers.h):
// what a later run of a list job fetches, with no database.
#include <gtest/gtest.h>

#include "coordinator/transfers.h"

namespace shoebox::coordinator {
namespace {

ListingEntry E(const std::string& path, uint64_t size, int64_t mtime,
               const std::string& etag = "") {
  return ListingEntry{path, size, mtime, etag};
}

std::vector<std::string> Paths(const std::vector<ListingEntry>& v) {
  std::vector<std::string> out;
  for (const ListingEntry& e : v) out.push_back(e.path);
  return out;
}

TEST(DiffListing, FirstRunFetchesEverythingInPathOrder) {
  ListingDiff d = DiffListing({}, {E("b.jpg", 2, 20), E("a.jpg", 1, 10)}, 0);
  EXPECT_EQ(Paths(d.fetch), (std::vector<std::string>{"a.jpg", "b.jpg"}));
  EXPECT_EQ(Paths(d.current), (std::vector<std::string>{"a.jpg", "b.jpg"}));
  EXPECT_EQ(d.unchanged, 0u);
  EXPECT_EQ(d.gone, 0u);
}

TEST(DiffListing, UnchangedItemsAreNotFetchedAgain) {
  const std::vector<ListingEntry> before = {E("a.jpg", 1, 10, "md5:aa"), E("b.jpg", 2, 20)};
  ListingDiff d = DiffListing(before, before, 0);
  EXPECT_TRUE(d.fetch.empty());
  EXPECT_EQ(d.unchanged, 2u);
  EXPECT_EQ(d.current, before);
}

TEST(DiffListing, NewAndChangedSizeMtimeOrEtagAreFetched) {
  const std::vector<ListingEntry> before = {E("same.jpg", 1, 10), E("size.jpg", 1, 10),
                                            E("mtime.jpg", 1, 10), E("etag.jpg", 1, 10, "md5:a")};
  ListingDiff d = DiffListing(before,
                              {E("same.jpg", 1, 10), E("size.jpg", 2, 10), E("mtime.jpg", 1, 11),
                               E("etag.jpg", 1, 10, "md5:b"), E("new.jpg", 5, 50)},
                              0);
  EXPECT_EQ(Paths(d.fetch),
            (std::vector<std::string>{"etag.jpg", "mtime.jpg", "new.jpg", "size.jpg"}));
  EXPECT_EQ(d.unchanged, 1u);
  EXPECT_EQ(d.current.size(), 5u);
}

TEST(DiffListing, AnEtagOnOneSideOnlyIsNoChange) {
  ListingDiff d = DiffListing({E("a.jpg", 1, 10)}, {E("a.jpg", 1, 10, "md5:x")}, 0);
  EXPECT_TRUE(d.fetch.empty());
  EXPECT_EQ(d.current[0].etag, "md5:x");  // saved for the next comparison
}

TEST(DiffListing, GoneItemsAreCountedAndDropped) {
  ListingDiff d = DiffListing({E("a.jpg", 1, 10), E("b.jpg", 1, 10)}, {E("a.jpg", 1, 10)}, 0);
  EXPECT_EQ(d.gone, 1u);
  EXPECT_EQ(Paths(d.current), (std::vector<std::string>{"a.jpg"}));
}

TEST(DiffListing, SinceLeavesOlderItemsOutButKeepsUnknownMtimes) {
  ListingDiff d =
      DiffListing({}, {E("old.jpg", 1, 99), E("edge.jpg", 1, 100), E("nomtime.jpg", 1, 0)}, 100);
  EXPECT_EQ(Paths(d.fetch), (std::vector<std::string>{"edge.jpg", "nomtime.jpg"}));
  EXPECT_EQ(d.current.size(), 2u);
}

TEST(DiffListing, ShoeboxOwnFilesAndDuplicatesAreSkipped) {
  ListingDiff d = DiffListing(
      {}, {E(".shoebox/check/probe", 1, 1), E("a.jpg", 1, 10), E("a.jpg", 1, 10), E("", 1, 1)}, 0);
  EXPECT_EQ(Paths(d.fetch), (std::vector<std::string>{"a.jpg"}));
  EXPECT_EQ(d.current.size(), 1u);
}

TEST(TransferSources, FileKindsAndPhotoServicesCanBeSources) {
  for (const char* k : {"local", "s3", "webdav", "sftp", "rclone", "dropbox", "onedrive", "gdrive",
                        "flickr", "smugmug", "gphotos"})
    EXPECT_TRUE(KindCanBeTransferSource(k)) << k;
  for (const char* k : {"nope", ""}) EXPECT_FALSE(KindCanBeTransferSource(k)) << k;
}

ListingEntry A(const std::string& path, std::vector<std::string> albums, int64_t capture = 0) {
  ListingEntry e = E(path, 0, 10, "flickr-lastupdate:1");
  e.albums = std::move(albums);
  e.capture_ns = capture;
  return e;
}

TEST(DiffListing, AlbumMembershipAloneIsAChangeAndOrderIsNot) {
  const std::vector<ListingEntry> before = {A("1.jpg", {"Sea", "Trip"}), A("2.jpg", {"Sea"}),
                                            A("3.jpg", {})};
  ListingDiff d = DiffListing(
      before, {A("1.jpg", {"Trip", "Sea", "Sea"}), A("2.jpg", {"Sea", "Hills"}), A("3.jpg", {})},
      0);
  EXPECT_EQ(Paths(d.fetch), std::vector<std::string>({"2.jpg"}));
  EXPECT_EQ(d.unchanged, 2u);
  // Saved sorted and without repeats, so the next run compares equal.
  EXPECT_EQ(d.current[0].albums, std::vector<std::string>({"Sea", "Trip"}));
  EXPECT_EQ(d.current[1].albums, std::vector<std::string>({"Hills", "Sea"}));
  // Removed from every album: a change too.
  ListingDiff gone = DiffListing(before, {A("1.jpg", {}), A("2.jpg", {"Sea"}), A("3.jpg", {})}, 0);
  EXPECT_EQ(Paths(gone.fetch), std::vector<std::string>({"1.jpg"}));
}

TEST(DiffListing, CaptureTimeIsKeptWithTheListing) {
  ListingDiff d = DiffListing({}, {A("1.jpg", {"Sea"}, 1234)}, 0);
  ASSERT_EQ(d.current.size(), 1u);
  EXPECT_EQ(d.current[0].capture_ns, 1234);
  EXPECT_EQ(d.fetch[0].capture_ns, 1234);
}

TEST(DiffListing, ChangesOnlyKeepsWhatTheyDoNotNameAndLosesNothing) {
  const std::vector<ListingEntry> before = {A("1.jpg", {"Sea"}), A("3.jpg", {}),
                                            A("5.jpg", {"Trip"})};
  ListingDiff d = DiffListing(before, {A("4.jpg", {}), A("3.jpg", {"Trip"}), A("5.jpg", {"Trip"})},
                              0, /*changes_only=*/true);
  EXPECT_EQ(Paths(d.fetch), std::vector<std::string>({"3.jpg", "4.jpg"}));
  EXPECT_EQ(Paths(d.current), std::vector<std::string>({"1.jpg", "3.jpg", "4.jpg", "5.jpg"}));
  EXPECT_EQ(d.current[1].albums, std::vector<std::string>({"Trip"}));
  EXPECT_EQ(d.gone, 0u);
  EXPECT_EQ(d.unchanged, 2u);  // 5.jpg listed unchanged, 1.jpg not listed
  // A second run with the same changes fetches nothing.
  ListingDiff again = DiffListing(d.current, {A("4.jpg", {})}, 0, true);
  EXPECT_TRUE(again.fetch.empty());
  EXPECT_EQ(again.current, d.current);
}

TEST(TransferRate, RateIsTheWindowsFetchesOverItsLengthAndEtaThePendingAtThatRate) {
  TransferRow r;
  r.state = "active";
  r.window_items = 60;
  r.window_bytes = 600000;
  r.window_s = 300;
  r.items_pending = 100;
  TransferRate x = ComputeTransferRate(r);
  EXPECT_DOUBLE_EQ(x.items_per_s, 0.2);
  EXPECT_DOUBLE_EQ(x.bytes_per_s, 2000);
  EXPECT_EQ(x.eta_s, 500);
  r.items_pending = 1;  // rounded up: never "0 s" while something is left
  EXPECT_EQ(ComputeTransferRate(r).eta_s, 5);
}

TEST(TransferRate, ShortWindowsCountAtLeastOneSecond) {
  TransferRow r;
  r.state = "active";
  r.window_items = 3;
  r.window_bytes = 30;
  r.window_s = 0.2;
  TransferRate x = ComputeTransferRate(r);
  EXPECT_DOUBLE_EQ(x.items_per_s, 3);
  EXPECT_EQ(x.eta_s, 0);  // nothing pending
}

TEST(TransferRate, EtaIsUnknownWithoutRecentFetchesOrWhenNotActive) {
  TransferRow r;
  r.state = "active";
  r.items_pending = 10;
  EXPECT_EQ(ComputeTransferRate(r).eta_s, -1);
  EXPECT_DOUBLE_EQ(ComputeTransferRate(r).items_per_s, 0);
  r.window_items = 10;
  r.window_s = 10;
  EXPECT_EQ(ComputeTransferRate(r).eta_s, 10);
  r.state = "paused";
  EXPECT_EQ(ComputeTransferRate(r).eta_s, -1);
}

}  // namespace
}  // namespace shoebox::coordinator
