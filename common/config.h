// TOML configuration loading with errors that name the file, key and line.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

 private:
  Config();
  std::string Path(std::string_view key) const;
  std::string source_;
  std::shared_ptr<const toml::table> root_;  // the whole document, shared with sub-configs
  std::string prefix_;                       // "" or "folder[1]" for sub-configs
};

}  // namespace shoebox
