#include "common/log.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace shoebox {
namespace {

TEST(LogTest, JsonLinesStayValidWhateverIsLogged) {
  ::testing::internal::CaptureStderr();
  InitLogging("shoebox-test", "info", /*json=*/true);
  spdlog::info("file \"a\\b\"\nnext line {}", 42);
  spdlog::debug("hidden at info level");
  spdlog::default_logger()->flush();
  const std::string out = ::testing::internal::GetCapturedStderr();
  const size_t nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos) << out;
  EXPECT_EQ(nl + 1, out.size()) << "exactly one line expected: " << out;
  auto j = nlohmann::json::parse(out.substr(0, nl), nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["msg"], "file \"a\\b\"\nnext line 42");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["program"], "shoebox-test");
}

TEST(LogTest, TextLinesCarryLevelAndProgram) {
  ::testing::internal::CaptureStderr();
  InitLogging("shoebox-test", "warn");
  spdlog::info("not shown");
  spdlog::warn("disk {} is almost full", "/var");
  spdlog::default_logger()->flush();
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.find("not shown"), std::string::npos);
  EXPECT_NE(out.find("W shoebox-test["), std::string::npos) << out;
  EXPECT_NE(out.find("disk /var is almost full"), std::string::npos) << out;
}

}  // namespace
}  // namespace shoebox
