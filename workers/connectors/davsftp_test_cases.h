// Behaviour tests shared by the WebDAV, SFTP and rclone connector tests, run
// against real servers. Each test file instantiates DestinationCases with its
// backends. Uploaded bytes are read back independently from the directory the
// server serves and compared with what was sent.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "gtest/gtest.h"
#include "tests/support/data_gen.h"
#include "workers/connector.h"

namespace shoebox::worker::davsftp_test {

// Deterministic pseudo-random bytes generated on the fly (a 200 MiB file is
// never held in memory). Optionally fails once `fail_after` bytes have been
// read, like a chunk store that became unreadable mid-upload. Records every
// Seek so tests can see where an upload (re)started.
class GeneratedSource final : public ByteSource {
 public:
  GeneratedSource(uint64_t size, uint64_t seed, uint64_t fail_after = UINT64_MAX)
      : size_(size), seed_(seed), fail_after_(fail_after) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    if (pos_ >= fail_after_) return absl::UnavailableError("test source: simulated read failure");
    uint64_t end = std::min<uint64_t>(size_, fail_after_);
    size_t n = static_cast<size_t>(std::min<uint64_t>(max, end - pos_));
    for (size_t i = 0; i < n; ++i) buf[i] = ByteAt(pos_ + i);
    pos_ += n;
    bytes_read_ += n;
    if (n == 0 && pos_ < size_)
      return absl::UnavailableError("test source: simulated read failure");
    return n;
  }
  absl::Status Seek(uint64_t offset) override {
    if (offset > size_) return absl::OutOfRangeError("seek past end");
    seeks_.push_back(offset);
    pos_ = offset;
    return absl::OkStatus();
  }
  uint64_t size() const override { return size_; }
  const std::vector<uint64_t>& seeks() const { return seeks_; }
  uint64_t bytes_read() const { return bytes_read_; }

  // Byte i: the shared SplitMix64 (tests/support/data_gen.h) of word i / 8,
  // seeded as these cases always were.
  uint8_t ByteAt(uint64_t i) const {
    using testsupport::kGoldenGamma;
    uint64_t z = testsupport::SplitMix64(seed_ * kGoldenGamma + (i >> 3) + 1 - kGoldenGamma);
    return static_cast<uint8_t>(z >> ((i & 7) * 8));
  }
  // The whole content (small sizes only) and its SHA-256.
  std::string Content() const {
    std::string s(size_, '\0');
    for (uint64_t i = 0; i < size_; ++i) s[i] = static_cast<char>(ByteAt(i));
    return s;
  }
  Digest ContentSha256() const {
    Sha256 h;
    std::vector<uint8_t> block(1 << 20);
    for (uint64_t off = 0; off < size_; off += block.size()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), size_ - off));
      for (size_t i = 0; i < n; ++i) block[i] = ByteAt(off + i);
      h.Update(ByteSpan(block.data(), n));
    }
    return h.Final();
  }

 private:
  const uint64_t size_;
  const uint64_t seed_;
  const uint64_t fail_after_;
  uint64_t pos_ = 0;
  uint64_t bytes_read_ = 0;
  std::vector<uint64_t> seeks_;
};

inline PutRequest RequestFor(const std::string& path, const GeneratedSource& src) {
  PutRequest r;
  r.remote_path = path;
  r.size = src.size();
  r.mtime_ns = 1700000000LL * 1000000000LL;
  r.sha256 = DigestToString(src.ContentSha256());
  return r;
}

inline absl::StatusOr<Digest> FileSha256(const std::string& path, uint64_t* size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open " + path);
  Sha256 h;
  std::vector<char> buf(1 << 20);
  *size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    h.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    *size += static_cast<uint64_t>(n);
  }
  return h.Final();
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every regular file under `dir`, relative, sorted; Apache mod_dav_fs's
// property store (".DAV/") is not content and is left out.
inline std::vector<std::string> FilesUnder(const std::string& dir) {
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

struct Backend {
  std::string name;
  // A connector to a running server (servers start on first use); with
  // `wrong_credentials` it holds a credential the server refuses.
  std::function<absl::StatusOr<std::unique_ptr<Connector>>(bool wrong_credentials)> make;
  // The local directory behind the connector's root, for reading back.
  std::function<std::string()> local_root;
  // The connector continues an interrupted upload from the bytes already at
  // the destination (SFTP) instead of restarting.
  bool resumes = false;
};

inline void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param.name;
}

class DestinationCases : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto c = GetParam().make(false);
    ASSERT_TRUE(c.ok()) << c.status();
    conn_ = std::move(*c);
    root_ = GetParam().local_root();
    // Each test writes below its own folder.
    folder_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& ch : folder_) {
      if (ch == '/') ch = '_';
    }
  }
  std::string Local(const std::string& remote) const { return root_ + "/" + remote; }

  // Uploads generated bytes and checks the result against the file on disk.
  void PutAndVerify(const std::string& path, uint64_t size, uint64_t seed) {
    GeneratedSource src(size, seed);
    PutRequest req = RequestFor(path, src);
    uint64_t last_progress = 0;
    auto obj = conn_->Put(req, &src, [&](const Progress& p) { last_progress = p.bytes_sent; });
    ASSERT_TRUE(obj.ok()) << obj.status();
    EXPECT_EQ(obj->size, size);
    if (size > 0) {
      EXPECT_EQ(last_progress, size);
    }
    uint64_t local_size = 0;
    auto digest = FileSha256(Local(path), &local_size);
    ASSERT_TRUE(digest.ok()) << digest.status();
    EXPECT_EQ(local_size, size);
    EXPECT_EQ(ToHex(ByteSpan(digest->data(), digest->size())),
              ToHex(ByteSpan(src.ContentSha256().data(), 32)));
  }

  std::unique_ptr<Connector> conn_;
  std::string root_;
  std::string folder_;
};

TEST_P(DestinationCases, EmptyOneByteAndFiveMebibytePlusOneFilesArriveIntact) {
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, uint64_t{5 * 1024 * 1024 + 1}}) {
    SCOPED_TRACE(size);
    std::string path = absl::StrCat(folder_, "/size-", size, ".bin");
    PutAndVerify(path, size, size + 7);
    auto st = conn_->Stat(path);
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_EQ(st->size, size);
    std::string got;
    ASSERT_TRUE(conn_
                    ->Get(path,
                          [&](std::string_view b) {
                            got.append(b);
                            return absl::OkStatus();
                          })
                    .ok());
    EXPECT_EQ(got, GeneratedSource(size, size + 7).Content());
  }
}

TEST_P(DestinationCases, TwoHundredMebibyteFileIsStreamedIntact) {
  const uint64_t size = 200ull << 20;
  PutAndVerify(folder_ + "/big.mp4", size, 42);
}

TEST_P(DestinationCases, AwkwardNamesKeepTheirExactSpelling) {
  const std::vector<std::string> names = {"Été #1 (copy)+&.jpg",         "with space.jpg",
                                          "quote's \"double\".jpg",      "100% sure?.jpg",
                                          "semi;colon=eq,comma@at$.jpg", "日本語 写真.heic"};
  const std::string dir = folder_ + "/Dossier été #2 (+&)";
  std::vector<std::string> expected;
  uint64_t seed = 1;
  for (const auto& n : names) {
    std::string path = dir + "/" + n;
    PutAndVerify(path, 1000 + seed, seed);
    auto st = conn_->Stat(path);
    ASSERT_TRUE(st.ok()) << n << ": " << st.status();
    EXPECT_EQ(st->size, 1000 + seed);
    std::string got;
    ASSERT_TRUE(conn_
                    ->Get(path,
                          [&](std::string_view b) {
                            got.append(b);
                            return absl::OkStatus();
                          })
                    .ok())
        << n;
    EXPECT_EQ(got, GeneratedSource(1000 + seed, seed).Content()) << n;
    expected.push_back(path);
    ++seed;
  }
  auto list = conn_->List(folder_);
  ASSERT_TRUE(list.ok()) << list.status();
  std::vector<std::string> got;
  for (const auto& o : *list) got.push_back(o.remote_path);
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);
}

TEST_P(DestinationCases, NestedFoldersAreCreatedAndListedRecursively) {
  PutAndVerify(folder_ + "/a/b/c/d/one.jpg", 10, 1);
  PutAndVerify(folder_ + "/a/b/c/d/two.jpg", 20, 2);
  PutAndVerify(folder_ + "/a/x/three.jpg", 30, 3);
  ASSERT_TRUE(conn_->EnsureFolder(folder_ + "/a/b/c/d").ok());  // idempotent
  ASSERT_TRUE(conn_->EnsureFolder(folder_ + "/empty/sub").ok());
  EXPECT_TRUE(std::filesystem::is_directory(Local(folder_ + "/empty/sub")));
  auto list = conn_->List(folder_ + "/a");
  ASSERT_TRUE(list.ok()) << list.status();
  std::vector<std::pair<std::string, uint64_t>> got;
  for (const auto& o : *list) got.emplace_back(o.remote_path, o.size);
  std::sort(got.begin(), got.end());
  std::vector<std::pair<std::string, uint64_t>> want = {{folder_ + "/a/b/c/d/one.jpg", 10},
                                                        {folder_ + "/a/b/c/d/two.jpg", 20},
                                                        {folder_ + "/a/x/three.jpg", 30}};
  EXPECT_EQ(got, want);
  auto whole = conn_->List("");
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_GE(whole->size(), 3u);
}

TEST_P(DestinationCases, RePutReplacesContentAndStatShowsIt) {
  const std::string path = folder_ + "/photo.jpg";
  PutAndVerify(path, 3000, 1);
  PutAndVerify(path, 4321, 2);
  auto st = conn_->Stat(path);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->size, 4321u);
  // No second copy and no temporary leftovers next to it.
  EXPECT_EQ(FilesUnder(Local(folder_)), std::vector<std::string>{"photo.jpg"});
  auto list = conn_->List(folder_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].size, 4321u);
}

TEST_P(DestinationCases, InterruptedUploadLeavesNothingUnderFinalNameAndRetrySucceeds) {
  const std::string path = folder_ + "/video.mp4";
  const uint64_t size = 8ull << 20;
  GeneratedSource failing(size, 9, /*fail_after=*/3ull << 20);
  PutRequest req = RequestFor(path, failing);
  auto r = conn_->Put(req, &failing, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(std::filesystem::exists(Local(path)));
  EXPECT_EQ(conn_->Stat(path).status().code(), absl::StatusCode::kNotFound);
  auto list = conn_->List(folder_);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->empty());

  GeneratedSource good(size, 9);
  auto obj = conn_->Put(req, &good, nullptr);
  ASSERT_TRUE(obj.ok()) << obj.status();
  uint64_t local_size = 0;
  auto digest = FileSha256(Local(path), &local_size);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(local_size, size);
  EXPECT_EQ(*digest, good.ContentSha256());
  if (GetParam().resumes) {
    // The retry continued after the 3 MiB already delivered: it read at
    // most a 1 MiB tail to compare plus the 5 MiB still missing.
    ASSERT_FALSE(good.seeks().empty());
    EXPECT_GT(good.seeks().front(), 0u);
    EXPECT_LE(good.bytes_read(), size - (3ull << 20) + (1ull << 20));
  }
  EXPECT_EQ(FilesUnder(Local(folder_)), std::vector<std::string>{"video.mp4"});
}

TEST_P(DestinationCases, InterruptedReplacementKeepsThePreviousVersion) {
  const std::string path = folder_ + "/keep.jpg";
  PutAndVerify(path, 100000, 5);
  GeneratedSource failing(4ull << 20, 6, /*fail_after=*/1ull << 20);
  PutRequest req = RequestFor(path, failing);
  ASSERT_FALSE(conn_->Put(req, &failing, nullptr).ok());
  EXPECT_EQ(ReadWholeFile(Local(path)), GeneratedSource(100000, 5).Content());
  auto st = conn_->Stat(path);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 100000u);
}

TEST_P(DestinationCases, MissingObjectsAreNotFoundAndDeleteIsIdempotent) {
  EXPECT_EQ(conn_->Stat(folder_ + "/nope.jpg").status().code(), absl::StatusCode::kNotFound);
  auto list = conn_->List(folder_ + "/no-such-folder");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->empty());
  const std::string path = folder_ + "/gone.jpg";
  PutAndVerify(path, 123, 3);
  ASSERT_TRUE(conn_->Delete(path).ok());
  EXPECT_FALSE(std::filesystem::exists(Local(path)));
  EXPECT_EQ(conn_->Stat(path).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(conn_->Delete(path).ok());
  absl::Status g = conn_->Get(path, [](std::string_view) { return absl::OkStatus(); });
  EXPECT_EQ(g.code(), absl::StatusCode::kNotFound) << g;
}

TEST_P(DestinationCases, SinkErrorStopsGet) {
  const std::string path = folder_ + "/big.bin";
  PutAndVerify(path, 3ull << 20, 4);
  uint64_t received = 0;
  absl::Status s = conn_->Get(path, [&](std::string_view b) {
    received += b.size();
    return absl::CancelledError("sink is full");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_LT(received, 3ull << 20);
}

TEST_P(DestinationCases, WrongCredentialsAreAnAuthenticationError) {
  auto bad = GetParam().make(true);
  absl::Status s = bad.status();
  if (bad.ok()) {
    GeneratedSource src(10, 1);
    s = (*bad)->Put(RequestFor(folder_ + "/x.jpg", src), &src, nullptr).status();
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_EQ(ClassifyForRetry(s), RetryClass::kAuth);
  EXPECT_FALSE(std::filesystem::exists(Local(folder_ + "/x.jpg")));
}

}  // namespace shoebox::worker::davsftp_test
