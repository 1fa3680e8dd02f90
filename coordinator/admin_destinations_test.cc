// Admin's destination calls against in-memory stores (issue 16): settings
// validated against the kind's declaration before the store sees them,
// patches merged and re-validated, removal, pause, checks, bindings.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "coordinator/admin_test_fixture.h"

namespace shoebox::coordinator {
namespace {

namespace pb = shoebox::v1;

class AdminDestinationsTest : public AdminFixture {
 protected:
  absl::Status Create(const std::string& name, const std::string& kind, const std::string& settings,
                      const std::string& sealed = "") {
    pb::CreateDestinationRequest req;
    req.set_name(name);
    req.set_kind(kind);
    req.set_settings_json(settings);
    req.set_sealed_credentials(sealed);
    return admin_.CreateDestination("alice", req).status();
  }
};

// The message starts with the field, as every refusal of the coordinator.
void ExpectRefusedFor(const absl::Status& st, const std::string& key) {
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_EQ(st.message().substr(0, key.size() + 1), key + ":") << st;
}

TEST_F(AdminDestinationsTest, CreateRefusesWhatNoConnectorCouldUse) {
  ExpectRefusedFor(Create("a", "ftp", "{}"), "kind");
  ExpectRefusedFor(Create("a", "local", R"({"rooot":"/srv"})"), "rooot");
  ExpectRefusedFor(Create("a", "local", R"({"root":"srv"})"), "root");
  ExpectRefusedFor(Create("a", "local", "{}"), "root");
  ExpectRefusedFor(Create("a", "s3", R"({"endpoint":"http://127.0.0.1:9"})", "box"), "bucket");
  ExpectRefusedFor(Create("a", "s3", R"({"bucket":"b"})"), "sealed_credentials");
  ExpectRefusedFor(Create("a", "sftp", R"({"host":"h","host_key":"k","port":"45222"})"), "port");
  ExpectRefusedFor(Create("a", "local", R"({"root":"/srv","fsync":"false"})"), "fsync");
  EXPECT_TRUE(destinations_.ListDestinations()->empty());
  EXPECT_TRUE(Audit().empty());
  EXPECT_TRUE(Create("a", "sftp", R"({"host":"h","host_key":"k","port":45222})").ok());
}

TEST_F(AdminDestinationsTest, UpdateMergesThePatchAndValidatesTheResult) {
  ASSERT_TRUE(Create("nas", "local", R"({"root":"/srv/nas"})").ok());
  pb::UpdateDestinationRequest req;
  req.set_name("nas");
  req.set_settings_patch_json(R"({"fsync":false})");
  req.set_max_concurrency(2);
  auto r = admin_.UpdateDestination("alice", req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(nlohmann::json::parse(r->destination().settings_json()),
            nlohmann::json({{"root", "/srv/nas"}, {"fsync", false}}));
  EXPECT_EQ(r->destination().max_concurrency(), 2u);
  EXPECT_EQ(Audit()[0].action, "UpdateDestination");
  EXPECT_EQ(Audit()[0].detail, "settings=fsync max_concurrency=2");

  // Removing a required key, or a typo, is refused and changes nothing.
  req.clear_max_concurrency();
  req.set_settings_patch_json(R"({"root":null})");
  ExpectRefusedFor(admin_.UpdateDestination("alice", req).status(), "root");
  req.set_settings_patch_json(R"({"fsynk":true})");
  ExpectRefusedFor(admin_.UpdateDestination("alice", req).status(), "fsynk");
  auto list = destinations_.ListDestinations();
  EXPECT_EQ(nlohmann::json::parse((*list)[0].settings_json),
            nlohmann::json({{"root", "/srv/nas"}, {"fsync", false}}));

  // A removed optional key goes back to its default.
  req.set_settings_patch_json(R"({"fsync":null})");
  ASSERT_TRUE(admin_.UpdateDestination("alice", req).ok());
  EXPECT_EQ(nlohmann::json::parse((*destinations_.ListDestinations())[0].settings_json),
            nlohmann::json({{"root", "/srv/nas"}}));

  req.set_name("ghost");
  EXPECT_TRUE(absl::IsNotFound(admin_.UpdateDestination("alice", req).status()));
}

TEST_F(AdminDestinationsTest, CredentialsAreReplacedOrClearedNeverMerged) {
  ASSERT_TRUE(Create("b", "s3", R"({"bucket":"photos"})", "old-box").ok());
  pb::UpdateDestinationRequest req;
  req.set_name("b");
  req.set_sealed_credentials("new-box");
  auto r = admin_.UpdateDestination("alice", req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->destination().sealed_credentials(), "new-box");
  EXPECT_EQ(Audit()[0].detail, "settings= credentials=replaced");
  // s3 needs credentials: clearing them is refused.
  req.clear_sealed_credentials();
  req.set_clear_credentials(true);
  ExpectRefusedFor(admin_.UpdateDestination("alice", req).status(), "sealed_credentials");
  req.set_sealed_credentials("x");
  ExpectRefusedFor(admin_.UpdateDestination("alice", req).status(), "clear_credentials");
}

TEST_F(AdminDestinationsTest, RemoveRefusesWhileJobsRunUnlessForced) {
  ASSERT_TRUE(Create("nas", "local", R"({"root":"/srv/nas"})").ok());
  ASSERT_TRUE(destinations_.BindFolder("laptop", "", "nas", false).ok());
  destinations_.set_leased_jobs(2);
  pb::RemoveDestinationRequest req;
  req.set_name("nas");
  EXPECT_TRUE(absl::IsFailedPrecondition(admin_.RemoveDestination("alice", req).status()));
  req.set_force(true);
  auto r = admin_.RemoveDestination("alice", req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->bindings_removed(), 1u);
  EXPECT_FALSE(r->purged());
  EXPECT_TRUE(destinations_.ListDestinations()->empty());
  EXPECT_EQ(Audit()[0].action, "RemoveDestination");
  // The name is free again.
  EXPECT_TRUE(Create("nas", "local", R"({"root":"/srv/nas2"})").ok());
  req.set_name("bad name");
  ExpectRefusedFor(admin_.RemoveDestination("alice", req).status(), "name");
}

TEST_F(AdminDestinationsTest, PauseResumeAndChecks) {
  ASSERT_TRUE(Create("nas", "local", R"({"root":"/srv/nas"})").ok());
  pb::PauseDestinationRequest p;
  p.set_name("nas");
  p.set_paused(true);
  auto paused = admin_.PauseDestination("alice", p);
  ASSERT_TRUE(paused.ok());
  EXPECT_NE(paused->paused_unix_ms(), 0);
  pb::CheckDestinationRequest c;
  c.set_name("nas");
  c.set_write_probe(true);
  EXPECT_TRUE(absl::IsFailedPrecondition(admin_.CheckDestination("alice", c).status()));
  p.set_paused(false);
  ASSERT_EQ(admin_.PauseDestination("alice", p)->paused_unix_ms(), 0);
  auto queued = admin_.CheckDestination("alice", c);
  ASSERT_TRUE(queued.ok()) << queued.status();
  EXPECT_EQ(queued->state(), pb::JOB_STATE_QUEUED);
  EXPECT_EQ(destinations_.last_check_mode(), "write");
  destinations_.FinishCheck(queued->job_id(), false, "listing: UNAUTHENTICATED: 401");
  pb::GetDestinationCheckRequest g;
  g.set_name("nas");
  auto got = admin_.GetDestinationCheck(g);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state(), pb::JOB_STATE_DEAD);
  EXPECT_EQ(got->error(), "listing: UNAUTHENTICATED: 401");
}

TEST_F(AdminDestinationsTest, BindingsListAndUnbind) {
  ASSERT_TRUE(Create("nas", "local", R"({"root":"/srv/nas"})").ok());
  pb::BindFolderRequest b;
  b.set_device("laptop");
  b.set_folder("/home/a");
  b.set_destination("nas");
  ASSERT_TRUE(admin_.BindFolder("alice", b).ok());
  auto list = admin_.ListBindings(pb::ListBindingsRequest());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->bindings_size(), 1);
  EXPECT_EQ(list->bindings(0).folder(), "/home/a");
  pb::UnbindFolderRequest u;
  u.set_device("laptop");
  u.set_folder("/home/a");
  u.set_destination("nas");
  ASSERT_TRUE(admin_.UnbindFolder("alice", u).ok());
  EXPECT_EQ(Audit()[0].action, "UnbindFolder");
  EXPECT_TRUE(absl::IsNotFound(admin_.UnbindFolder("alice", u).status()));
  u.set_folder("relative");
  absl::Status relative = admin_.UnbindFolder("alice", u).status();
  EXPECT_EQ(relative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(relative.message().rfind("folder", 0), 0u) << relative;
}

}  // namespace
}  // namespace shoebox::coordinator
