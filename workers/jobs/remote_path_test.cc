// Deliver and verify must agree on where a file version lives at its
// destination (workers/jobs/remote_path.h): verify checking another path than
// deliver wrote would report good copies as missing, or the reverse. These
// run the real handlers against a local-directory destination.
#include "workers/jobs/remote_path.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "workers/destination.h"
#include "workers/jobs/deliver.h"
#include "workers/jobs/job_handler.h"
#include "workers/jobs/registry.h"
#include "workers/jobs/verify.h"

namespace shoebox::worker {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMtimeNs = 1720000000ll * 1000000000ll;  // 2024-07-03 UTC
constexpr size_t kChunkSize = 64 * 1024;

// Plaintext chunks by ID, as a chunk store would hand them out.
class MapFetcher final : public ChunkFetcher {
 public:
  void Add(const std::string& id, std::string data) { chunks_[id] = std::move(data); }
  absl::StatusOr<std::string> GetPlain(const ChunkId& id) override {
    auto it = chunks_.find(DigestToString(id));
    if (it == chunks_.end()) return absl::NotFoundError("no such chunk");
    return it->second;
  }

 private:
  std::map<std::string, std::string> chunks_;
};

std::string Noise(size_t size, uint64_t seed) {
  std::string s(size, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

void Put16(std::string* s, uint16_t v) {
  s->append({static_cast<char>(v & 0xff), static_cast<char>(v >> 8)});
}
void Put32(std::string* s, uint32_t v) {
  Put16(s, static_cast<uint16_t>(v & 0xffff));
  Put16(s, static_cast<uint16_t>(v >> 16));
}

// A JPEG whose EXIF (IFD0 DateTime) says 2019-12-31, followed by `tail`.
std::string JpegTakenOn20191231(const std::string& tail) {
  std::string tiff = "II";
  Put16(&tiff, 42);
  Put32(&tiff, 8);               // IFD0 offset
  Put16(&tiff, 1);               // one entry
  Put16(&tiff, 0x0132);          // DateTime
  Put16(&tiff, 2);               // ASCII
  Put32(&tiff, 20);              // count, with the NUL
  Put32(&tiff, 8 + 2 + 12 + 4);  // value offset
  Put32(&tiff, 0);               // no next IFD
  tiff += std::string("2019:12:31 23:59:58", 20);
  const std::string app1 = std::string("Exif\0\0", 6) + tiff;
  const size_t len = app1.size() + 2;
  std::string jpeg = "\xFF\xD8\xFF\xE1";
  jpeg += static_cast<char>(len >> 8);
  jpeg += static_cast<char>(len & 0xff);
  jpeg += app1;
  jpeg += "\xFF\xD9";
  return jpeg + tail;
}

class RemotePathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = ::testing::TempDir() + "/remote-path-XXXXXX";
    ASSERT_NE(mkdtemp(t.data()), nullptr);
    root_ = t;
    env_.worker_name = "w";
    env_.chunks = &fetcher_;
    env_.open_destination = [](const v1::Destination& d) { return OpenDestination(d, nullptr); };
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // A job for `content` reported as `path` on device "cam", folder /DCIM;
  // its chunks go to the fetcher.
  v1::Job Job(v1::JobKind kind, const std::string& path, const std::string& content,
              const std::string& layout) {
    v1::Job job;
    job.set_job_id(7);
    job.set_kind(kind);
    job.set_lease_token("lease");
    v1::Destination* d = job.mutable_destination();
    d->set_name("nas");
    d->set_kind("local");
    d->set_settings_json(nlohmann::json{{"root", root_}}.dump());
    d->set_layout(layout);
    v1::FileVersion* f = job.mutable_file();
    f->set_version_id(1);
    f->set_device("cam");
    f->set_folder("/DCIM");
    f->set_path(path);
    f->set_size(content.size());
    f->set_mtime_ns(kMtimeNs);
    f->set_sha256(DigestToString(Sha256::Of(content)));
    for (size_t off = 0; off < content.size(); off += kChunkSize) {
      std::string piece = content.substr(off, kChunkSize);
      std::string id = DigestToString(Sha256::Of(piece));
      v1::ChunkRef* c = f->add_chunks();
      c->set_id(id);
      c->set_size(static_cast<uint32_t>(piece.size()));
      fetcher_.Add(id, std::move(piece));
    }
    return job;
  }

  absl::StatusOr<v1::CompleteJobRequest> Run(JobHandler* handler, const v1::Job& job,
                                             bool* uploaded = nullptr) {
    std::atomic<bool> cancelled{false};
    JobContext ctx(env_, job, &cancelled);
    absl::StatusOr<v1::CompleteJobRequest> r = handler->Run(job, ctx);
    if (uploaded != nullptr) *uploaded = ctx.uploaded();
    return r;
  }

  absl::StatusOr<RemotePath> Resolve(const v1::Job& job) {
    auto conn = OpenDestination(job.destination(), nullptr);
    if (!conn.ok()) return conn.status();
    return ResolveRemotePath(job.file(), job.destination().layout(), conn->get(), &fetcher_);
  }

  void WriteAt(const std::string& rel, const std::string& data) {
    fs::create_directories(fs::path(root_ + "/" + rel).parent_path());
    std::ofstream(root_ + "/" + rel, std::ios::binary) << data;
  }
  std::string ReadAt(const std::string& rel) {
    std::ifstream in(root_ + "/" + rel, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string root_;
  MapFetcher fetcher_;
  JobEnvironment env_;
  DeliverHandler deliver_;
  VerifyHandler verify_;
};

TEST_F(RemotePathTest, DeliverAndVerifyUseTheSameCollisionCandidate) {
  const std::string other = Noise(1000, 1);  // another photo with the same name
  WriteAt("2024/07/IMG_1.jpg", other);
  const std::string content = Noise(3 * kChunkSize + 5, 2);
  const std::string layout = "{year}/{month}/{name}";

  bool uploaded = false;
  auto delivered =
      Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "one/IMG_1.jpg", content, layout), &uploaded);
  ASSERT_TRUE(delivered.ok()) << delivered.status();
  EXPECT_TRUE(uploaded);
  EXPECT_TRUE(ReadAt("2024/07/IMG_1 (2).jpg") == content);
  EXPECT_TRUE(ReadAt("2024/07/IMG_1.jpg") == other) << "a collision overwrote a photo";

  const v1::Job verify_job = Job(v1::JOB_KIND_VERIFY, "one/IMG_1.jpg", content, layout);
  auto where = Resolve(verify_job);
  ASSERT_TRUE(where.ok()) << where.status();
  EXPECT_EQ(where->slot, RemotePath::Slot::kSameContent);
  EXPECT_EQ(where->path, "2024/07/IMG_1 (2).jpg");
  auto verified = Run(&verify_, verify_job);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->verified_ok());
  EXPECT_EQ(verified->remote_ref(), delivered->remote_ref());
  EXPECT_EQ(verified->remote_size(), content.size());

  // Delivered again (a retried job): found where it is, not uploaded twice.
  auto again =
      Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "one/IMG_1.jpg", content, layout), &uploaded);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(uploaded);
  EXPECT_EQ(again->remote_ref(), delivered->remote_ref());

  // The copy gone: verify does not take the other photo under the base name.
  fs::remove(root_ + "/2024/07/IMG_1 (2).jpg");
  auto missing = Run(&verify_, verify_job);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->verified_ok());
}

TEST_F(RemotePathTest, DeliverAndVerifyTakeTheDateFromTheSameExif) {
  const std::string content = JpegTakenOn20191231(Noise(2 * kChunkSize, 3));
  const std::string layout = "{year}/{month}/{name}";
  // With exiv2 built in the EXIF date wins over the mtime (2024-07).
  const std::string dir = ExifCaptureDate(content).has_value() ? "2019/12" : "2024/07";
  WriteAt(dir + "/IMG_2.jpg", Noise(10, 4));  // taken: the job goes to "IMG_2 (2).jpg"

  auto delivered = Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "IMG_2.jpg", content, layout));
  ASSERT_TRUE(delivered.ok()) << delivered.status();
  EXPECT_TRUE(ReadAt(dir + "/IMG_2 (2).jpg") == content) << "not delivered under " << dir;

  const v1::Job verify_job = Job(v1::JOB_KIND_VERIFY, "IMG_2.jpg", content, layout);
  auto where = Resolve(verify_job);
  ASSERT_TRUE(where.ok()) << where.status();
  EXPECT_EQ(where->path, dir + "/IMG_2 (2).jpg");
  auto verified = Run(&verify_, verify_job);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->verified_ok());
  EXPECT_EQ(verified->remote_ref(), delivered->remote_ref());
}

TEST_F(RemotePathTest, OneToOneLayoutReplacesAnOlderVersionAndVerifyChecksThatName) {
  const std::string old_version = Noise(5000, 5), new_version = Noise(6000, 6);
  WriteAt("cam/DCIM/a/b.jpg", old_version);
  auto delivered = Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "a/b.jpg", new_version, ""));
  ASSERT_TRUE(delivered.ok()) << delivered.status();
  EXPECT_TRUE(ReadAt("cam/DCIM/a/b.jpg") == new_version);
  EXPECT_FALSE(fs::exists(root_ + "/cam/DCIM/a/b (2).jpg"));

  auto verified = Run(&verify_, Job(v1::JOB_KIND_VERIFY, "a/b.jpg", new_version, ""));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->verified_ok());
  auto old = Resolve(Job(v1::JOB_KIND_VERIFY, "a/b.jpg", old_version, ""));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->slot, RemotePath::Slot::kOwnName);
  EXPECT_EQ(old->path, "cam/DCIM/a/b.jpg");
}

TEST(JobHandlerRegistry, BuiltInHandlersRunTheFourKindsOfThisVersion) {
  const JobHandlerRegistry r = BuiltInJobHandlers();
  EXPECT_NE(r.Find(v1::JOB_KIND_DELIVER), nullptr);
  EXPECT_NE(r.Find(v1::JOB_KIND_VERIFY), nullptr);
  EXPECT_NE(r.Find(v1::JOB_KIND_SCRUB), nullptr);
  EXPECT_NE(r.Find(v1::JOB_KIND_SNAPSHOT), nullptr);
  EXPECT_NE(r.Find(v1::JOB_KIND_TRANSFER), nullptr);       // issue 21: fetch
  EXPECT_NE(r.Find(v1::JOB_KIND_TRANSFER_LIST), nullptr);  // issue 21: list
  EXPECT_EQ(r.Find(v1::JOB_KIND_UNSPECIFIED), nullptr);
}

// Issue 18: S3 keys are UTF-8; the bytes of an invalid sequence become %XX,
// valid names (NFC, NFD, emoji, '%') stay as they are, other kinds keep
// every byte.
TEST(RemoteNameTest, S3KeysGetPercentForInvalidUtf8Only) {
  EXPECT_EQ(RemoteName("s3", "a/latin1-\xe9t\xe9.jpg"), "a/latin1-%E9t%E9.jpg");
  EXPECT_EQ(RemoteName("s3", "caf\xc3\xa9 100% \xf0\x9f\x93\xb7.jpg"),
            "caf\xc3\xa9 100% \xf0\x9f\x93\xb7.jpg");
  EXPECT_EQ(RemoteName("s3", "cafe\xcc\x81.jpg"), "cafe\xcc\x81.jpg");
  EXPECT_EQ(RemoteName("s3", "x\xf0\x9f\x93.jpg"), "x%F0%9F%93.jpg");
  EXPECT_EQ(RemoteName("rclone", "a/latin1-\xe9t\xe9.jpg"), "a/latin1-%E9t%E9.jpg");
  for (const char* kind : {"local", "webdav", "sftp"}) {
    EXPECT_EQ(RemoteName(kind, "a/latin1-\xe9t\xe9.jpg"), "a/latin1-\xe9t\xe9.jpg") << kind;
  }
}

}  // namespace
}  // namespace shoebox::worker
