// Every `shoebox ...` command a coordinator hint suggests (waiting reasons of
// dead, cancelled and held jobs, coordinator/queue_policy.cc) is a command
// line the CLI parses into the command it names. Issue 16: the hint said
// `shoebox jobs retry`, which is no command.
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli/commands.h"
#include "coordinator/queue_policy.h"
#include "gtest/gtest.h"

namespace shoebox {
namespace {

using coordinator::JobState;
using coordinator::WaitFacts;
using coordinator::WaitingReason;

// The text between the first pair of backquotes; "" when there is none.
std::string Quoted(const std::string& s) {
  auto a = s.find('`');
  if (a == std::string::npos) return "";
  auto b = s.find('`', a + 1);
  if (b == std::string::npos) return "";
  return s.substr(a + 1, b - a - 1);
}

// Splits a shell command line into words (plain words and '...' quotes).
std::vector<std::string> ShellWords(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false, quoted = false;
  for (char c : line) {
    if (quoted) {
      if (c == '\'') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '\'') {
      quoted = in_word = true;
    } else if (c == ' ') {
      if (in_word) out.push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(cur);
  return out;
}

// Parses `command` with the CLI's own parser; returns the name of the
// command that would run ("" and a failure when it does not parse).
std::string ParsedCommand(const std::string& command) {
  std::vector<std::string> words = ShellWords(command);
  EXPECT_FALSE(words.empty());
  if (words.empty()) return "";
  EXPECT_EQ(words[0], "shoebox") << command;
  cli::CliContext ctx{cli::ClientOptions{}};
  CLI::App app{cli::kCliDescription};
  cli::RegisterCommands(app, ctx);
  std::vector<std::string> args(words.rbegin(), words.rend() - 1);  // CLI11 wants them reversed
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    ADD_FAILURE() << "`" << command << "` does not parse: " << e.what();
    return "";
  }
  for (const CLI::App* c : ctx.HandledCommands()) {
    if (c->parsed()) return c->get_name();
  }
  return "";
}

WaitFacts Facts(JobState state, int64_t job_id, const std::string& dest) {
  WaitFacts f;
  f.state = state;
  f.job_id = job_id;
  f.destination = dest;
  f.destination_kind = "local";
  f.attempts = 8;
  f.last_error = "disk full";
  f.workers_serving = 1;
  return f;
}

TEST(HintCommands, DeadJobHintIsARetryThatParses) {
  const std::string reason = WaitingReason(Facts(JobState::kDead, 42, "nas"));
  EXPECT_EQ(Quoted(reason), "shoebox retry --job 42") << reason;
  EXPECT_EQ(ParsedCommand(Quoted(reason)), "retry");
}

TEST(HintCommands, DestinationLevelHintsNameTheDestinationAndState) {
  // A destination's oldest job (status) has no job ID in its facts.
  const std::string dead = WaitingReason(Facts(JobState::kDead, 0, "my nas"));
  EXPECT_EQ(Quoted(dead), "shoebox retry --dest 'my nas' --state dead") << dead;
  EXPECT_EQ(ParsedCommand(Quoted(dead)), "retry");
  const std::string cancelled = WaitingReason(Facts(JobState::kCancelled, 0, "nas"));
  EXPECT_EQ(Quoted(cancelled), "shoebox retry --dest nas --state cancelled") << cancelled;
  EXPECT_EQ(ParsedCommand(Quoted(cancelled)), "retry");
}

TEST(HintCommands, EveryHintingReasonParses) {
  // Each reason and the command its hint must be: dead and cancelled jobs are
  // retried; refused credentials are fixed with `dest set` (which lifts the
  // hold, so no retry is needed).
  std::vector<std::pair<WaitFacts, std::string>> all;
  for (int64_t id : {int64_t{0}, int64_t{7}}) {
    all.emplace_back(Facts(JobState::kDead, id, "nas"), "retry");
    all.emplace_back(Facts(JobState::kCancelled, id, "bucket"), "retry");
    WaitFacts auth = Facts(JobState::kQueued, id, "photos");
    auth.auth_failed_unix_ms = 1795716000000;
    auth.auth_error = "401 Unauthorized";
    all.emplace_back(auth, "set");
  }
  for (const auto& [f, want] : all) {
    const std::string reason = WaitingReason(f);
    const std::string cmd = Quoted(reason);
    ASSERT_FALSE(cmd.empty()) << "no command in: " << reason;
    EXPECT_EQ(ParsedCommand(cmd), want) << reason;
  }
}

}  // namespace
}  // namespace shoebox
