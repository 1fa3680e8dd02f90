// The Browse routes over HTTPS against the scripted coordinator
// (server_test_fixture.h): one folder level paged through ListVersions, a
// version's bytes with its Content-Disposition, a damaged chunk failing the
// download, the streamed zip, and a member refused another device (403).
#include <archive.h>
#include <archive_entry.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "cli/web/browse.h"
#include "cli/web/server_test_fixture.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"

namespace shoebox::cli::web::webtest {
namespace {

class BrowseTest : public WebServerTest {
 protected:
  // Adds a version of `content` (chunks of 1000 bytes) to phone's folder.
  pb::FileVersion& Add(const std::string& path, const std::string& content,
                       const std::string& device = "phone") {
    pb::FileVersion& v = fake_.versions.emplace_back();
    v.set_version_id(static_cast<int64_t>(fake_.versions.size()));
    v.set_device(device);
    v.set_folder(kFolder);
    v.set_path(path);
    v.set_size(content.size());
    v.set_sha256(DigestToString(Sha256::Of(content)));
    for (size_t off = 0; off < content.size(); off += 1000) {
      const std::string part = content.substr(off, 1000);
      const std::string id = DigestToString(Sha256::Of(part));
      fake_.chunks[id] = part;
      v.add_chunks()->set_id(id);
    }
    return v;
  }
  httplib::Result Get(const std::string& cookie, const std::string& url) {
    return Client()->Get(url.c_str(), httplib::Headers{{"Cookie", cookie}});
  }
  static std::string Q(const std::string& path, const std::string& device = "phone") {
    return "device=" + device + "&folder=" + ToHex(kFolder) + "&path=" + ToHex(path);
  }
  static constexpr char kFolder[] = "/home/phone/Pictures";
};

std::string Content(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 97);
  return s;
}

TEST_F(BrowseTest, OneLevelIsListedAPageAtATime) {
  for (uint32_t i = 0; i < kBrowseScan + 5; ++i) Add("2024/f" + std::to_string(i), "x");
  Add("2024/trip/a.jpg", "y");
  Add("top.jpg", "z");
  auto [cookie, csrf] = LoggedIn();
  auto r = Get(cookie, "/api/browse/list?" + Q(""));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  ASSERT_EQ(j["folders"].size(), 1u);
  EXPECT_EQ(j["folders"][0]["name"], "2024");
  EXPECT_EQ(j["folders"][0]["path"], ToHex(std::string("2024")));
  EXPECT_EQ(j["files"].size(), 0u);  // top.jpg is on the next page
  const int64_t next = j["next_after"];
  EXPECT_EQ(next, kBrowseScan);
  r = Get(cookie, "/api/browse/list?" + Q("") + "&after=" + std::to_string(next));
  j = json::parse(r->body);
  ASSERT_EQ(j["files"].size(), 1u);
  EXPECT_EQ(j["files"][0]["name"], "top.jpg");
  EXPECT_EQ(j["next_after"], 0);
  r = Get(cookie, "/api/browse/list?" + Q("2024") + "&after=" + std::to_string(next));
  j = json::parse(r->body);
  EXPECT_EQ(j["files"].size(), 5u);
  EXPECT_EQ(j["folders"][0]["name"], "trip");
  // Each page is one bounded question to the coordinator.
  for (uint32_t limit : fake_.list_versions_limits) EXPECT_EQ(limit, kBrowseScan);
}

TEST_F(BrowseTest, BadParametersAreRefusedWithWhatToDo) {
  auto [cookie, csrf] = LoggedIn();
  auto r = Get(cookie, "/api/browse/list?device=phone&folder=zz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("hex"), std::string::npos);
  EXPECT_EQ(Get(cookie, "/api/browse/list?folder=00")->status, 400);
  EXPECT_EQ(Get(cookie, "/api/browse/file?" + Q("a"))->status, 400);  // no version
  EXPECT_EQ(Get(cookie, "/api/browse/file?" + Q("a") + "&version=99")->status, 404);
  EXPECT_EQ(Client()->Get("/api/browse/list?" + Q(""))->status, 401);
}

TEST_F(BrowseTest, AVersionDownloadsWithItsNameAndIsAudited) {
  const std::string content = Content(4500, 'a');
  Add("2024/Fête.jpg", content);
  auto [cookie, csrf] = LoggedIn();
  auto r = Get(cookie, "/api/browse/file?" + Q("2024/Fête.jpg") + "&version=1");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, content);
  // cpp-httplib's client percent-decodes header values as it reads them; on
  // the wire (and in a browser) it is filename*=UTF-8''F%C3%AAte.jpg
  // (download_test.cc checks the encoder, browse.mjs a real browser).
  EXPECT_EQ(r->get_header_value("Content-Disposition"),
            "attachment; filename=\"F__te.jpg\"; filename*=UTF-8''F\xC3\xAAte.jpg");
  EXPECT_EQ(r->get_header_value("Content-Length"), "4500");
  bool audited = false;
  for (const std::string& a : fake_.Audits()) audited |= a.rfind("WebDownload ana phone:", 0) == 0;
  EXPECT_TRUE(audited);
}

TEST_F(BrowseTest, ADamagedChunkFailsTheDownloadNotDeliversAWrongFile) {
  const std::string content = Content(4500, 'b');
  pb::FileVersion& v = Add("x.jpg", content);
  fake_.chunks[v.chunks(4).id()][0] ^= 1;  // the last chunk: hash passes chunk by chunk
  auto [cookie, csrf] = LoggedIn();
  auto r = Get(cookie, "/api/browse/file?" + Q("x.jpg") + "&version=1");
  // The connection ends short of Content-Length: the client sees an error.
  EXPECT_TRUE(!r || r->body != content);
  EXPECT_FALSE(r) << "a download that failed its check completed";
  bool failed = false;
  for (const std::string& a : fake_.Audits()) {
    failed |= a.rfind("WebDownloadFailed ana phone:x.jpg refused", 0) == 0;
  }
  EXPECT_TRUE(failed);
}

TEST_F(BrowseTest, AFolderStreamsAsAZipOfItsFiles) {
  const std::string a = Content(2500, 'c'), b = Content(10, 'd');
  Add("2024/a.jpg", a);
  Add("2024/sub/b.mov", b);
  Add("2025/c.jpg", "not in the zip");
  auto [cookie, csrf] = LoggedIn();
  auto r = Get(cookie, "/api/browse/zip?" + Q("2024"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Disposition"), "attachment; filename=\"2024.zip\"");
  EXPECT_EQ(r->get_header_value("Transfer-Encoding"), "chunked");
  struct archive* ar = archive_read_new();
  archive_read_support_format_zip_seekable(ar);
  ASSERT_EQ(archive_read_open_memory(ar, r->body.data(), r->body.size()), ARCHIVE_OK);
  std::map<std::string, std::string> files;
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
    std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
    archive_read_data(ar, data.data(), data.size());
    files[archive_entry_pathname(e)] = data;
  }
  archive_read_free(ar);
  EXPECT_EQ(files, (std::map<std::string, std::string>{{"2024/a.jpg", a}, {"2024/sub/b.mov", b}}));
}

// Peak resident memory of this process (server, client and fake
// coordinator), in bytes; ResetPeak() starts a new peak (Linux clear_refs).
uint64_t PeakRss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}
bool ResetPeak() { return static_cast<bool>(std::ofstream("/proc/self/clear_refs") << "5"); }

// A folder far larger than the bound streams through with the process's
// peak memory growing by much less than the folder: nothing buffers it.
// SHOEBOX_TEST_ZIP_MIB sets the folder's size (default 512 MiB).
TEST_F(BrowseTest, ALargeZipDownloadKeepsTheServersMemoryBounded) {
  size_t mib = 512;
  if (const char* e = std::getenv("SHOEBOX_TEST_ZIP_MIB")) mib = std::strtoul(e, nullptr, 10);
  constexpr uint64_t kBound = 96ull << 20;
  const std::string part = Content(1 << 20, 'e');
  pb::FileVersion& v = Add("big/video.mov", part);
  Sha256 h;
  for (size_t i = 0; i < mib; ++i) h.Update(part);
  v.set_size(static_cast<uint64_t>(mib) << 20);
  v.set_sha256(DigestToString(h.Final()));
  const std::string id = DigestToString(Sha256::Of(part));
  fake_.chunks[id] = part;  // one 1 MiB chunk, read `mib` times
  v.clear_chunks();
  for (size_t i = 0; i < mib; ++i) v.add_chunks()->set_id(id);
  auto [cookie, csrf] = LoggedIn();
  ASSERT_TRUE(ResetPeak());
  const uint64_t before = PeakRss();
  uint64_t received = 0;
  auto r = Client()->Get(("/api/browse/zip?" + Q("big")).c_str(),
                         httplib::Headers{{"Cookie", cookie}}, [&](const char*, size_t n) {
                           received += n;
                           return true;
                         });
  std::string why;
  for (const std::string& a : fake_.Audits()) why += a + "\n";
  ASSERT_TRUE(r) << httplib::to_string(r.error()) << " after " << received << " bytes; " << why;
  EXPECT_EQ(r->status, 200);
  EXPECT_GT(received, v.size());
  const uint64_t grew = PeakRss() - before;
  EXPECT_LT(grew, kBound) << "peak memory grew by " << (grew >> 20) << " MiB for a " << mib
                          << " MiB folder";
}

// Each download holds a server thread: past kMaxDownloads at once the next
// is refused with 503 and Retry-After, and a slot comes back when one ends.
TEST_F(BrowseTest, DownloadsPastTheLimitAreRefusedUntilOneEnds) {
  const std::string part = Content(1 << 20, 'f');
  const std::string id = DigestToString(Sha256::Of(part));
  pb::FileVersion& v = Add("big/video.mov", part);
  Sha256 h;
  constexpr size_t kMib = 64;  // far more than the socket buffers hold
  for (size_t i = 0; i < kMib; ++i) h.Update(part);
  fake_.chunks[id] = part;
  v.set_size(kMib << 20);
  v.set_sha256(DigestToString(h.Final()));
  v.clear_chunks();
  for (size_t i = 0; i < kMib; ++i) v.add_chunks()->set_id(id);
  const pb::FileVersion& small = Add("small.jpg", "small");
  const std::string small_url =
      "/api/browse/file?" + Q("small.jpg") + "&version=" + std::to_string(small.version_id());
  auto [cookie, csrf] = LoggedIn();
  std::atomic<bool> stop{false};
  std::atomic<int> receiving{0};
  std::vector<std::thread> slow;
  for (int i = 0; i < kMaxDownloads; ++i) {
    slow.emplace_back([&, c = cookie] {
      bool first = true;
      Client()->Get(("/api/browse/zip?" + Q("big")).c_str(), httplib::Headers{{"Cookie", c}},
                    [&](const char*, size_t) {
                      if (first) receiving.fetch_add(1);
                      first = false;
                      while (!stop.load())
                        std::this_thread::sleep_for(std::chrono::milliseconds(10));
                      return false;  // the browser gives up
                    });
    });
  }
  for (int i = 0; i < 2000 && receiving.load() < kMaxDownloads; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(receiving.load(), kMaxDownloads);
  auto r = Get(cookie, small_url);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "10");
  EXPECT_NE(r->body.find("downloads are running"), std::string::npos);
  // The pages still answer while the downloads hold their threads.
  EXPECT_EQ(Get(cookie, "/api/browse/list?" + Q(""))->status, 200);
  stop.store(true);
  for (std::thread& t : slow) t.join();
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    auto g = Get(cookie, small_url);
    status = g ? g->status : 0;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 200);
}

TEST_F(BrowseTest, AMemberIsRefusedAnotherDevice) {
  fake_.accounts["ben"] = {"member", *HashPassword(kPassword)};
  fake_.devices["ben"] = {"phone"};
  fake_.status.add_devices()->set_name("tablet");
  Add("a.jpg", "phone's", "phone");
  Add("b.jpg", "tablet's", "tablet");
  auto r = Login("ben", kPassword);
  ASSERT_TRUE(r);
  std::string cookie = r->get_header_value("Set-Cookie");
  cookie = cookie.substr(0, cookie.find(';'));
  for (const char* route : {"list", "versions", "zip"}) {
    auto g = Get(cookie, std::string("/api/browse/") + route + "?" + Q("", "tablet"));
    ASSERT_TRUE(g);
    EXPECT_EQ(g->status, 403) << route;
    EXPECT_NE(g->body.find("not bound to account ben"), std::string::npos) << g->body;
  }
  EXPECT_EQ(Get(cookie, "/api/browse/file?" + Q("b.jpg", "tablet") + "&version=2")->status, 403);
  EXPECT_EQ(Get(cookie, "/api/browse/list?" + Q("", "phone"))->status, 200);
  json d = json::parse(Get(cookie, "/api/browse/devices")->body);
  ASSERT_EQ(d["devices"].size(), 1u);
  EXPECT_EQ(d["devices"][0]["name"], "phone");
}

}  // namespace
}  // namespace shoebox::cli::web::webtest
