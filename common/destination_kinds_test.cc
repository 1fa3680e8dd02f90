#include "common/destination_kinds.h"

#include <set>

#include "gtest/gtest.h"

namespace shoebox {
namespace {

using json = nlohmann::json;

const SettingSpec& Spec(const char* kind, const char* key, bool secret = false) {
  const KindSpec* k = FindDestinationKind(kind);
  EXPECT_NE(k, nullptr) << kind;
  const SettingSpec* s = FindSetting(*k, key, secret);
  EXPECT_NE(s, nullptr) << kind << " " << key;
  return *s;
}

TEST(DestinationKinds, TableIsWellFormed) {
  std::set<std::string> kinds;
  for (const KindSpec& k : DestinationKinds()) {
    EXPECT_TRUE(kinds.insert(k.kind).second) << k.kind;
    std::set<std::pair<std::string, bool>> keys;
    for (const SettingSpec& s : k.keys) {
      EXPECT_TRUE(keys.insert({s.key, s.secret}).second) << k.kind << " " << s.key;
      EXPECT_NE(std::string(s.help), "") << s.key;
      if (*s.default_json != '\0') {
        json d = json::parse(s.default_json, nullptr, false);
        ASSERT_FALSE(d.is_discarded()) << k.kind << " " << s.key;
        EXPECT_TRUE(CheckSettingValue(k.kind, s, d, false).ok()) << k.kind << " " << s.key;
      }
      if (s.type == SettingType::kInt) {
        EXPECT_LT(s.min, s.max) << s.key;
      }
    }
    for (const auto& group : k.one_of) {
      for (const std::string& key : group) {
        EXPECT_NE(FindSetting(k, key, false), nullptr) << key;
      }
    }
  }
  EXPECT_EQ(DestinationKindNames(),
            "local, s3, webdav, sftp, rclone, dropbox, onedrive, gdrive, flickr, smugmug, gphotos");
}

TEST(DestinationKinds, TextConvertsToTheDeclaredType) {
  auto port = ConvertSettingText("sftp", Spec("sftp", "port"), "45222");
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, json(45222));
  auto fsync = ConvertSettingText("local", Spec("local", "fsync"), "false");
  ASSERT_TRUE(fsync.ok());
  EXPECT_EQ(*fsync, json(false));
  EXPECT_EQ(*ConvertSettingText("local", Spec("local", "fsync"), "Yes"), json(true));
  EXPECT_EQ(*ConvertSettingText("s3", Spec("s3", "resolve"), "a:1:x, b:2:y"),
            json::array({"a:1:x", "b:2:y"}));
  EXPECT_EQ(*ConvertSettingText("s3", Spec("s3", "resolve"), R"(["a:1:x"])"),
            json::array({"a:1:x"}));
  EXPECT_EQ(*ConvertSettingText("s3", Spec("s3", "bucket"), "007"), json("007"));
}

TEST(DestinationKinds, BadTextNamesTheKeyAndTheType) {
  auto port = ConvertSettingText("sftp", Spec("sftp", "port"), "22x");
  EXPECT_EQ(port.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(port.status().message().find("port"), std::string::npos);
  EXPECT_NE(port.status().message().find("integer"), std::string::npos);
  auto range = ConvertSettingText("sftp", Spec("sftp", "port"), "70000");
  EXPECT_NE(range.status().message().find("1..65535"), std::string::npos) << range.status();
  auto b = ConvertSettingText("local", Spec("local", "fsync"), "maybe");
  EXPECT_NE(b.status().message().find("true or false"), std::string::npos);
  auto root = ConvertSettingText("local", Spec("local", "root"), "backups");
  EXPECT_NE(root.status().message().find("absolute"), std::string::npos);
  auto style = ConvertSettingText("s3", Spec("s3", "style"), "vhost");
  EXPECT_NE(style.status().message().find("one of path, virtual"), std::string::npos);
  auto url = ConvertSettingText("webdav", Spec("webdav", "url"), "ftp://x");
  EXPECT_NE(url.status().message().find("http://"), std::string::npos);
}

TEST(DestinationKinds, SettingsValidation) {
  EXPECT_TRUE(ValidateDestinationSettings("local", {{"root", "/srv/b"}, {"fsync", false}}).ok());
  auto kind = ValidateDestinationSettings("ftp", json::object());
  EXPECT_EQ(kind.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(kind.message().find("local, s3, webdav, sftp, rclone"), std::string::npos);
  auto typo = ValidateDestinationSettings("local", {{"rooot", "/srv/b"}});
  EXPECT_EQ(typo.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(typo.message().find("rooot"), std::string::npos);
  EXPECT_NE(typo.message().find("did you mean 'root'"), std::string::npos) << typo;
  auto missing = ValidateDestinationSettings("s3", {{"endpoint", "http://127.0.0.1:9000"}});
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.message().rfind("bucket:", 0), 0u) << missing;
  auto relative = ValidateDestinationSettings("local", {{"root", "backups"}});
  EXPECT_EQ(relative.message().rfind("root:", 0), 0u) << relative;
  // Strict at the coordinator: text where an integer belongs is refused.
  auto text_port = ValidateDestinationSettings(
      "sftp", {{"host", "h"}, {"host_key", "ssh-ed25519 AAAA"}, {"port", "45222"}});
  EXPECT_EQ(text_port.message().rfind("port:", 0), 0u) << text_port;
  auto no_key = ValidateDestinationSettings("sftp", {{"host", "h"}});
  EXPECT_NE(no_key.message().find("known_hosts or host_key"), std::string::npos) << no_key;
  auto secret_as_setting =
      ValidateDestinationSettings("webdav", {{"url", "https://x/"}, {"password", "p"}});
  EXPECT_NE(secret_as_setting.message().find("--secret"), std::string::npos) << secret_as_setting;
  EXPECT_FALSE(ValidateDestinationSettings("local", json::array()).ok());
}

TEST(DestinationKinds, SecretsValidation) {
  EXPECT_TRUE(
      ValidateDestinationSecrets("s3", {{"access_key_id", "a"}, {"secret_access_key", "b"}}).ok());
  auto missing = ValidateDestinationSecrets("s3", {{"access_key_id", "a"}});
  EXPECT_EQ(missing.message().rfind("secret_access_key:", 0), 0u) << missing;
  auto unknown = ValidateDestinationSecrets("webdav", {{"pasword", "x"}});
  EXPECT_NE(unknown.message().find("did you mean 'password'"), std::string::npos) << unknown;
  auto plain = ValidateDestinationSecrets("webdav", {{"url", "x"}});
  EXPECT_NE(plain.message().find("--set"), std::string::npos) << plain;
  EXPECT_TRUE(KindRequiresSecrets(*FindDestinationKind("s3")));
  EXPECT_FALSE(KindRequiresSecrets(*FindDestinationKind("webdav")));
}

TEST(SettingsReader, DefaultsComeFromTheTable) {
  json settings = {{"host", "h"}};
  json secrets = {{"password", "p"}};
  SettingsReader r("sftp", settings, secrets);
  EXPECT_EQ(*r.Int("port"), 22);
  EXPECT_EQ(*r.Int("timeout_s"), 30);
  EXPECT_EQ(*r.String("host"), "h");
  EXPECT_EQ(*r.String("path"), "");
  EXPECT_EQ(*r.String("password", true), "p");
  EXPECT_TRUE(r.Has("password", true));
  EXPECT_FALSE(r.Has("password"));
}

TEST(SettingsReader, AcceptsTextStoredByOlderClients) {
  json settings = {{"host", "h"}, {"port", "45222"}};
  json none = json::object();
  SettingsReader r("sftp", settings, none);
  EXPECT_EQ(*r.Int("port"), 45222);
  json local = {{"root", "/x"}, {"fsync", "false"}};
  EXPECT_FALSE(*SettingsReader("local", local, none).Bool("fsync"));
  json bad = {{"root", "/x"}, {"fsync", "sometimes"}};
  auto b = SettingsReader("local", bad, none).Bool("fsync");
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(b.status().message().find("fsync"), std::string::npos);
}

TEST(SettingsReader, RequiredAndUndeclaredKeys) {
  json none = json::object();
  auto bucket = SettingsReader("s3", none, none).String("bucket");
  EXPECT_EQ(bucket.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bucket.status().message().find("bucket"), std::string::npos);
  // A connector reading a key the table does not declare is a bug.
  auto undeclared = SettingsReader("s3", none, none).String("bukket");
  EXPECT_EQ(undeclared.status().code(), absl::StatusCode::kInternal);
  // ... or reading it as another type.
  auto wrong_type = SettingsReader("sftp", none, none).String("port");
  EXPECT_EQ(wrong_type.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace shoebox
