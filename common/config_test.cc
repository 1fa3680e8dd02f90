#include "common/config.h"

#include <unistd.h>

#include <fstream>

#include "gtest/gtest.h"

namespace shoebox {
namespace {

constexpr char kDoc[] = R"(# agent config
[agent]
name = "laptop"
settle_seconds = "five"
threads = 4
verbose = true
ratio = 0.5
whole = 3
paths = ["/a", "/b"]
mixed = ["/a", 2]

[[folder]]
path = "/home/me/Photos"
destination = "photos"

[[folder]]
path = "/home/me/Docs"
)";

TEST(ConfigTest, TypedGettersReturnValuesAndDefaults) {
  auto c = Config::Parse(kDoc, "/etc/shoebox/agent.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c->GetString("agent.name", "x"), "laptop");
  EXPECT_EQ(*c->GetInt("agent.threads", 1), 4);
  EXPECT_EQ(*c->GetBool("agent.verbose", false), true);
  EXPECT_DOUBLE_EQ(*c->GetDouble("agent.ratio", 0), 0.5);
  EXPECT_DOUBLE_EQ(*c->GetDouble("agent.whole", 0), 3.0);
  EXPECT_EQ(*c->GetStrings("agent.paths", {}), (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(*c->GetInt("agent.missing", 7), 7);
  EXPECT_EQ(*c->GetString("nothing.here", "def"), "def");
  EXPECT_TRUE(c->Has("agent.name"));
  EXPECT_FALSE(c->Has("agent.nope"));
  EXPECT_EQ(c->source(), "/etc/shoebox/agent.toml");
}

TEST(ConfigTest, WrongTypeNamesFileLineAndKey) {
  auto c = Config::Parse(kDoc, "/etc/shoebox/agent.toml");
  ASSERT_TRUE(c.ok());
  auto v = c->GetInt("agent.settle_seconds", 5);
  ASSERT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(v.status().message(),
            "/etc/shoebox/agent.toml:4: key 'agent.settle_seconds': expected an integer, found a "
            "string");
  auto s = c->GetStrings("agent.mixed", {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.status().message(),
      "/etc/shoebox/agent.toml:10: key 'agent.mixed[1]': expected a string, found an integer");
  EXPECT_FALSE(c->GetBool("agent.threads", false).ok());
  EXPECT_FALSE(c->GetString("agent.threads", "").ok());
}

TEST(ConfigTest, SyntaxErrorNamesFileAndLine) {
  auto c = Config::Parse("a = 1\nb = = 2\n", "broken.toml");
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message().rfind("broken.toml:2:", 0), 0u) << c.status();
}

TEST(ConfigTest, MissingRequiredKeyIsNamed) {
  auto c = Config::Parse(kDoc, "agent.toml");
  ASSERT_TRUE(c.ok());
  auto r = c->RequireString("coordinator.address");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("agent.toml: missing required key 'coordinator.address'"),
            absl::string_view::npos)
      << r.status();
  EXPECT_EQ(*c->RequireString("agent.name"), "laptop");
}

TEST(ConfigTest, ArrayOfTablesBecomesSubConfigs) {
  auto c = Config::Parse(kDoc, "agent.toml");
  ASSERT_TRUE(c.ok());
  auto folders = c->GetTables("folder");
  ASSERT_TRUE(folders.ok()) << folders.status();
  ASSERT_EQ(folders->size(), 2u);
  EXPECT_EQ(*(*folders)[0].RequireString("path"), "/home/me/Photos");
  EXPECT_EQ(*(*folders)[0].GetString("destination", ""), "photos");
  auto missing = (*folders)[1].RequireString("destination");
  EXPECT_NE(missing.status().message().find("agent.toml"), absl::string_view::npos);
  auto wrong = (*folders)[0].GetInt("destination", 0);
  EXPECT_EQ(wrong.status().message(),
            "agent.toml:14: key 'folder[0].destination': expected an integer, found a string");
  EXPECT_TRUE(c->GetTables("none")->empty());
  EXPECT_FALSE(c->GetTables("agent").ok()) << "a plain table is not an array of tables";
}

TEST(ConfigTest, LoadFileReadsAndNamesMissingFiles) {
  std::string path = "/tmp/shoebox_config_test_" + std::to_string(::getpid()) + ".toml";
  {
    std::ofstream out(path);
    out << "[x]\ny = 2\nz = \"s\"\n";
  }
  auto c = Config::LoadFile(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c->GetInt("x.y", 0), 2);
  auto bad = c->GetInt("x.z", 0);
  EXPECT_EQ(bad.status().message(), path + ":3: key 'x.z': expected an integer, found a string");
  ::unlink(path.c_str());
  auto missing = Config::LoadFile(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(path), absl::string_view::npos);
}

}  // namespace
}  // namespace shoebox

namespace shoebox {
namespace {

TEST(ConfigUnknownKeys, MisspeltKeyIsNamedWithFileLineSuggestionAndKnownKeys) {
  auto c = Config::Parse(
      "[agent]\nsettle_secs = 3\nbandwith_limit = \"1MB\"\nsettle_seconds = 1\n"
      "[[folder]]\npath = \"/p\"\ninclde = [\"*.jpg\"]\n",
      "/etc/agent.toml");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->GetInt("agent.settle_seconds", 0).ok());
  ASSERT_TRUE(c->Has("agent.bandwidth_limit") == false);
  auto folders = c->GetTables("folder");
  ASSERT_TRUE(folders.ok());
  ASSERT_EQ(folders->size(), 1u);
  ASSERT_TRUE((*folders)[0].GetString("path", "").ok());
  ASSERT_TRUE((*folders)[0].GetStrings("include", {}).ok());
  ASSERT_TRUE((*folders)[0].GetStrings("exclude", {}).ok());
  const std::vector<std::string> w = c->UnknownKeyWarnings();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0],
            "/etc/agent.toml:2: unknown key 'agent.settle_secs' is ignored (did you mean "
            "'agent.settle_seconds'?); known keys in [agent]: bandwidth_limit, settle_seconds");
  EXPECT_NE(w[1].find("/etc/agent.toml:3: unknown key 'agent.bandwith_limit'"), std::string::npos)
      << w[1];
  EXPECT_NE(w[1].find("did you mean 'agent.bandwidth_limit'?"), std::string::npos) << w[1];
  EXPECT_NE(w[2].find(":7: unknown key 'folder[0].inclde'"), std::string::npos) << w[2];
  EXPECT_NE(w[2].find("did you mean 'folder[0].include'?"), std::string::npos) << w[2];
  EXPECT_NE(w[2].find("known keys in [[folder]]: exclude, include, path"), std::string::npos)
      << w[2];
}

TEST(ConfigUnknownKeys, KnownKeysGiveNoWarningAndFarOffNamesNoSuggestion) {
  auto c = Config::Parse("[worker]\nname = \"w\"\n[frobnicator]\nzzz = 1\n", "w.toml");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->GetString("worker.name", "").ok());
  ASSERT_TRUE(c->GetInt("worker.concurrency", 2).ok());
  const std::vector<std::string> w = c->UnknownKeyWarnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], "w.toml:4: unknown key 'frobnicator.zzz' is ignored; known tables: [worker]");

  auto ok = Config::Parse("[worker]\nname = \"w\"\n", "w.toml");
  ASSERT_TRUE(ok.ok());
  ASSERT_TRUE(ok->GetString("worker.name", "").ok());
  EXPECT_TRUE(ok->UnknownKeyWarnings().empty());
}

}  // namespace
}  // namespace shoebox
