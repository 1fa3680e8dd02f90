#include "agent/agent_config.h"

#include "gtest/gtest.h"

namespace shoebox::agent {
namespace {

TEST(AgentConfigTest, ParsesEveryKey) {
  auto c = ParseAgentConfig(R"(
[coordinator]
address = "127.0.0.1:7443"
[agent]
device_name = "laptop"
state_dir = "/tmp/x/state"
settle_seconds = 3
close_confirm_ms = 150
bandwidth_limit = "2 MiB"
backup_window = "22:00-06:00"
rescan_interval_seconds = 600
paused = true
hash_threads = 2
report_batch = 500
[[folder]]
path = "/home/me/Pictures/"
exclude = ["private/**"]
[[folder]]
path = "/data/all"
all_files = true
)",
                            "agent.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->warnings.empty()) << c->warnings[0];
  EXPECT_EQ(c->coordinator_address, "127.0.0.1:7443");
  EXPECT_EQ(c->device_name, "laptop");
  EXPECT_EQ(c->state_dir, "/tmp/x/state");
  EXPECT_EQ(c->settle_seconds, 3);
  EXPECT_EQ(c->close_confirm_ms, 150);
  EXPECT_EQ(c->bandwidth_limit, 2u * 1024 * 1024);
  EXPECT_TRUE(c->backup_window.enabled);
  EXPECT_EQ(c->backup_window.start_minute, 22 * 60);
  EXPECT_EQ(c->backup_window.end_minute, 6 * 60);
  EXPECT_TRUE(c->paused);
  EXPECT_EQ(c->hash_threads, 2);
  EXPECT_EQ(c->report_batch, 500);
  ASSERT_EQ(c->folders.size(), 2u);
  EXPECT_EQ(c->folders[0].path, "/home/me/Pictures");
  EXPECT_EQ(c->folders[0].exclude.size(), 1u);
  EXPECT_TRUE(c->folders[1].all_files);
}

TEST(AgentConfigTest, CloseConfirmationDefaultsTo300MsAndMustNotBeNegative) {
  auto d =
      ParseAgentConfig("[coordinator]\naddress = \"h:1\"\n[[folder]]\npath = \"/p\"\n", "a.toml");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->close_confirm_ms, 300);
  auto neg = ParseAgentConfig(
      "[coordinator]\naddress = \"h:1\"\n[agent]\nclose_confirm_ms = -1\n[[folder]]\npath = "
      "\"/p\"\n",
      "b.toml");
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(std::string(neg.status().message()).find("b.toml: agent.close_confirm_ms must be >= 0"),
            std::string::npos)
      << neg.status();
}

TEST(AgentConfigTest, MissingAddressOrFoldersIsAClearError) {
  auto a = ParseAgentConfig("[[folder]]\npath = \"/x\"\n", "a.toml");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(std::string(a.status().message()).find("coordinator.address"), std::string::npos);
  auto b = ParseAgentConfig("[coordinator]\naddress = \"h:1\"\n", "b.toml");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(std::string(b.status().message()).find("[[folder]]"), std::string::npos);
  auto rel = ParseAgentConfig("[coordinator]\naddress = \"h:1\"\n[[folder]]\npath = \"relative\"\n",
                              "c.toml");
  EXPECT_FALSE(rel.ok());
}

TEST(AgentConfigTest, EveryDocumentedKeyIsKnownAndMisspeltOnesAreNamed) {
  // docs/agent.md's reference, every key set.
  auto all = ParseAgentConfig(R"(
[coordinator]
address = "h:1"
insecure_dev = false
tls_dir = "/t"
[agent]
device_name = "d"
state_dir = "/s"
settle_seconds = 10
close_confirm_ms = 300
bandwidth_limit = 0
backup_window = ""
rescan_interval_seconds = 21600
paused = false
hash_threads = 0
report_batch = 1000
upload_streams = 4
verify_uploads = false
rpc_timeout_seconds = 60
log_level = "info"
log_json = false
[[folder]]
path = "/p"
include = []
exclude = []
all_files = false
)",
                              "agent.toml");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->warnings.empty()) << all->warnings[0];

  // The issue's two misspellings: the values are not used, and each is named.
  auto typo = ParseAgentConfig(
      "[coordinator]\naddress = \"h:1\"\n[agent]\nsettle_secs = 0\nbandwith_limit = \"1MB\"\n"
      "[[folder]]\npath = \"/p\"\n",
      "/home/me/.config/shoebox/agent.toml");
  ASSERT_TRUE(typo.ok()) << typo.status();
  EXPECT_EQ(typo->settle_seconds, 10);
  EXPECT_EQ(typo->bandwidth_limit, 0u);
  ASSERT_EQ(typo->warnings.size(), 2u);
  EXPECT_NE(typo->warnings[0].find("/home/me/.config/shoebox/agent.toml:4: unknown key "
                                   "'agent.settle_secs' is ignored (did you mean "
                                   "'agent.settle_seconds'?); known keys in [agent]: "),
            std::string::npos)
      << typo->warnings[0];
  EXPECT_NE(typo->warnings[1].find(":5: unknown key 'agent.bandwith_limit' is ignored (did you "
                                   "mean 'agent.bandwidth_limit'?)"),
            std::string::npos)
      << typo->warnings[1];
}

TEST(AgentConfigTest, ByteRatesAndWindows) {
  EXPECT_EQ(*ParseByteRate("10MB"), 10000000u);
  EXPECT_EQ(*ParseByteRate("512 KiB/s"), 512u * 1024);
  EXPECT_EQ(*ParseByteRate("0"), 0u);
  EXPECT_FALSE(ParseByteRate("fast").ok());
  EXPECT_FALSE(ParseByteRate("10 parsecs").ok());
  EXPECT_FALSE(ParseBackupWindow("22-06").ok());
  auto w = ParseBackupWindow("01:30-02:45");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->start_minute, 90);
  EXPECT_EQ(w->end_minute, 165);
  EXPECT_FALSE(ParseBackupWindow("").value().enabled);
}

TEST(AgentConfigTest, WindowWrapsMidnight) {
  setenv("TZ", "UTC", 1);
  tzset();
  BackupWindow w = *ParseBackupWindow("22:00-06:00");
  int64_t day = 1700006400;  // 2023-11-15 00:00 UTC
  EXPECT_TRUE(w.Contains(day + 23 * 3600));
  EXPECT_TRUE(w.Contains(day + 5 * 3600));
  EXPECT_FALSE(w.Contains(day + 12 * 3600));
  EXPECT_EQ(w.SecondsUntilOpen(day + 12 * 3600), 10 * 3600);
  EXPECT_EQ(w.SecondsUntilOpen(day + 23 * 3600), 0);
}

}  // namespace
}  // namespace shoebox::agent
