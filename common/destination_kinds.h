// The declaration of every destination kind's settings and secrets: one data
// table (kind, key, type, default, required, secret, range, one-line help)
// that the CLI converts and checks `--set`/`--secret` values against and
// lists (`shoebox dest kinds`), that the coordinator validates every
// CreateDestination/UpdateDestination against, and that every connector in
// workers/connectors reads its settings through (SettingsReader), so the
// three cannot drift (docs/destinations.md).
//
// Thread-safe: the table is immutable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace shoebox {

enum class SettingType {
  kString,
  kAbsolutePath,  // a string starting with '/'
  kUrl,           // a string starting with http:// or https://
  kInt,           // a JSON integer within [min, max]
  kBool,          // a JSON true/false
  kChoice,        // a string, one of `choices` ("|"-separated)
  kStringList,    // a JSON array of strings
};

// "string", "path", "url", "integer", "boolean", "one of a|b", "list".
std::string SettingTypeName(SettingType t, const char* choices = "");

struct SettingSpec {
  const char* key;
  SettingType type;
  // As JSON text ("true", "16", "\"us-east-1\""); "" when there is none.
  const char* default_json;
  bool required;
  // Secret keys travel sealed to the worker pool (`--secret`); the others
  // are plain settings (`--set`). A key may exist once as each (sftp `user`).
  bool secret;
  const char* help;
  int64_t min = 0, max = 0;  // kInt only
  const char* choices = "";  // kChoice only
};

struct KindSpec {
  const char* kind;
  const char* help;
  std::vector<SettingSpec> keys;
  // Groups of keys of which at least one must be set (e.g. sftp's
  // known_hosts or host_key); each group names plain settings.
  std::vector<std::vector<std::string>> one_of;
  // Photo services (Google Photos, Flickr, SmugMug): deliveries go into
  // albums made by the destination's album rule, and the connector answers
  // Connector::ListAlbum.
  bool albums = false;
};

// Every kind, in the order `shoebox dest kinds` lists them.
const std::vector<KindSpec>& DestinationKinds();
// Null for an unknown kind.
const KindSpec* FindDestinationKind(std::string_view kind);
// Null when `kind` has no such key of that class.
const SettingSpec* FindSetting(const KindSpec& kind, std::string_view key, bool secret);
// "local, s3, webdav, sftp, rclone".
std::string DestinationKindNames();
// INVALID_ARGUMENT for an unknown kind, naming the kinds that exist.
absl::StatusOr<const KindSpec*> LookUpDestinationKind(std::string_view kind);

// Converts a command-line value to the key's JSON type: "45222" → 45222,
// "false" → false (also yes/no/on/off/1/0), "a,b" or a JSON array → list.
// INVALID_ARGUMENT naming the key and the expected type.
absl::StatusOr<nlohmann::json> ConvertSettingText(const std::string& kind, const SettingSpec& spec,
                                                  const std::string& text);

// Checks one JSON value against its declaration (type, range, absolute path,
// URL scheme, choice). Strings that convert (as stored by older CLIs, e.g.
// "45222" for an integer) are accepted when `lenient`.
absl::Status CheckSettingValue(const std::string& kind, const SettingSpec& spec,
                               const nlohmann::json& value, bool lenient);

// Checks a destination's plain settings: every key declared (a misspelled
// key is refused with the closest declared one), every value of its type,
// every required key present, every one_of group satisfied; also that
// secret keys are not given as plain settings. INVALID_ARGUMENT naming the
// key. `settings` must be a JSON object.
absl::Status ValidateDestinationSettings(const std::string& kind, const nlohmann::json& settings);

// Checks the secret keys (before sealing: the CLI is the only place that
// sees them): declared, non-empty strings, required ones present.
absl::Status ValidateDestinationSecrets(const std::string& kind, const nlohmann::json& secrets);

// True when the kind declares a required secret (the coordinator then
// insists on sealed credentials).
bool KindRequiresSecrets(const KindSpec& kind);

// The album rule of photo-service destinations (the plain setting `albums`
// of kinds with KindSpec::albums; issue 20, docs/destinations.md "Albums"):
// "folder" (one album per folder), "none" (no albums), or a template of
// the tokens below (workers/album_rule.h expands it). CheckSettingValue
// applies this to every kind's `albums` key, so `dest add`/`dest set` refuse
// an unknown token or an unclosed '{' with INVALID_ARGUMENT naming the token
// and listing the allowed ones.
inline constexpr const char* kAlbumRuleTokens[] = {"folder", "dir", "year", "month", "device"};
absl::Status CheckAlbumRule(std::string_view rule);

// How connectors read their settings: every value through its declaration,
// the declared default when absent, so a connector cannot read a key the
// table does not declare (INTERNAL), nor disagree with it about a type or a
// default. Lenient about strings that convert to the declared type (values
// stored as text by CLIs before the table existed).
class SettingsReader {
 public:
  // `settings` and `secrets` are borrowed (JSON objects; anything else reads
  // as empty) and outlive the reader.
  SettingsReader(std::string kind, const nlohmann::json& settings, const nlohmann::json& secrets);

  // The value of a plain setting (`secret` false) or a secret. Absent:
  // the default ("" / 0 / false / {} when none is declared); a required key
  // that is absent is INVALID_ARGUMENT naming it.
  absl::StatusOr<std::string> String(const char* key, bool secret = false) const;
  absl::StatusOr<int64_t> Int(const char* key) const;
  absl::StatusOr<bool> Bool(const char* key) const;
  absl::StatusOr<std::vector<std::string>> List(const char* key) const;
  // True when the key is present (not null) in the object it belongs to.
  bool Has(const char* key, bool secret = false) const;

 private:
  absl::StatusOr<nlohmann::json> Value(const char* key, bool secret, SettingType want) const;

  const std::string kind_;
  const KindSpec* const spec_;
  const nlohmann::json& settings_;
  const nlohmann::json& secrets_;
};

}  // namespace shoebox
