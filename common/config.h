// TOML configuration loading with errors that name the file, key and line.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace shoebox {

// A parsed TOML document with typed getters. Errors look like
// "/etc/shoebox/agent.toml:12: key 'agent.settle_seconds': expected an
// integer, found a string" (INVALID_ARGUMENT).
class Config {
 public:
  static absl::StatusOr<Config> LoadFile(const std::string& path);
  static absl::StatusOr<Config> Parse(std::string_view text, const std::string& source_name);
  Config(Config&&) noexcept;
  Config& operator=(Config&&) noexcept;
  ~Config();

  // Dotted keys ("coordinator.listen"). Missing key → `def`; wrong type → error.
  absl::StatusOr<std::string> GetString(std::string_view key, std::string def) const;
  absl::StatusOr<int64_t> GetInt(std::string_view key, int64_t def) const;
  absl::StatusOr<bool> GetBool(std::string_view key, bool def) const;
  absl::StatusOr<double> GetDouble(std::string_view key, double def) const;
  absl::StatusOr<std::vector<std::string>> GetStrings(std::string_view key,
                                                      std::vector<std::string> def) const;
  // Missing required key: INVALID_ARGUMENT "<file>: missing required key 'x'".
  absl::StatusOr<std::string> RequireString(std::string_view key) const;
  // Array of tables ([[folder]]) as sub-configs sharing the document: their
  // keys are relative to the element, and their errors name the full key
  // ("folder[1].path") and the line in the original file.
  absl::StatusOr<std::vector<Config>> GetTables(std::string_view key) const;
  bool Has(std::string_view key) const;
  const std::string& source() const { return source_; }

  // Every key in the file that no getter, Has or GetTables asked for so far
  // (on this config or a sub-config of it), as one warning each:
  // "agent.toml:7: unknown key 'agent.settle_secs' is ignored (did you mean
  // 'agent.settle_seconds'?); known keys in [agent]: backup_window, ...".
  // Call it after reading every key the program knows: a misspelt key
  // otherwise silently keeps its default.
  std::vector<std::string> UnknownKeyWarnings() const;

 private:
  Config();
  std::string Path(std::string_view key) const;
  std::string source_;
  std::shared_ptr<const toml::table> root_;  // the whole document, shared with sub-configs
  std::string prefix_;                       // "" or "folder[1]" for sub-configs
  // Full paths of the keys asked for, shared with sub-configs. Getters are
  // const and record here; a Config is used by one thread.
  std::shared_ptr<std::set<std::string>> asked_;
};

}  // namespace shoebox
