// `dest add|set` flags: --set values typed by the kind's declaration,
// secrets from argv, standard input and files.
#include "cli/dest_input.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace shoebox::cli {
namespace {

using json = nlohmann::json;

StdinReader Stdin(const std::string& text, int* calls) {
  return [text, calls](const std::string&) -> absl::StatusOr<std::string> {
    ++*calls;
    return text;
  };
}

TEST(DestInput, SetValuesGetTheirDeclaredType) {
  auto s = SettingsFromFlags("sftp", {"host=nas.local", "port=45222", "host_key=ssh-ed25519 AAAA"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, json({{"host", "nas.local"}, {"port", 45222}, {"host_key", "ssh-ed25519 AAAA"}}));
  auto local = SettingsFromFlags("local", {"root=/srv/b", "fsync=false"});
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ((*local)["fsync"], json(false));
  auto patch = SettingsFromFlags("local", {"fsync=no"}, {"root"});
  ASSERT_TRUE(patch.ok());
  EXPECT_EQ(*patch, json({{"fsync", false}, {"root", nullptr}}));
}

TEST(DestInput, BadSetValuesNameFlagAndKey) {
  auto typo = SettingsFromFlags("local", {"rooot=/srv"});
  EXPECT_EQ(typo.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(typo.status().message().rfind("--set rooot:", 0), 0u) << typo.status();
  EXPECT_NE(typo.status().message().find("did you mean 'root'"), std::string::npos);
  auto port = SettingsFromFlags("sftp", {"port=ssh"});
  EXPECT_EQ(port.status().message().rfind("--set port:", 0), 0u) << port.status();
  auto kind = SettingsFromFlags("ftp", {});
  EXPECT_NE(kind.status().message().find("local, s3, webdav, sftp, rclone"), std::string::npos);
  auto secret = SettingsFromFlags("webdav", {"password=x"});
  EXPECT_NE(secret.status().message().find("--secret"), std::string::npos) << secret.status();
  auto no_eq = SettingsFromFlags("local", {"root"});
  EXPECT_EQ(no_eq.status().code(), absl::StatusCode::kInvalidArgument);
  auto both = SettingsFromFlags("local", {"fsync=true"}, {"fsync"});
  EXPECT_EQ(both.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DestInput, SecretFromStdinLosesOneTrailingNewline) {
  int calls = 0;
  auto in = SecretsFromFlags("webdav", {"user=alice", "password=-"}, {}, Stdin("s3cret\n", &calls));
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(in->secrets, json({{"user", "alice"}, {"password", "s3cret"}}));
  EXPECT_TRUE(in->from_argv);  // "alice" came from argv
  auto only_stdin = SecretsFromFlags("webdav", {"password=-"}, {}, Stdin("pw", &calls));
  ASSERT_TRUE(only_stdin.ok());
  EXPECT_FALSE(only_stdin->from_argv);
  // Standard input serves one key only.
  auto twice = SecretsFromFlags("webdav", {"user=-", "password=-"}, {}, Stdin("x", &calls));
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DestInput, SecretFilesKeepMultiLineValues) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("dest-input-" + std::to_string(getpid())))
          .string();
  std::filesystem::create_directories(dir);
  const std::string key =
      "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n";
  std::ofstream(dir + "/id") << key;
  std::ofstream(dir + "/pw") << "hunter2\n";
  int calls = 0;
  auto in = SecretsFromFlags("sftp", {}, {"private_key=" + dir + "/id", "password=" + dir + "/pw"},
                             Stdin("", &calls));
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->secrets["private_key"], key);
  EXPECT_EQ(in->secrets["password"], "hunter2");
  EXPECT_EQ(calls, 0);
  auto missing = SecretsFromFlags("sftp", {}, {"password=" + dir + "/nope"}, Stdin("", &calls));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(DestInput, SecretsAreCheckedAgainstTheKind) {
  int calls = 0;
  auto missing = SecretsFromFlags("s3", {"access_key_id=AK"}, {}, Stdin("", &calls));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("secret_access_key"), std::string::npos);
  auto typo = SecretsFromFlags("webdav", {"pasword=x"}, {}, Stdin("", &calls));
  EXPECT_NE(typo.status().message().find("did you mean 'password'"), std::string::npos);
  // The value never appears in an error.
  auto no_eq = SecretsFromFlags("webdav", {"hunter2"}, {}, Stdin("", &calls));
  EXPECT_EQ(no_eq.status().message().find("hunter2"), std::string::npos) << no_eq.status();
}

}  // namespace
}  // namespace shoebox::cli
