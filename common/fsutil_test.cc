#include "common/fsutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace shoebox {
namespace {

std::string Bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) & 0xff);
  return s;
}

// Round trip of sizes around the 4 KiB alignment O_DIRECT needs, in a
// directory on the test's file system and in /dev/shm (tmpfs: refuses
// O_DIRECT on older kernels, so the buffered fallback runs there).
// Each size is written both from a string (copied to an aligned buffer) and
// in place from an AlignedBytes whose spare capacity holds stale bytes that
// must not reach the file.
void RoundTrips(const std::string& dir) {
  AlignedBytes aligned;
  for (bool in_place : {false, true})
    for (size_t n : std::vector<size_t>{0, 1, 4095, 4096, 4097, (1u << 20) + 3, 4u << 20}) {
      const std::string path = dir + "/fsutil_direct_" + std::to_string(n);
      ::unlink(path.c_str());
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
      ASSERT_GE(fd, 0) << path;
      const std::string data = Bytes(n);
      if (in_place) {
        uint8_t* p = aligned.Reserve(n);
        ASSERT_NE(p, nullptr);
        ASSERT_GE(aligned.capacity(), n);
        EXPECT_EQ(aligned.capacity() % 4096, 0u);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 4096, 0u);
        std::fill(p, p + aligned.capacity(), 0xee);  // stale padding
        std::copy(data.begin(), data.end(), p);
        ASSERT_TRUE(WriteNewFileDirect(fd, aligned, n, path).ok()) << path;
      } else {
        ASSERT_TRUE(WriteNewFileDirect(fd, data, path).ok()) << path;
      }
      ASSERT_EQ(::fsync(fd), 0);
      struct stat st;
      ASSERT_EQ(::fstat(fd, &st), 0);
      EXPECT_EQ(static_cast<size_t>(st.st_size), n) << path;  // padding truncated away
      ::close(fd);
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(fd, 0);
      std::string back;
      ASSERT_TRUE(ReadWholeFileDirect(fd, n, path, &back).ok()) << path;
      ::close(fd);
      EXPECT_TRUE(back == data) << path << ": " << back.size() << " bytes back";
      ::unlink(path.c_str());
    }
}

TEST(FsUtil, DirectWritesAndReadsRoundTripEverySize) { RoundTrips(::testing::TempDir()); }

TEST(FsUtil, FileSystemsWithoutDirectIoFallBackToBufferedIo) {
  struct stat st;
  if (::stat("/dev/shm", &st) != 0) GTEST_SKIP() << "no /dev/shm here";
  RoundTrips("/dev/shm");
}

// Streams each size in pieces of several shapes through DirectFileWriter.
void StreamRoundTrips(const std::string& dir) {
  for (size_t n : std::vector<size_t>{0, 1, 4095, 4096, (1u << 20) - 1, 1u << 20, (3u << 20) + 5}) {
    for (size_t piece : std::vector<size_t>{1000, 4096, (1u << 20) + 7}) {
      const std::string path =
          dir + "/fsutil_stream_" + std::to_string(n) + "_" + std::to_string(piece);
      ::unlink(path.c_str());
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
      ASSERT_GE(fd, 0) << path;
      const std::string data = Bytes(n);
      {
        DirectFileWriter w(fd);
        for (size_t off = 0; off < n; off += piece) {
          size_t len = std::min(piece, n - off);
          ASSERT_EQ(w.Write(reinterpret_cast<const uint8_t*>(data.data()) + off, len), 0) << path;
        }
        ASSERT_EQ(w.Finish(), 0) << path;
      }
      ASSERT_EQ(::fsync(fd), 0);
      ::close(fd);
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      std::string back;
      ASSERT_TRUE(ReadWholeFileDirect(fd, n + 4096, path, &back).ok());
      ::close(fd);
      EXPECT_EQ(back.size(), n) << path;
      EXPECT_TRUE(back == data) << path;
      ::unlink(path.c_str());
    }
  }
}

TEST(FsUtil, StreamedWritesRoundTripEverySizeAndPieceShape) {
  StreamRoundTrips(::testing::TempDir());
  struct stat st;
  if (::stat("/dev/shm", &st) == 0) StreamRoundTrips("/dev/shm");
}

TEST(FsUtil, AShorterFileThanExpectedReturnsWhatIsThere) {
  const std::string path = ::testing::TempDir() + "/fsutil_short";
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(WriteAllTo(fd, Bytes(5000), path).ok());
  ::close(fd);
  fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  std::string back;
  ASSERT_TRUE(ReadWholeFileDirect(fd, 9000, path, &back).ok());
  ::close(fd);
  EXPECT_EQ(back, Bytes(5000));
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace shoebox
