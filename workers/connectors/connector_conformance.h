// The shared conformance suite every Connector passes against a real server.
//
// It is the one behaviour suite for connectors: every backend (local, S3 on
// moto and s3rver, WebDAV on Apache mod_dav and `rclone serve webdav`, SFTP on
// OpenSSH, rclone's local and webdav remotes) runs the same cases; a backend's
// own test file adds only what is specific to it (host keys, TLS, Nextcloud).
// Photo services (Flickr, SmugMug, Google Photos) set `albums` and run the
// Album* cases too (one album per folder, re-run, lost album directory,
// album deleted at the service).
//
// A backend instantiates it with its parameters:
//
//   INSTANTIATE_TEST_SUITE_P(S3Moto, ConnectorConformance,
//                            ::testing::Values(MotoParams()), ConformanceName);
//
// `make` is called once per test with a unique test id and must return a
// connector on an empty root (a fresh prefix or directory per id). Servers
// are typically started lazily once per process (a function-local static)
// and stopped at exit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/statusor.h"
#include "workers/album_directory.h"
#include "workers/connector.h"

namespace shoebox::worker {

struct ConnectorConformanceParams {
  std::string name;  // gtest suffix, [A-Za-z0-9_]
  std::function<absl::StatusOr<std::unique_ptr<Connector>>(const std::string& test_id)> make;
  // A connector to the same root with wrong credentials; empty when the
  // backend has none (reason in no_credentials_reason).
  std::function<absl::StatusOr<std::unique_ptr<Connector>>(const std::string& test_id)>
      make_with_bad_credentials;
  std::string no_credentials_reason;
  // Returns true (and a reason) for a file name the server cannot take,
  // e.g. moto refuses '+', '&', '(', ')' and non-ASCII keys.
  std::function<bool(const std::string& name, std::string* reason)> refuses_name;
  // Reads an uploaded object back with an independent client (awscli,
  // s3cmd, cat...). Empty: the suite reads back with the connector's Get.
  std::function<absl::StatusOr<std::string>(Connector* c, const std::string& remote_path)>
      independent_read;
  // Run the 200 MiB file (streamed, never held in memory).
  bool large_file = true;
  // Non-empty: the server wrongly refuses List with a folder prefix (moto
  // refuses a signed ListObjectsV2 whose prefix contains '/', awscli's too);
  // the List checks are skipped with this reason.
  std::string list_refused_reason;
  // Non-empty: the server wrongly keeps the partial body of an aborted
  // upload under the final name (s3rver does; S3 and moto do not); that
  // check is skipped with this reason, the retry is still checked.
  std::string keeps_partial_uploads_reason;
  // Non-empty: the server keeps neither a checksum nor the mtime (`rclone
  // serve webdav`), so a re-delivery can only be recognised by size; the
  // suite checks sizes and content and skips the checksum/mtime checks.
  std::string keeps_no_mtime_reason;
  // The directory on this machine behind the connector made for `test_id`
  // (servers here write to local disk); empty function when there is none.
  // Used to check that no temporary or partial files are left next to a file.
  std::function<std::string(const std::string& test_id)> local_root;
  // The connector continues an interrupted upload from the bytes already at
  // the destination (SFTP) instead of starting again; the suite checks that
  // the retry read only the missing tail.
  bool resumes = false;
  // Non-empty: the service stores only photos and videos and refuses an
  // empty file (Google Photos); the suite checks that Put refuses it as a
  // permanent error instead of the empty round trip.
  std::string refuses_empty_files_reason;

  // ---- Photo services (kinds with albums; issue 20) ----
  // True: the album cases run (two folders -> two albums, a re-run uploads
  // nothing, a lost album directory, an album deleted at the service). They
  // need the four functions below. False (file kinds): they are skipped.
  bool albums = false;
  // A connector on the root `make` made for `test_id` that keeps its albums
  // in `albums` (the catalog's; a fresh MakeInMemoryAlbumDirectory() stands
  // for a lost catalog), as another worker process would open it.
  std::function<absl::StatusOr<std::unique_ptr<Connector>>(const std::string& test_id,
                                                           std::shared_ptr<AlbumDirectory> albums)>
      make_with_albums;
  // What the server has received so far, by its own count (every root):
  // uploads and created items. Only differences are compared.
  std::function<absl::StatusOr<int64_t>()> uploads;
  // The titles of the albums the server holds for the root of `test_id`,
  // one entry per album (a title twice is two albums), by its own records.
  std::function<absl::StatusOr<std::vector<std::string>>(const std::string& test_id)> album_titles;
  // Deletes, through the server's test hook (as a user would in the
  // service's app), the album titled `album` of the root of `test_id`;
  // `folder` is the device folder whose items it holds ("Trips/Rome").
  std::function<absl::Status(const std::string& test_id, const std::string& album,
                             const std::string& folder)>
      delete_album;
};

void PrintTo(const ConnectorConformanceParams& p, std::ostream* os);

class ConnectorConformance : public ::testing::TestWithParam<ConnectorConformanceParams> {
 protected:
  void SetUp() override;
  bool mtime_kept() const { return GetParam().keeps_no_mtime_reason.empty(); }
  // The local directory behind conn_, or "" when the backend has none.
  std::string local_root() const {
    return GetParam().local_root ? GetParam().local_root(test_id_) : std::string();
  }
  std::unique_ptr<Connector> conn_;
  std::string test_id_;
};

std::string ConformanceName(const ::testing::TestParamInfo<ConnectorConformanceParams>& info);

// A deterministic pseudo-random source of `size` bytes (seeded), generated
// on the fly: large files are never held in memory. With `fail_at` it yields
// that many bytes and then fails with UNAVAILABLE (a connection dropped, a
// worker killed midway). Records every Seek and the bytes read, so a test can
// see where an upload (re)started.
class PatternSource : public ByteSource {
 public:
  PatternSource(uint64_t size, uint64_t seed, uint64_t fail_at = UINT64_MAX)
      : size_(size), seed_(seed), fail_at_(fail_at) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override;
  absl::Status Seek(uint64_t offset) override;
  uint64_t size() const override { return size_; }
  uint64_t seed() const { return seed_; }
  const std::vector<uint64_t>& seeks() const { return seeks_; }
  uint64_t bytes_read() const { return bytes_read_; }
  // The whole content (small sizes only).
  std::string Content() const;
  // SHA-256 (32 raw bytes) of the whole content, computed without holding it.
  std::string Sha256() const;

 private:
  const uint64_t size_;
  const uint64_t seed_;
  const uint64_t fail_at_;
  uint64_t pos_ = 0;
  uint64_t bytes_read_ = 0;
  std::vector<uint64_t> seeks_;
};

// A PutRequest for `src` at `path`: its size and SHA-256, and an mtime one
// second per seed apart (SFTP v3 and many servers keep whole seconds).
PutRequest PatternRequest(const std::string& path, const PatternSource& src);

std::unique_ptr<ByteSource> MakePatternSource(uint64_t size, uint64_t seed);
// SHA-256 (32 raw bytes) of MakePatternSource(size, seed).
std::string PatternSha256(uint64_t size, uint64_t seed);
// A source that yields `fail_at` bytes of the pattern, then fails with
// UNAVAILABLE (a connection dropped, a worker killed midway).
std::unique_ptr<ByteSource> MakeFailingSource(uint64_t size, uint64_t seed, uint64_t fail_at);

// Files on this machine, for backends whose server writes to local disk.
std::string ReadWholeFile(const std::string& path);
// SHA-256 (32 raw bytes) of a local file and its size; NOT_FOUND when absent.
absl::StatusOr<std::string> FileSha256(const std::string& path, uint64_t* size);
// Every regular file under `dir`, relative, sorted; Apache mod_dav_fs's
// property store (".DAV/") is not content and is left out.
std::vector<std::string> FilesUnder(const std::string& dir);

}  // namespace shoebox::worker
