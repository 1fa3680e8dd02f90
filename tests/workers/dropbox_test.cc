// The Dropbox connector against tests/fakes/dropbox_server.py: the shared
// conformance suite, a resumed upload session that re-sends nothing the
// server has (its byte counters), expired and refused tokens, throttling.
#include "workers/connectors/dropbox.h"

#include <atomic>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/http/oauth.h"
#include "gtest/gtest.h"
#include "tests/support/dropbox_fake.h"
#include "workers/connectors/connector_conformance.h"
#include "workers/connectors/service_names.h"

namespace shoebox::worker {
namespace {

using testsupport::DropboxFake;

// One fake per process. Access tokens live 65 s: the token source renews
// them a minute early, so a long upload refreshes several times.
DropboxFake& Fake() {
  static std::unique_ptr<DropboxFake> f =
      testsupport::OrAbort(testsupport::StartDropboxFake(65), "dropbox fake");
  return *f;
}

std::shared_ptr<http::TokenSource> Tokens(const std::string& refresh_token) {
  DropboxFake& f = Fake();
  http::OAuthTokenSourceOptions o;
  o.client = {f.url + "/oauth2/token", f.client_id, f.client_secret};
  o.refresh_token = refresh_token;
  o.destination = "box";
  return std::make_shared<http::OAuthTokenSource>(std::move(o));
}

DropboxOptions Options(const std::string& folder) {
  DropboxOptions o;
  o.api = o.content = Fake().url;
  o.folder = folder;
  o.destination = "box";
  return o;
}

absl::StatusOr<std::unique_ptr<Connector>> Make(const std::string& folder,
                                                uint64_t chunk = 16u << 20) {
  static std::string* refresh = nullptr;
  if (refresh == nullptr) {
    auto r = Fake().RefreshToken();
    if (!r.ok()) return r.status();
    refresh = new std::string(*r);
  }
  DropboxOptions o = Options(folder);
  o.chunk_size = chunk;
  return MakeDropboxConnector(std::move(o), Tokens(*refresh));
}

// The Dropbox path of a connector's remote path ("dropbox:/ROOT at URL").
std::string FullPath(Connector* c, const std::string& remote_path) {
  std::string d = c->Describe();
  std::string root = d.substr(8, d.find(" at ") - 8);
  return absl::StrCat(root, "/", EncodeServicePath(remote_path, DropboxNameRules()));
}

ConnectorConformanceParams FakeParams() {
  ConnectorConformanceParams p;
  p.name = "DropboxFake";
  p.make = [](const std::string& id) { return Make("Shoebox/" + id); };
  p.make_with_bad_credentials =
      [](const std::string& id) -> absl::StatusOr<std::unique_ptr<Connector>> {
    return MakeDropboxConnector(Options("Shoebox/" + id),
                                std::make_shared<http::StaticTokenSource>("not-a-token"));
  };
  p.independent_read = [](Connector* c, const std::string& path) {
    return Fake().Download(FullPath(c, path));
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(Dropbox, ConnectorConformance, ::testing::Values(FakeParams()),
                         [](const auto& info) { return info.param.name; });

TEST(DropboxContentHash, BlocksOfFourMiB) {
  EXPECT_EQ(DropboxContentHash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // One block: SHA-256 of the block's SHA-256.
  std::string a(100, 'a');
  Digest inner = Sha256::Of(std::string_view(a));
  Digest outer = Sha256::Of(ByteSpan(inner.data(), inner.size()));
  EXPECT_EQ(DropboxContentHash(a), ToHex(ByteSpan(outer.data(), outer.size())));
  // Incremental updates across the block boundary give the same hash.
  std::string big((4u << 20) + 5, 'x');
  DropboxContentHasher h;
  h.Update(reinterpret_cast<const uint8_t*>(big.data()), 3);
  h.Update(reinterpret_cast<const uint8_t*>(big.data()) + 3, big.size() - 3);
  EXPECT_EQ(h.Hex(), DropboxContentHash(big));
  EXPECT_EQ(h.blocks().size(), 1u);
}

TEST(Dropbox, ResumedUploadSendsNothingTheServerHas) {
  const uint64_t size = (24u << 20) + 12345;  // 4 MiB requests: start, 5 appends, finish
  auto first = Make("Shoebox/resume", 4u << 20);
  ASSERT_TRUE(first.ok()) << first.status();
  // The connection drops 300 KiB into the 4th append.
  ASSERT_TRUE(Fake()
                  .Control("fault", {{"endpoint", "/2/files/upload_session/append_v2"},
                                     {"skip", 3},
                                     {"drop_after", 300 * 1024}})
                  .ok());
  PutRequest r;
  r.remote_path = "videos/long clip.mov";
  r.size = size;
  r.mtime_ns = 1700000000000000000;
  r.sha256 = PatternSha256(size, 7);
  std::vector<std::string> saved;
  r.save_resume_state = [&](const std::string& s) { saved.push_back(s); };
  auto src = MakePatternSource(size, 7);
  auto put = (*first)->Put(r, src.get(), nullptr);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kRetryable) << put.status();
  ASSERT_EQ(saved.size(), 4u);  // after start and each of the 3 appends that arrived

  // Another worker (no memory of the session) resumes from an OLDER state:
  // the server's correct_offset wins, and nothing it has is sent again.
  auto second = Make("Shoebox/resume", 4u << 20);
  ASSERT_TRUE(second.ok()) << second.status();
  PutRequest again = r;
  again.resume_state = saved[2];
  std::vector<std::string> saved2;
  again.save_resume_state = [&](const std::string& s) { saved2.push_back(s); };
  PatternSource good(size, 7);
  auto done = (*second)->Put(again, &good, nullptr);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(saved2.empty());

  auto stats = Fake().Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  std::string session = nlohmann::json::parse(saved.back())["session_id"];
  const auto& s = (*stats)["sessions"][session];
  EXPECT_EQ(s["applied"].get<uint64_t>(), size);
  EXPECT_EQ(s["dropped"].get<uint64_t>(), 300u * 1024);
  EXPECT_EQ(s["received"].get<uint64_t>() - s["dropped"].get<uint64_t>(), size)
      << "a byte the server already had was sent again";
  auto back = Fake().Download(FullPath(second->get(), r.remote_path));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->size(), size);
  EXPECT_EQ(ToHex(DigestToString(Sha256::Of(std::string_view(*back)))), ToHex(r.sha256));
  EXPECT_EQ(done->checksum, "dropbox:" + DropboxContentHash(*back));
}

TEST(Dropbox, StateOfAnotherFileStartsOver) {
  auto c = Make("Shoebox/other", 4u << 20);
  ASSERT_TRUE(c.ok()) << c.status();
  PutRequest r;
  r.remote_path = "a.jpg";
  r.size = (9u << 20) + 1;
  r.sha256 = PatternSha256(r.size, 9);
  r.resume_state =
      R"({"v":1,"session_id":"sess-999","offset":1048576,"path":"/Shoebox/other/b.jpg",)"
      R"("size":2097153,"sha256":"00","blocks":[]})";
  auto src = MakePatternSource(r.size, 9);
  auto put = (*c)->Put(r, src.get(), nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->size, r.size);
}

// A token source whose first token has already expired at the service.
class ExpiredFirst : public http::TokenSource {
 public:
  ExpiredFirst(std::string expired, std::shared_ptr<http::TokenSource> next)
      : expired_(std::move(expired)), next_(std::move(next)) {}
  absl::StatusOr<std::string> AccessToken() override {
    if (!invalidated_) return expired_;
    return next_->AccessToken();
  }
  void Invalidate(std::string_view t) override {
    if (t == expired_) ++invalidated_;
  }
  std::atomic<int> invalidated_{0};

 private:
  std::string expired_;
  std::shared_ptr<http::TokenSource> next_;
};

TEST(Dropbox, ExpiredAccessTokenIsRenewedOnce) {
  ASSERT_TRUE(Fake().Control("config", {{"token_ttl", 1}}).ok());
  auto old = Fake().AccessToken();
  ASSERT_TRUE(Fake().Control("config", {{"token_ttl", 65}}).ok());
  ASSERT_TRUE(old.ok()) << old.status();
  absl::SleepFor(absl::Milliseconds(1200));
  auto refresh = Fake().RefreshToken();
  ASSERT_TRUE(refresh.ok()) << refresh.status();
  auto tokens = std::make_shared<ExpiredFirst>(*old, Tokens(*refresh));
  auto c = MakeDropboxConnector(Options("Shoebox/expired"), tokens);
  ASSERT_TRUE(c.ok()) << c.status();
  auto st = (*c)->Stat("nothing.jpg");
  EXPECT_EQ(st.status().code(), absl::StatusCode::kNotFound) << st.status();
  EXPECT_EQ(tokens->invalidated_.load(), 1);
}

TEST(Dropbox, RefusedRefreshTokenSaysToReconnect) {
  nlohmann::json settings = {
      {"client_id", Fake().client_id}, {"endpoint", Fake().url}, {"auth_endpoint", Fake().url}};
  nlohmann::json creds = {{"client_secret", Fake().client_secret},
                          {"refresh_token", "revoked-or-made-up"}};
  auto c = MakeConnector("dropbox", settings, creds, {.destination_name = "box"});
  ASSERT_TRUE(c.ok()) << c.status();
  auto st = (*c)->Stat("x.jpg");
  EXPECT_EQ(ClassifyForRetry(st.status()), RetryClass::kAuth) << st.status();
  EXPECT_TRUE(absl::StrContains(st.status().message(), "shoebox dest connect box")) << st.status();
}

TEST(Dropbox, ThrottlingCarriesRetryAfterAndWaitingIsEnough) {
  auto c = Make("Shoebox/throttle");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->Stat("warm.jpg").status().code() == absl::StatusCode::kNotFound);
  ASSERT_TRUE(Fake().Control("config", {{"budget", 3}, {"window", 2}}).ok());
  int throttled = 0;
  for (int i = 0; i < 8; ++i) {
    auto st = (*c)->Stat("t.jpg");
    if (st.status().code() == absl::StatusCode::kResourceExhausted) {
      ++throttled;
      auto ms = RetryAfterMs(st.status());
      ASSERT_TRUE(ms.has_value()) << st.status();
      EXPECT_GE(*ms, 1000u);
      EXPECT_EQ(ClassifyForRetry(st.status()), RetryClass::kRetryable);
      absl::SleepFor(absl::Milliseconds(*ms));
      --i;
      continue;
    }
    EXPECT_EQ(st.status().code(), absl::StatusCode::kNotFound) << st.status();
  }
  ASSERT_TRUE(Fake().Control("config", {{"budget", 0}}).ok());
  EXPECT_GE(throttled, 1);
  auto stats = Fake().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["throttled_after_retry_after"].get<int>(), 0)
      << "a request came before the Retry-After had passed";
}

// Runs `hook` before the first byte is read: the connector has looked at
// the name already and is about to commit.
class HookSource : public ByteSource {
 public:
  HookSource(std::unique_ptr<ByteSource> inner, std::function<void()> hook)
      : inner_(std::move(inner)), hook_(std::move(hook)) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    if (hook_) std::exchange(hook_, nullptr)();
    return inner_->Read(buf, max);
  }
  absl::Status Seek(uint64_t offset) override { return inner_->Seek(offset); }
  uint64_t size() const override { return inner_->size(); }

 private:
  std::unique_ptr<ByteSource> inner_;
  std::function<void()> hook_;
};

TEST(Dropbox, AFileCreatedMeanwhileIsNeverOverwritten) {
  for (uint64_t size : {uint64_t{10}, uint64_t{(8u << 20) + 3}}) {  // upload and session
    auto c = Make("Shoebox/conflict", 4u << 20);
    auto other = Make("Shoebox/conflict");
    ASSERT_TRUE(c.ok() && other.ok());
    const std::string name = absl::StrCat("same-", size, ".jpg");
    PutRequest theirs;
    theirs.remote_path = name;
    theirs.size = 5;
    theirs.sha256 = PatternSha256(5, 2);
    PutRequest mine;
    mine.remote_path = name;
    mine.size = size;
    mine.sha256 = PatternSha256(size, 1);
    HookSource src(MakePatternSource(size, 1), [&] {
      auto s = MakePatternSource(5, 2);
      ASSERT_TRUE((*other)->Put(theirs, s.get(), nullptr).ok());
    });
    auto put = (*c)->Put(mine, &src, nullptr);
    EXPECT_EQ(put.status().code(), absl::StatusCode::kAlreadyExists) << put.status();
    auto st = (*c)->Stat(name);
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_EQ(st->size, 5u) << "the other writer's file was replaced";
  }
}

TEST(Dropbox, NamesDropboxCannotStoreAreEncodedAndListedBack) {
  auto c = Make("Shoebox/names");
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string name = "dir: a?/caf\xc3\xa9 \"x\" <1>.jpg.";
  PutRequest r;
  r.remote_path = name;
  r.size = 3;
  r.sha256 = PatternSha256(3, 4);
  auto src = MakePatternSource(3, 4);
  ASSERT_TRUE((*c)->Put(r, src.get(), nullptr).ok());
  auto listed = (*c)->List("");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].remote_path, name);
}

}  // namespace
}  // namespace shoebox::worker
