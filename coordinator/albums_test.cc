// The album directory service (issue 20) against the in-memory stores:
// first writer wins, conditional forget, keys as bytes, per-destination
// rows, request validation and the lease refusal passed through. The SQL,
// with real leases and concurrent writers, is tested against PostgreSQL in
// tests/coordinator/albums_test.cc.
#include "coordinator/albums.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/destination_kinds.h"
#include "coordinator/admin_test_fixture.h"
#include "coordinator/store/fake_album_store.h"
#include "coordinator/store/fake_stores.h"
#include "nlohmann/json.hpp"

namespace shoebox::coordinator {
namespace {

namespace pb = shoebox::v1;

class AlbumsTest : public ::testing::Test {
 protected:
  AlbumsTest()
      : store_([this](const AlbumLease& l) -> absl::Status {
          if (l.token == "stale") return absl::PermissionDeniedError("no lease on that job");
          last_lease_ = l;
          return absl::OkStatus();
        }),
        albums_(&store_, &queue_) {
    WorkerRegistration reg;
    reg.name = "w1";
    reg.kinds = {"flickr"};
    worker_id_ = *queue_.RegisterWorker(reg);
  }

  template <typename Req>
  Req Make(const std::string& key, int64_t dest = 7) {
    Req r;
    r.set_job_id(42);
    r.set_lease_token("token");
    r.set_destination_id(dest);
    r.set_album_key(key);
    return r;
  }
  pb::RecordAlbumRequest Rec(const std::string& key, const std::string& id, int64_t dest = 7) {
    pb::RecordAlbumRequest r = Make<pb::RecordAlbumRequest>(key, dest);
    r.set_remote_id(id);
    return r;
  }
  absl::StatusOr<pb::LookupAlbumResponse> Lookup(const std::string& key, int64_t dest = 7) {
    return albums_.Lookup("w1", Make<pb::LookupAlbumRequest>(key, dest));
  }

  FakeQueueStore queue_;
  FakeAlbumStore store_;
  Albums albums_;
  int64_t worker_id_ = 0;
  AlbumLease last_lease_;
};

TEST_F(AlbumsTest, UnknownKeyIsNotFoundAndTheLeaseIsTheCallers) {
  absl::StatusOr<pb::LookupAlbumResponse> r = Lookup("Camera 2023");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->found());
  EXPECT_EQ(last_lease_.job_id, 42);
  EXPECT_EQ(last_lease_.token, "token");
  EXPECT_EQ(last_lease_.worker_id, worker_id_);
  EXPECT_EQ(last_lease_.destination_id, 7);
}

TEST_F(AlbumsTest, FirstRecordWinsAndTheSecondGetsItsId) {
  absl::StatusOr<pb::RecordAlbumResponse> first = albums_.Record("w1", Rec("Camera 2023", "set-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->recorded());
  EXPECT_EQ(first->remote_id(), "set-1");
  absl::StatusOr<pb::RecordAlbumResponse> second =
      albums_.Record("w1", Rec("Camera 2023", "set-2"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->recorded());
  EXPECT_EQ(second->remote_id(), "set-1");
  // The same id again is fine (a retried call).
  absl::StatusOr<pb::RecordAlbumResponse> again = albums_.Record("w1", Rec("Camera 2023", "set-1"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->recorded());
  absl::StatusOr<pb::LookupAlbumResponse> found = Lookup("Camera 2023");
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->found());
  EXPECT_EQ(found->remote_id(), "set-1");
}

TEST_F(AlbumsTest, ForgetWithAnotherIdKeepsTheRowAndWithItsIdDropsIt) {
  ASSERT_TRUE(albums_.Record("w1", Rec("Camera 2023", "set-2")).ok());
  pb::ForgetAlbumRequest f = Make<pb::ForgetAlbumRequest>("Camera 2023");
  f.set_remote_id("set-1");  // a stale view: the album was re-created as set-2
  absl::StatusOr<pb::ForgetAlbumResponse> stale = albums_.Forget("w1", f);
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(stale->forgotten());
  EXPECT_TRUE(Lookup("Camera 2023")->found());
  f.set_remote_id("set-2");
  EXPECT_TRUE(albums_.Forget("w1", f)->forgotten());
  EXPECT_FALSE(Lookup("Camera 2023")->found());
  // Forgetting a missing key is not an error; without an id it drops any.
  EXPECT_FALSE(albums_.Forget("w1", f)->forgotten());
  ASSERT_TRUE(albums_.Record("w1", Rec("Camera 2023", "set-3")).ok());
  f.clear_remote_id();
  EXPECT_TRUE(albums_.Forget("w1", f)->forgotten());
}

TEST_F(AlbumsTest, KeysAreBytesAndPerDestination) {
  const std::string latin1("Ferien \xe9t\xe9", 10);
  const std::string with_nul("a\0b", 3);
  ASSERT_TRUE(albums_.Record("w1", Rec(latin1, "id-latin1")).ok());
  ASSERT_TRUE(albums_.Record("w1", Rec(with_nul, std::string("id\0x", 4))).ok());
  EXPECT_EQ(Lookup(latin1)->remote_id(), "id-latin1");
  EXPECT_EQ(Lookup(with_nul)->remote_id(), std::string("id\0x", 4));
  EXPECT_FALSE(Lookup("a")->found());  // no cut at the NUL
  // Another destination has its own albums.
  EXPECT_FALSE(Lookup(latin1, 8)->found());
  ASSERT_TRUE(albums_.Record("w1", Rec(latin1, "other", 8))->recorded());
  EXPECT_EQ(Lookup(latin1)->remote_id(), "id-latin1");
}

TEST_F(AlbumsTest, RequestsAreValidated) {
  EXPECT_TRUE(absl::IsInvalidArgument(Lookup("").status()));
  EXPECT_TRUE(Lookup(std::string(1024, 'k')).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(Lookup(std::string(1025, 'k')).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(albums_.Record("w1", Rec("k", "")).status()));
  EXPECT_TRUE(albums_.Record("w1", Rec("k", std::string(1024, 'i'))).ok());
  EXPECT_TRUE(
      absl::IsInvalidArgument(albums_.Record("w1", Rec("k2", std::string(1025, 'i'))).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Lookup("k", 0).status()));
  pb::ForgetAlbumRequest f = Make<pb::ForgetAlbumRequest>("k");
  f.set_remote_id(std::string(1025, 'i'));
  EXPECT_TRUE(absl::IsInvalidArgument(albums_.Forget("w1", f).status()));
  pb::LookupAlbumRequest no_token = Make<pb::LookupAlbumRequest>("k");
  no_token.clear_lease_token();
  absl::Status st = albums_.Lookup("w1", no_token).status();
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_NE(st.message().find("lease_token"), std::string_view::npos) << st;
}

TEST_F(AlbumsTest, WithoutTheLeaseOrRegistrationNothingIsReadOrWritten) {
  pb::RecordAlbumRequest r = Rec("Camera 2023", "set-1");
  r.set_lease_token("stale");
  EXPECT_TRUE(absl::IsPermissionDenied(albums_.Record("w1", r).status()));
  EXPECT_TRUE(store_.rows().empty());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      albums_.Record("never-registered", Rec("Camera 2023", "set-1")).status()));
  EXPECT_TRUE(store_.rows().empty());
}

// `dest add` / `dest set` of every kind that declares the album rule
// (Flickr, SmugMug, Google Photos: added by their connectors) refuse an
// unknown token, naming it and the allowed ones. The check itself
// (CheckAlbumRule through CheckSettingValue) is pinned without a kind in
// workers/album_rule_test.cc.
class AlbumRuleAdminTest : public AdminFixture {};

TEST_F(AlbumRuleAdminTest, DestAddAndSetRefuseAnUnknownTokenOfEveryKindWithAlbums) {
  int n = 0;
  for (const KindSpec& k : DestinationKinds()) {
    if (FindSetting(k, "albums", false) == nullptr) continue;
    nlohmann::json settings = nlohmann::json::object();
    for (const SettingSpec& s : k.keys) {
      if (s.secret || !s.required) continue;
      switch (s.type) {
        case SettingType::kAbsolutePath:
          settings[s.key] = "/srv/x";
          break;
        case SettingType::kInt:
          settings[s.key] = s.min;
          break;
        case SettingType::kBool:
          settings[s.key] = false;
          break;
        case SettingType::kStringList:
          settings[s.key] = nlohmann::json::array();
          break;
        case SettingType::kChoice:
          settings[s.key] = std::string(s.choices).substr(0, std::string(s.choices).find('|'));
          break;
        default:
          settings[s.key] = "https://example.invalid/x";
      }
    }
    const std::string name = absl::StrCat("photos-", n++);
    pb::CreateDestinationRequest req;
    req.set_name(name);
    req.set_kind(k.kind);
    req.set_sealed_credentials("sealed-box");
    settings["albums"] = "{album} {year}";
    req.set_settings_json(settings.dump());
    absl::Status st = admin_.CreateDestination("alice", req).status();
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << k.kind << ": " << st;
    EXPECT_EQ(st.message().substr(0, 7), "albums:") << st;
    EXPECT_NE(st.message().find("unknown token {album}"), absl::string_view::npos) << st;
    EXPECT_NE(st.message().find("{folder} {dir} {year} {month} {device}"), absl::string_view::npos)
        << st;
    settings["albums"] = "{device} {year}";
    req.set_settings_json(settings.dump());
    absl::Status ok = admin_.CreateDestination("alice", req).status();
    ASSERT_TRUE(ok.ok()) << k.kind << ": " << ok;
    pb::UpdateDestinationRequest up;
    up.set_name(name);
    up.set_settings_patch_json(R"({"albums":"{nope}"})");
    absl::Status set = admin_.UpdateDestination("alice", up).status();
    EXPECT_TRUE(absl::IsInvalidArgument(set)) << set;
    EXPECT_NE(set.message().find("{nope}"), absl::string_view::npos) << set;
  }
  if (n == 0) GTEST_SKIP() << "no destination kind declares `albums` in this build";
}

}  // namespace
}  // namespace shoebox::coordinator
