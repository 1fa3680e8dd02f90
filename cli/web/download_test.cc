// Browse and downloads (issue 22): the Content-Disposition encoding, the
// hash-checked streaming of one version, the streamed zip (read back with
// libarchive) and the bound on what the server holds at once.
#include "cli/web/download.h"

#include <archive.h>
#include <archive_entry.h>

#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "cli/web/browse.h"
#include "common/crypto/hash.h"
#include "gtest/gtest.h"

namespace shoebox::cli::web {
namespace {

namespace pb = shoebox::v1;

// A version of `content` cut into chunks of `chunk` bytes, their plaintext
// kept in `store`.
pb::FileVersion Version(const std::string& path, const std::string& content, size_t chunk,
                        std::map<std::string, std::string>* store) {
  pb::FileVersion v;
  v.set_version_id(static_cast<int64_t>(store->size() + 1));
  v.set_path(path);
  v.set_size(content.size());
  v.set_sha256(DigestToString(Sha256::Of(content)));
  v.set_mtime_ns(1700000000LL * 1000000000);
  for (size_t off = 0; off < content.size(); off += chunk) {
    const std::string part = content.substr(off, chunk);
    const std::string id = DigestToString(Sha256::Of(absl::StrCat(path, off, part)));
    (*store)[id] = part;
    v.add_chunks()->set_id(id);
  }
  return v;
}

ChunkReader ReaderOf(const std::map<std::string, std::string>& store) {
  return [&store](const std::string& id) -> absl::StatusOr<std::string> {
    auto it = store.find(id);
    if (it == store.end()) return absl::NotFoundError("no such chunk");
    return it->second;
  };
}

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7919) % 251);
  return s;
}

TEST(ContentDisposition, PlainAsciiNameIsQuotedOnly) {
  EXPECT_EQ(ContentDisposition("IMG_0001.JPG"), "attachment; filename=\"IMG_0001.JPG\"");
}

TEST(ContentDisposition, QuotesBackslashesAndLineBreaksNeverReachTheHeader) {
  const std::string h = ContentDisposition("a\"b\\c\r\nSet-Cookie: x.jpg");
  EXPECT_EQ(h.find('\r'), std::string::npos);
  EXPECT_EQ(h.find('\n'), std::string::npos);
  EXPECT_EQ(h.substr(0, 45), "attachment; filename=\"a_b_c__Set-Cookie: x.jp");
  // The UTF-8 form carries the exact name, percent-encoded.
  EXPECT_NE(h.find("filename*=UTF-8''a%22b%5Cc%0D%0ASet-Cookie%3A%20x.jpg"), std::string::npos)
      << h;
}

TEST(ContentDisposition, Utf8NameGetsRfc5987Form) {
  EXPECT_EQ(ContentDisposition("Fête à Noël.jpg"),
            "attachment; filename=\"F__te __ No__l.jpg\"; "
            "filename*=UTF-8''F%C3%AAte%20%C3%A0%20No%C3%ABl.jpg");
}

TEST(ContentDisposition, NonUtf8NameGetsOnlyTheAsciiFallback) {
  EXPECT_EQ(ContentDisposition("caf\xe9.jpg"), "attachment; filename=\"caf_.jpg\"");
  EXPECT_EQ(ContentDisposition(""), "attachment; filename=\"download\"");
}

TEST(IsUtf8, AcceptsWellFormedRejectsOverlongsSurrogatesAndCuts) {
  EXPECT_TRUE(IsUtf8("plain"));
  EXPECT_TRUE(IsUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\xb7"));  // é € 📷
  EXPECT_FALSE(IsUtf8("\xc0\xaf"));                             // overlong '/'
  EXPECT_FALSE(IsUtf8("\xed\xa0\x80"));                         // surrogate
  EXPECT_FALSE(IsUtf8("\xe2\x82"));                             // cut short
  EXPECT_FALSE(IsUtf8("\xff"));
}

TEST(StreamVersion, WritesTheExactBytesHoldingAtMostTwoChunks) {
  std::map<std::string, std::string> store;
  const std::string content = Pattern(10 * 1024 + 17, 'a');
  pb::FileVersion v = Version("d/x.bin", content, 1024, &store);
  std::string out;
  StreamStats stats;
  ASSERT_TRUE(StreamVersion(
                  v, ReaderOf(store),
                  [&](std::string_view b) {
                    out.append(b);
                    return absl::OkStatus();
                  },
                  &stats)
                  .ok());
  EXPECT_EQ(out, content);
  EXPECT_EQ(stats.bytes_written, content.size());
  EXPECT_LE(stats.max_buffered, 2 * 1024u);
}

TEST(StreamVersion, AHashMismatchNeverWritesTheLastChunk) {
  std::map<std::string, std::string> store;
  const std::string content = Pattern(4096, 'b');
  pb::FileVersion v = Version("x.bin", content, 1024, &store);
  store[v.chunks(1).id()][5] ^= 1;  // a damaged chunk the store did not notice
  std::string out;
  absl::Status s = StreamVersion(v, ReaderOf(store), [&](std::string_view b) {
    out.append(b);
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("x.bin"), std::string::npos);
  EXPECT_LT(out.size(), content.size());  // the download never completes
}

TEST(StreamVersion, MissingChunkAndDroppedChunksAreErrors) {
  std::map<std::string, std::string> store;
  pb::FileVersion v = Version("x.bin", Pattern(3000, 'c'), 1024, &store);
  auto sink = [](std::string_view) { return absl::OkStatus(); };
  store.erase(v.chunks(2).id());
  EXPECT_EQ(StreamVersion(v, ReaderOf(store), sink).code(), absl::StatusCode::kNotFound);
  v.set_chunks_dropped(true);
  EXPECT_EQ(StreamVersion(v, ReaderOf(store), sink).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(StreamVersion, ABrowserThatGoesAwayStopsTheStream) {
  std::map<std::string, std::string> store;
  pb::FileVersion v = Version("x.bin", Pattern(8192, 'd'), 1024, &store);
  int reads = 0;
  ChunkReader counting = [&](const std::string& id) -> absl::StatusOr<std::string> {
    ++reads;
    return store.at(id);
  };
  absl::Status s = StreamVersion(v, counting, [](std::string_view) {
    return absl::UnavailableError("the browser closed the download");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(reads, 2);  // no more chunks read after the first failed write
}

// Reads a zip from memory: name → content; "" error when it is not whole.
std::map<std::string, std::string> Unzip(const std::string& zip, std::string* error) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_zip_seekable(a);
  if (archive_read_open_memory(a, zip.data(), zip.size()) != ARCHIVE_OK) {
    *error = archive_error_string(a);
    archive_read_free(a);
    return out;
  }
  struct archive_entry* e = nullptr;
  int r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    std::string data;
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) data.append(buf, n);
    if (n < 0) *error = archive_error_string(a);
    out[archive_entry_pathname(e)] = data;
  }
  if (r != ARCHIVE_EOF) *error = archive_error_string(a);
  archive_read_free(a);
  return out;
}

TEST(ZipStream, FilesReadBackByteForByteFromTheCentralDirectory) {
  std::map<std::string, std::string> store;
  const std::string a = Pattern(300000, 'e'), b = Pattern(5, 'f'), c;
  std::vector<pb::FileVersion> vs = {Version("trip/a.jpg", a, 65536, &store),
                                     Version("trip/sub/b.mov", b, 65536, &store),
                                     Version("trip/empty", c, 65536, &store)};
  std::string zip;
  auto z = ZipStream::Open([&](std::string_view bytes) {
    zip.append(bytes);
    return absl::OkStatus();
  });
  ASSERT_TRUE(z.ok()) << z.status();
  for (const pb::FileVersion& v : vs) {
    ASSERT_TRUE((*z)->Add(v.path(), v, ReaderOf(store)).ok());
  }
  ASSERT_TRUE((*z)->Finish().ok());
  std::string error;
  std::map<std::string, std::string> files = Unzip(zip, &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files["trip/a.jpg"], a);
  EXPECT_EQ(files["trip/sub/b.mov"], b);
  EXPECT_EQ(files["trip/empty"], c);
  // Stored, not compressed: the archive is a little larger than its files.
  EXPECT_GT(zip.size(), a.size() + b.size());
}

TEST(ZipStream, AHashMismatchStopsBeforeTheCentralDirectory) {
  std::map<std::string, std::string> store;
  pb::FileVersion good = Version("a.jpg", Pattern(2048, 'g'), 1024, &store);
  pb::FileVersion bad = Version("b.jpg", Pattern(2048, 'h'), 1024, &store);
  store[bad.chunks(0).id()][0] ^= 1;
  std::string zip;
  auto z = ZipStream::Open([&](std::string_view bytes) {
    zip.append(bytes);
    return absl::OkStatus();
  });
  ASSERT_TRUE(z.ok());
  ASSERT_TRUE((*z)->Add("a.jpg", good, ReaderOf(store)).ok());
  EXPECT_EQ((*z)->Add("b.jpg", bad, ReaderOf(store)).code(), absl::StatusCode::kDataLoss);
  // The caller stops here: what was sent has no central directory.
  std::string error;
  Unzip(zip, &error);
  EXPECT_NE(error, "");
}

// A folder much larger than any chunk goes out holding one chunk at a time.
// SHOEBOX_TEST_ZIP_MIB sets the folder's size (default 64 MiB; 4200 checks
// ZIP64 past 4 GiB: slow).
TEST(ZipStream, ALargeFolderIsStreamedWithBoundedBuffering) {
  size_t mib = 64;
  if (const char* e = std::getenv("SHOEBOX_TEST_ZIP_MIB")) mib = std::strtoul(e, nullptr, 10);
  constexpr size_t kChunk = 1 << 20;
  // One chunk's content reused (same ID) so the test's own memory stays small.
  std::map<std::string, std::string> store;
  const std::string part = Pattern(kChunk, 'i');
  pb::FileVersion v = Version("big.mov", part, kChunk, &store);
  const std::string id = v.chunks(0).id();
  Sha256 h;
  for (size_t i = 0; i < mib; ++i) h.Update(part);
  v.set_size(static_cast<uint64_t>(mib) * kChunk);
  v.set_sha256(DigestToString(h.Final()));
  v.clear_chunks();
  for (size_t i = 0; i < mib; ++i) v.add_chunks()->set_id(id);
  uint64_t sent = 0, largest_write = 0;
  auto z = ZipStream::Open([&](std::string_view bytes) {
    sent += bytes.size();
    largest_write = std::max<uint64_t>(largest_write, bytes.size());
    return absl::OkStatus();
  });
  ASSERT_TRUE(z.ok());
  ASSERT_TRUE((*z)->Add("big.mov", v, ReaderOf(store)).ok());
  ASSERT_TRUE((*z)->Add("again.mov", v, ReaderOf(store)).ok());
  ASSERT_TRUE((*z)->Finish().ok());
  EXPECT_GT(sent, 2 * v.size());
  EXPECT_EQ((*z)->stats().bytes_written, sent);
  EXPECT_LE((*z)->stats().max_buffered, kChunk);  // one chunk held, never a file
  EXPECT_LE(largest_write, kChunk + 4096);        // libarchive passes writes through
}

TEST(GroupLevel, FilesDirectlyInTheFolderAndEachSubfolderOnce) {
  google::protobuf::RepeatedPtrField<pb::FileVersion> vs;
  for (const char* p : {"2024/a.jpg", "2024/trip/b.jpg", "2024/trip/c.jpg", "2024/b.jpg",
                        "2024x/d.jpg", "2024", "2024/alps/e/f.jpg"}) {
    vs.Add()->set_path(p);
  }
  Level l = GroupLevel("2024", vs);
  EXPECT_EQ(l.folders, (std::vector<std::string>{"alps", "trip"}));
  ASSERT_EQ(l.files.size(), 2u);
  EXPECT_EQ(l.files[0]->path(), "2024/a.jpg");
  EXPECT_EQ(l.files[1]->path(), "2024/b.jpg");
  Level root = GroupLevel("", vs);
  EXPECT_EQ(root.folders, (std::vector<std::string>{"2024", "2024x"}));
  ASSERT_EQ(root.files.size(), 1u);
}

}  // namespace
}  // namespace shoebox::cli::web
