#include "workers/connectors/connector_conformance.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "tests/support/data_gen.h"
#include "workers/album_rule.h"

namespace shoebox::worker {
namespace {

std::string Pattern(uint64_t size, uint64_t seed) { return PatternSource(size, seed).Content(); }

std::string Hex(std::string_view raw) { return ToHex(raw); }

PutRequest Req(const std::string& path, uint64_t size, uint64_t seed) {
  return PatternRequest(path, PatternSource(size, seed));
}

// Reads an object back through Get, hashing as it streams.
absl::StatusOr<std::pair<uint64_t, std::string>> HashRemote(Connector* c, const std::string& path) {
  Sha256 h;
  uint64_t n = 0;
  absl::Status st = c->Get(path, [&](std::string_view d) {
    h.Update(d);
    n += d.size();
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return std::make_pair(n, DigestToString(h.Final()));
}

absl::StatusOr<std::string> ReadRemote(Connector* c, const std::string& path) {
  std::string out;
  absl::Status st = c->Get(path, [&](std::string_view d) {
    out.append(d);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

// The Stat check the worker uses to skip a re-delivery. `mtime_kept` is false
// for a server that keeps neither checksum nor mtime (only the size counts).
void ExpectSameContent(const RemoteObject& o, const PutRequest& r, bool mtime_kept = true) {
  EXPECT_EQ(o.size, r.size) << o.remote_path;
  if (!mtime_kept) return;
  if (!o.checksum.empty()) {
    if (o.checksum.rfind("sha256:", 0) == 0) {
      EXPECT_EQ(o.checksum, "sha256:" + Hex(r.sha256)) << o.remote_path;
    }
  } else {
    EXPECT_EQ(o.mtime_ns / 1000000000, r.mtime_ns / 1000000000)
        << o.remote_path << ": a connector without checksums must keep the mtime";
  }
}

void RoundTrip(Connector* c, const std::string& path, uint64_t size, uint64_t seed,
               bool mtime_kept = true) {
  PutRequest r = Req(path, size, seed);
  auto src = MakePatternSource(size, seed);
  uint64_t progressed = 0;
  absl::StatusOr<RemoteObject> put =
      c->Put(r, src.get(), [&](const Progress& p) { progressed = p.bytes_sent; });
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->remote_path, path);
  EXPECT_FALSE(put->ref.empty());
  absl::StatusOr<RemoteObject> st = c->Stat(path);
  ASSERT_TRUE(st.ok()) << st.status();
  ExpectSameContent(*st, r, mtime_kept);
  auto got = HashRemote(c, path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->first, size);
  EXPECT_EQ(Hex(got->second), Hex(r.sha256)) << "content of " << path << " differs";
  if (size > 0) {
    EXPECT_EQ(progressed, size) << "progress must reach the file size";
  }
}

}  // namespace

absl::StatusOr<size_t> PatternSource::Read(uint8_t* buf, size_t max) {
  if (pos_ >= fail_at_) {
    return absl::UnavailableError("test source: the connection to the chunk store dropped midway");
  }
  uint64_t end = std::min(size_, fail_at_);
  size_t n = static_cast<size_t>(std::min<uint64_t>(max, end - pos_));
  testsupport::FillSeekable(seed_, pos_, buf, n);
  pos_ += n;
  bytes_read_ += n;
  return n;
}

absl::Status PatternSource::Seek(uint64_t offset) {
  if (offset > size_) return absl::OutOfRangeError("seek past the end of the pattern");
  seeks_.push_back(offset);
  pos_ = offset;
  return absl::OkStatus();
}

std::string PatternSource::Content() const {
  std::string s(size_, '\0');
  testsupport::FillSeekable(seed_, 0, reinterpret_cast<uint8_t*>(s.data()), s.size());
  return s;
}

std::string PatternSource::Sha256() const {
  shoebox::Sha256 h;
  std::string buf(1 << 20, '\0');
  for (uint64_t off = 0; off < size_; off += buf.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size_ - off));
    testsupport::FillSeekable(seed_, off, reinterpret_cast<uint8_t*>(buf.data()), n);
    h.Update(std::string_view(buf.data(), n));
  }
  return DigestToString(h.Final());
}

PutRequest PatternRequest(const std::string& path, const PatternSource& src) {
  PutRequest r;
  r.remote_path = path;
  r.size = src.size();
  r.mtime_ns = 1700000000123456789ll + static_cast<int64_t>(src.seed()) * 1000000000ll;
  r.sha256 = src.Sha256();
  return r;
}

std::unique_ptr<ByteSource> MakePatternSource(uint64_t size, uint64_t seed) {
  return std::make_unique<PatternSource>(size, seed);
}

std::unique_ptr<ByteSource> MakeFailingSource(uint64_t size, uint64_t seed, uint64_t fail_at) {
  return std::make_unique<PatternSource>(size, seed, fail_at);
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

absl::StatusOr<std::string> FileSha256(const std::string& path, uint64_t* size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open " + path);
  shoebox::Sha256 h;
  std::vector<char> buf(1 << 20);
  *size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    h.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    *size += static_cast<uint64_t>(n);
  }
  return DigestToString(h.Final());
}

std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    std::string rel = std::filesystem::relative(e.path(), dir).string();
    if (rel.rfind(".DAV/", 0) == 0 || rel.find("/.DAV/") != std::string::npos) continue;
    if (e.is_regular_file()) out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string PatternSha256(uint64_t size, uint64_t seed) {
  return PatternSource(size, seed).Sha256();
}

void PrintTo(const ConnectorConformanceParams& p, std::ostream* os) { *os << p.name; }

std::string ConformanceName(const ::testing::TestParamInfo<ConnectorConformanceParams>& info) {
  return info.param.name;
}

void ConnectorConformance::SetUp() {
  static std::atomic<int> counter{0};
  const auto* ti = ::testing::UnitTest::GetInstance()->current_test_info();
  test_id_ = absl::StrCat("t", getpid(), "-", counter++, "-", ti->name());
  for (char& ch : test_id_) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '-';
  }
  // The album cases (named Album*) of a kind without albums: skipped before
  // anything is made at the server.
  if (!GetParam().albums && absl::StartsWith(ti->name(), "Album"))
    GTEST_SKIP() << "no albums at this kind of destination";
  auto c = GetParam().make(test_id_);
  ASSERT_TRUE(c.ok()) << c.status();
  conn_ = std::move(*c);
}

TEST_P(ConnectorConformance, EmptyFileRoundTrips) {
  if (!GetParam().refuses_empty_files_reason.empty()) {
    PutRequest r = Req("empty.jpg", 0, 1);
    auto src = MakePatternSource(0, 1);
    auto put = conn_->Put(r, src.get(), nullptr);
    ASSERT_FALSE(put.ok()) << "an empty file must be refused";
    EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kPermanent) << put.status();
    EXPECT_TRUE(absl::StrContains(put.status().message(), "empty.jpg")) << put.status();
    GTEST_SKIP() << GetParam().refuses_empty_files_reason;
  }
  RoundTrip(conn_.get(), "empty.jpg", 0, 1, mtime_kept());
}

TEST_P(ConnectorConformance, OneByteFileRoundTrips) {
  RoundTrip(conn_.get(), "one.jpg", 1, 2, mtime_kept());
}

TEST_P(ConnectorConformance, FileJustOverFiveMiBRoundTrips) {
  RoundTrip(conn_.get(), "five/mib plus one.mov", (5u << 20) + 1, 3, mtime_kept());
}

TEST_P(ConnectorConformance, LargeFileIsStreamedAndArrivesIntact) {
  if (!GetParam().large_file) GTEST_SKIP() << "large file disabled for this backend";
  RoundTrip(conn_.get(), "videos/large 200 MiB.mp4", 200ull << 20, 4, mtime_kept());
}

TEST_P(ConnectorConformance, AwkwardNamesRoundTripAndList) {
  const std::vector<std::string> names = {
      "with space.jpg",
      "hash #1.jpg",
      "it's \"quoted\".jpg",
      "\xC3\x89t\xC3\xA9 #1 (copy)+&.jpg",  // Été #1 (copy)+&.jpg
      "\xE5\x86\x99\xE7\x9C\x9F \xC3\xBCml\xC3\xA4ut.heic",
      "percent %20 literal;semi=eq,comma.png",
  };
  std::set<std::string> expected;
  uint64_t seed = 10;
  for (const std::string& name : names) {
    std::string reason;
    if (GetParam().refuses_name && GetParam().refuses_name(name, &reason)) {
      std::cout << "[ SKIPPED NAME ] " << name << ": " << reason << "\n";
      continue;
    }
    std::string path = "awkward/" + name;
    SCOPED_TRACE(path);
    RoundTrip(conn_.get(), path, 1000 + seed, seed, mtime_kept());
    ++seed;
    expected.insert(path);
  }
  if (!GetParam().list_refused_reason.empty())
    GTEST_SKIP() << "List: " << GetParam().list_refused_reason;
  auto listed = conn_->List("awkward");
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::set<std::string> got;
  for (const auto& o : *listed) got.insert(o.remote_path);
  EXPECT_EQ(got, expected);
}

TEST_P(ConnectorConformance, NestedFoldersAreCreatedAndListedRecursively) {
  ASSERT_TRUE(conn_->EnsureFolder("2024/07/Holiday").ok());
  ASSERT_TRUE(conn_->EnsureFolder("2024/07/Holiday").ok()) << "EnsureFolder must be idempotent";
  RoundTrip(conn_.get(), "2024/07/Holiday/a.jpg", 10, 20, mtime_kept());
  RoundTrip(conn_.get(), "2024/07/Holiday/b.jpg", 11, 21, mtime_kept());
  RoundTrip(conn_.get(), "2024/07/c.jpg", 12, 22, mtime_kept());
  RoundTrip(conn_.get(), "2024/08/deep/er/d.jpg", 13, 23, mtime_kept());
  if (!GetParam().list_refused_reason.empty())
    GTEST_SKIP() << "List: " << GetParam().list_refused_reason;
  auto all = conn_->List("");
  ASSERT_TRUE(all.ok()) << all.status();
  std::set<std::string> got;
  for (const auto& o : *all) got.insert(o.remote_path);
  EXPECT_EQ(got, (std::set<std::string>{"2024/07/Holiday/a.jpg", "2024/07/Holiday/b.jpg",
                                        "2024/07/c.jpg", "2024/08/deep/er/d.jpg"}));
  auto sub = conn_->List("2024/07/Holiday");
  ASSERT_TRUE(sub.ok()) << sub.status();
  ASSERT_EQ(sub->size(), 2u);
  for (const auto& o : *sub) EXPECT_TRUE(o.size == 10 || o.size == 11) << o.remote_path;
}

TEST_P(ConnectorConformance, RePutOfSameContentIsDetectableByStat) {
  PutRequest r = Req("again/photo.jpg", 4096, 30);
  auto src = MakePatternSource(r.size, 30);
  ASSERT_TRUE(conn_->Put(r, src.get(), nullptr).ok());
  auto st = conn_->Stat(r.remote_path);
  ASSERT_TRUE(st.ok()) << st.status();
  ExpectSameContent(*st, r, mtime_kept());
  // Different content under the same name is told apart.
  PutRequest other = Req("again/photo.jpg", 4096, 31);
  auto src2 = MakePatternSource(other.size, 31);
  ASSERT_TRUE(conn_->Put(other, src2.get(), nullptr).ok());
  auto st2 = conn_->Stat(r.remote_path);
  ASSERT_TRUE(st2.ok()) << st2.status();
  if (!mtime_kept()) {
    std::cout << "[ SKIPPED CHECK ] told apart by Stat: " << GetParam().keeps_no_mtime_reason
              << "\n";
  } else if (!st2->checksum.empty()) {
    EXPECT_NE(st2->checksum, st->checksum) << "a different file must not look like the same one";
  } else {
    EXPECT_NE(st2->mtime_ns, st->mtime_ns);
  }
  auto back = ReadRemote(conn_.get(), r.remote_path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Pattern(4096, 31)) << "Put overwrites an object of the same name";
}

TEST_P(ConnectorConformance, MissingObjectIsNotFoundAndDeleteIsIdempotent) {
  auto st = conn_->Stat("no/such/file.jpg");
  EXPECT_EQ(st.status().code(), absl::StatusCode::kNotFound) << st.status();
  EXPECT_TRUE(conn_->Delete("no/such/file.jpg").ok());
  RoundTrip(conn_.get(), "del/me.jpg", 100, 40, mtime_kept());
  ASSERT_TRUE(conn_->Delete("del/me.jpg").ok());
  EXPECT_EQ(conn_->Stat("del/me.jpg").status().code(), absl::StatusCode::kNotFound);
  if (!GetParam().list_refused_reason.empty())
    GTEST_SKIP() << "List: " << GetParam().list_refused_reason;
  auto listed = conn_->List("del");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->empty());
}

TEST_P(ConnectorConformance, InterruptedUploadLeavesNothingAndARetrySucceeds) {
  const uint64_t size = (6u << 20) + 17;
  PutRequest r = Req("cut/interrupted.mov", size, 50);
  auto failing = MakeFailingSource(size, 50, 3u << 20);
  auto put = conn_->Put(r, failing.get(), nullptr);
  ASSERT_FALSE(put.ok()) << "a source failing midway must fail the Put";
  EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kRetryable) << put.status();
  if (!GetParam().keeps_partial_uploads_reason.empty()) {
    std::cout << "[ SKIPPED CHECK ] nothing visible after the interruption: "
              << GetParam().keeps_partial_uploads_reason << "\n";
  } else {
    auto after = conn_->Stat(r.remote_path);
    EXPECT_EQ(after.status().code(), absl::StatusCode::kNotFound)
        << "nothing may be visible under the final name after an interrupted upload; found "
        << (after.ok() ? absl::StrCat(after->size, " bytes ", after->checksum) : "");
  }
  if (GetParam().list_refused_reason.empty() && GetParam().keeps_partial_uploads_reason.empty()) {
    auto listed = conn_->List("cut");
    ASSERT_TRUE(listed.ok()) << listed.status();
    EXPECT_TRUE(listed->empty()) << "leftover: "
                                 << (listed->empty() ? "" : (*listed)[0].remote_path);
  }
  PatternSource good(size, 50);
  auto retry = conn_->Put(r, &good, nullptr);
  ASSERT_TRUE(retry.ok()) << retry.status();
  if (GetParam().resumes) {
    // The retry continued after the 3 MiB already delivered: it read at most
    // a 1 MiB tail to compare plus what was still missing.
    ASSERT_FALSE(good.seeks().empty());
    EXPECT_GT(good.seeks().front(), 0u);
    EXPECT_LE(good.bytes_read(), size - (3u << 20) + (1u << 20));
  }
  auto back = HashRemote(conn_.get(), r.remote_path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->first, size);
  EXPECT_EQ(Hex(back->second), Hex(r.sha256));
  if (std::string root = local_root(); !root.empty()) {
    EXPECT_EQ(FilesUnder(root + "/cut"), std::vector<std::string>{"interrupted.mov"})
        << "no partial or temporary file may be left next to the delivered one";
  }
}

TEST_P(ConnectorConformance, RePutReplacesContentLeavingOneFile) {
  RoundTrip(conn_.get(), "replace/photo.jpg", 3000, 80, mtime_kept());
  RoundTrip(conn_.get(), "replace/photo.jpg", 4321, 81, mtime_kept());
  auto st = conn_->Stat("replace/photo.jpg");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->size, 4321u);
  if (std::string root = local_root(); !root.empty()) {
    EXPECT_EQ(FilesUnder(root + "/replace"), std::vector<std::string>{"photo.jpg"})
        << "no second copy and no temporary file next to the replaced one";
  }
  if (!GetParam().list_refused_reason.empty())
    GTEST_SKIP() << "List: " << GetParam().list_refused_reason;
  auto listed = conn_->List("replace");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, 4321u);
}

TEST_P(ConnectorConformance, InterruptedReplacementKeepsThePreviousVersion) {
  if (!GetParam().keeps_partial_uploads_reason.empty())
    GTEST_SKIP() << GetParam().keeps_partial_uploads_reason;
  RoundTrip(conn_.get(), "keep/photo.jpg", 100000, 90, mtime_kept());
  PatternSource failing(4u << 20, 91, /*fail_at=*/1u << 20);
  ASSERT_FALSE(conn_->Put(PatternRequest("keep/photo.jpg", failing), &failing, nullptr).ok());
  auto back = ReadRemote(conn_.get(), "keep/photo.jpg");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == Pattern(100000, 90)) << "a failed replacement must keep the old file";
  auto st = conn_->Stat("keep/photo.jpg");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->size, 100000u);
}

TEST_P(ConnectorConformance, SinkErrorStopsGet) {
  RoundTrip(conn_.get(), "sink/big.bin", 3u << 20, 95, mtime_kept());
  uint64_t received = 0;
  absl::Status s = conn_->Get("sink/big.bin", [&](std::string_view b) {
    received += b.size();
    return absl::CancelledError("sink is full");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_LT(received, 3u << 20) << "Get must stop at the first sink error";
}

TEST_P(ConnectorConformance, WrongCredentialsAreAPermanentAuthError) {
  if (!GetParam().make_with_bad_credentials) GTEST_SKIP() << GetParam().no_credentials_reason;
  auto bad = GetParam().make_with_bad_credentials(test_id_);
  if (!bad.ok()) {
    // Refused at connect time is fine too, as long as it is an auth error.
    EXPECT_EQ(ClassifyForRetry(bad.status()), RetryClass::kAuth) << bad.status();
    return;
  }
  PutRequest r = Req("auth/x.jpg", 10, 60);
  auto src = MakePatternSource(10, 60);
  auto put = (*bad)->Put(r, src.get(), nullptr);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kAuth) << put.status();
  auto st = (*bad)->Stat("auth/x.jpg");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(ClassifyForRetry(st.status()), RetryClass::kAuth) << st.status();
}

TEST_P(ConnectorConformance, IndependentClientReadsTheSameBytes) {
  if (!GetParam().independent_read) GTEST_SKIP() << "no independent client for this backend";
  const uint64_t size = (1u << 20) + 3;
  PutRequest r = Req("independent/read back.jpg", size, 70);
  auto src = MakePatternSource(size, 70);
  ASSERT_TRUE(conn_->Put(r, src.get(), nullptr).ok());
  auto bytes = GetParam().independent_read(conn_.get(), r.remote_path);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  ASSERT_EQ(bytes->size(), size);
  EXPECT_TRUE(*bytes == Pattern(size, 70)) << "bytes read by the independent client differ";
}

// ---- Albums (photo services, `albums` = true) ---------------------------------

namespace {

// One device file of the album cases, its album as deliver sets it: the
// destination's default album rule ("folder") applied to the path under the
// watched root (workers/jobs/photo_fields.cc).
struct AlbumItem {
  std::string path;
  uint64_t size;
  uint64_t seed;
  std::string album() const {
    PlacementInput in;
    in.device = "phone";
    in.folder = "/storage/emulated/0/DCIM";
    in.path = path;
    in.mtime_ns = 1700000000000000000ll;
    return AlbumRule::Parse(kDefaultAlbumRule)->AlbumFor(in);
  }
};

const std::vector<AlbumItem>& AlbumLibrary() {
  static const std::vector<AlbumItem> items = {
      {"Camera/2023/IMG_1.jpg", 3000, 301}, {"Camera/2023/IMG_2.jpg", 3100, 302},
      {"Camera/2023/IMG_3.jpg", 3200, 303}, {"Trips/Rome/DSC_9.jpg", 4000, 304},
      {"Trips/Rome/clip.mp4", 70000, 305},
  };
  return items;
}

absl::StatusOr<RemoteObject> PutAlbumItem(Connector* c, const AlbumItem& it) {
  PatternSource src(it.size, it.seed);
  PutRequest r = PatternRequest(it.path, src);
  r.album = it.album();
  return c->Put(r, &src, nullptr);
}

void PutAlbumLibrary(Connector* c) {
  for (const AlbumItem& it : AlbumLibrary()) {
    auto put = PutAlbumItem(c, it);
    ASSERT_TRUE(put.ok()) << it.path << " (album \"" << it.album() << "\"): " << put.status();
    EXPECT_EQ(put->remote_path, it.path);
    EXPECT_FALSE(put->ref.empty()) << it.path;
  }
}

// The paths the library puts into `album`.
std::set<std::string> ExpectedInAlbum(const std::string& album) {
  std::set<std::string> out;
  for (const AlbumItem& it : AlbumLibrary())
    if (it.album() == album) out.insert(it.path);
  return out;
}

// Lists `album` through the connector and checks that it holds exactly
// `want`, each once, with the content the library put (when the service
// reports a SHA-256).
void ExpectAlbumHolds(Connector* c, const std::string& album, const std::set<std::string>& want) {
  SCOPED_TRACE("album \"" + album + "\" of " + c->Describe());
  auto listed = c->ListAlbum(album);
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::multiset<std::string> got;
  for (const RemoteObject& o : *listed) {
    got.insert(o.remote_path);
    for (const AlbumItem& it : AlbumLibrary()) {
      if (it.path != o.remote_path) continue;
      EXPECT_EQ(o.size, it.size) << o.remote_path;
      if (absl::StartsWith(o.checksum, "sha256:")) {
        EXPECT_EQ(o.checksum, "sha256:" + Hex(PatternSha256(it.size, it.seed))) << o.remote_path;
      }
    }
  }
  EXPECT_EQ(got, std::multiset<std::string>(want.begin(), want.end()));
}

// The server's albums of the root, each title once.
void ExpectAlbumsAtService(const ConnectorConformanceParams& p, const std::string& test_id,
                           const std::multiset<std::string>& want) {
  auto titles = p.album_titles(test_id);
  ASSERT_TRUE(titles.ok()) << titles.status();
  EXPECT_EQ(std::multiset<std::string>(titles->begin(), titles->end()), want)
      << "the server's albums (a title twice is a second album)";
}

int64_t UploadsAtService(const ConnectorConformanceParams& p) {
  auto n = p.uploads();
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : -1;
}

}  // namespace

// SetUp skipped the Album* cases of kinds without albums.
#define SHOEBOX_NEEDS_ALBUMS()                                                             \
  do {                                                                                     \
    ASSERT_TRUE(GetParam()                                                                 \
                    .make_with_albums&& GetParam()                                         \
                    .uploads&& GetParam()                                                  \
                    .album_titles&& GetParam()                                             \
                    .delete_album)                                                         \
        << "albums = true needs make_with_albums, uploads, album_titles and delete_album"; \
  } while (0)

TEST_P(ConnectorConformance, AlbumPerFolderHoldsExactlyItsItems) {
  SHOEBOX_NEEDS_ALBUMS();
  // The album field as deliver sets it.
  ASSERT_EQ(AlbumLibrary()[0].album(), "Camera 2023");
  ASSERT_EQ(AlbumLibrary()[3].album(), "Trips Rome");
  auto dir = MakeInMemoryAlbumDirectory();
  auto c = GetParam().make_with_albums(test_id_, dir);
  ASSERT_TRUE(c.ok()) << c.status();
  const int64_t before = UploadsAtService(GetParam());
  PutAlbumLibrary(c->get());
  if (HasFatalFailure()) return;
  EXPECT_GE(UploadsAtService(GetParam()) - before, static_cast<int64_t>(AlbumLibrary().size()))
      << "the server's upload count must see every new item";
  ExpectAlbumHolds(c->get(), "Camera 2023", ExpectedInAlbum("Camera 2023"));
  ExpectAlbumHolds(c->get(), "Trips Rome", ExpectedInAlbum("Trips Rome"));
  ExpectAlbumsAtService(GetParam(), test_id_, {"Camera 2023", "Trips Rome"});
  EXPECT_EQ((*c)->ListAlbum("No such album").status().code(), absl::StatusCode::kNotFound);
  // Each item is also where its path says.
  for (const AlbumItem& it : AlbumLibrary()) {
    auto st = (*c)->Stat(it.path);
    ASSERT_TRUE(st.ok()) << it.path << ": " << st.status();
    EXPECT_EQ(st->size, it.size) << it.path;
  }
}

TEST_P(ConnectorConformance, AlbumReRunOfTheSamePutsUploadsNothing) {
  SHOEBOX_NEEDS_ALBUMS();
  auto dir = MakeInMemoryAlbumDirectory();
  auto c = GetParam().make_with_albums(test_id_, dir);
  ASSERT_TRUE(c.ok()) << c.status();
  const int64_t first = UploadsAtService(GetParam());
  PutAlbumLibrary(c->get());
  if (HasFatalFailure()) return;
  const int64_t before = UploadsAtService(GetParam());
  ASSERT_GE(before - first, static_cast<int64_t>(AlbumLibrary().size()))
      << "the server's upload count must see every new item, or the re-run check is vacuous";
  // The same puts again, from the same connector and from a new job's.
  PutAlbumLibrary(c->get());
  if (HasFatalFailure()) return;
  auto job = GetParam().make_with_albums(test_id_, dir);
  ASSERT_TRUE(job.ok()) << job.status();
  PutAlbumLibrary(job->get());
  if (HasFatalFailure()) return;
  EXPECT_EQ(UploadsAtService(GetParam()), before) << "a re-run of the same puts uploaded again";
  ExpectAlbumHolds(job->get(), "Camera 2023", ExpectedInAlbum("Camera 2023"));
  ExpectAlbumHolds(job->get(), "Trips Rome", ExpectedInAlbum("Trips Rome"));
  ExpectAlbumsAtService(GetParam(), test_id_, {"Camera 2023", "Trips Rome"});
}

TEST_P(ConnectorConformance, AlbumDirectoryLostFindsAlbumsAndItemsAndMakesNoSecondAlbum) {
  SHOEBOX_NEEDS_ALBUMS();
  auto c = GetParam().make_with_albums(test_id_, MakeInMemoryAlbumDirectory());
  ASSERT_TRUE(c.ok()) << c.status();
  PutAlbumLibrary(c->get());
  if (HasFatalFailure()) return;
  const int64_t before = UploadsAtService(GetParam());
  // A lost catalog: another worker with nothing remembered.
  auto lost = GetParam().make_with_albums(test_id_, MakeInMemoryAlbumDirectory());
  ASSERT_TRUE(lost.ok()) << lost.status();
  // It finds the albums at the service before it puts anything...
  ExpectAlbumHolds(lost->get(), "Camera 2023", ExpectedInAlbum("Camera 2023"));
  ExpectAlbumHolds(lost->get(), "Trips Rome", ExpectedInAlbum("Trips Rome"));
  // ...and the items: the same puts upload nothing and make no second album.
  PutAlbumLibrary(lost->get());
  if (HasFatalFailure()) return;
  EXPECT_EQ(UploadsAtService(GetParam()), before) << "a lost catalog uploaded again";
  ExpectAlbumsAtService(GetParam(), test_id_, {"Camera 2023", "Trips Rome"});
  ExpectAlbumHolds(lost->get(), "Camera 2023", ExpectedInAlbum("Camera 2023"));
  ExpectAlbumHolds(lost->get(), "Trips Rome", ExpectedInAlbum("Trips Rome"));
}

TEST_P(ConnectorConformance, AlbumDeletedAtTheServiceIsMadeAgainOnTheNextPut) {
  SHOEBOX_NEEDS_ALBUMS();
  auto dir = MakeInMemoryAlbumDirectory();
  auto c = GetParam().make_with_albums(test_id_, dir);
  ASSERT_TRUE(c.ok()) << c.status();
  PutAlbumLibrary(c->get());
  if (HasFatalFailure()) return;
  ASSERT_TRUE(GetParam().delete_album(test_id_, "Trips Rome", "Trips/Rome").ok());
  ExpectAlbumsAtService(GetParam(), test_id_, {"Camera 2023"});
  // The next job of that folder (its connector remembers the deleted album
  // through the directory).
  auto job = GetParam().make_with_albums(test_id_, dir);
  ASSERT_TRUE(job.ok()) << job.status();
  const AlbumItem more{"Trips/Rome/DSC_10.jpg", 4100, 306};
  auto put = PutAlbumItem(job->get(), more);
  ASSERT_TRUE(put.ok()) << put.status();
  ExpectAlbumsAtService(GetParam(), test_id_, {"Camera 2023", "Trips Rome"});
  ExpectAlbumHolds(job->get(), "Trips Rome", {more.path});
  // Deliver finds the earlier items missing from the album and puts them
  // again: they go back into it (uploaded again only where the service
  // deleted them with the album).
  for (const AlbumItem& it : AlbumLibrary()) {
    if (it.album() != "Trips Rome") continue;
    auto again = PutAlbumItem(job->get(), it);
    ASSERT_TRUE(again.ok()) << it.path << ": " << again.status();
  }
  std::set<std::string> all = ExpectedInAlbum("Trips Rome");
  all.insert(more.path);
  ExpectAlbumHolds(job->get(), "Trips Rome", all);
  ExpectAlbumHolds(job->get(), "Camera 2023", ExpectedInAlbum("Camera 2023"));
  ExpectAlbumsAtService(GetParam(), test_id_, {"Camera 2023", "Trips Rome"});
}

}  // namespace shoebox::worker
