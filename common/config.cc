#include "common/config.h"

#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"

namespace shoebox {

namespace {

std::string_view TypeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "nothing";
  }
}

std::string Where(const std::string& source, const toml::node& n) {
  const auto& src = n.source();
  if (src.begin.line == 0) return source;
  return absl::StrCat(source, ":", src.begin.line);
}

absl::Status WrongType(const std::string& source, std::string_view key, const toml::node& n,
                       std::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(Where(source, n), ": key '", AbslView(key),
                                                 "': expected ", AbslView(expected), ", found ",
                                                 AbslView(TypeName(n.type()))));
}

}  // namespace

Config::Config() : root_(std::make_shared<const toml::table>()) {}
Config::Config(Config&&) noexcept = default;
Config& Config::operator=(Config&&) noexcept = default;
Config::~Config() = default;

absl::StatusOr<Config> Config::Parse(std::string_view text, const std::string& source_name) {
  Config c;
  c.source_ = source_name;
  try {
    c.root_ = std::make_shared<const toml::table>(toml::parse(text, std::string_view(source_name)));
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return absl::InvalidArgumentError(
        absl::StrCat(PrintablePath(source_name), ":", b.line, ":", b.column,
                     ": TOML syntax error: ", AbslView(e.description()), "; fix the file"));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(PrintablePath(source_name), ": cannot parse TOML: ", e.what()));
  }
  return c;
}

absl::StatusOr<Config> Config::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    absl::Status st = ErrnoToStatus(err == 0 ? ENOENT : err,
                                    absl::StrCat("read config file ", PrintablePath(path)));
    if (absl::IsNotFound(st)) {
      return absl::NotFoundError(absl::StrCat(st.message(), "; create it or pass another path"));
    }
    return st;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

std::string Config::Path(std::string_view key) const {
  if (prefix_.empty()) return std::string(key);
  return absl::StrCat(prefix_, ".", AbslView(key));
}

bool Config::Has(std::string_view key) const {
  return static_cast<bool>(root_->at_path(Path(key)));
}

absl::StatusOr<std::string> Config::GetString(std::string_view key, std::string def) const {
  const std::string path = Path(key);
  toml::node_view<const toml::node> n = root_->at_path(path);
  if (!n) return def;
  if (auto v = n.value<std::string>(); v && n.is_string()) return *v;
  return WrongType(source_, path, *n.node(), "a string");
}

absl::StatusOr<std::string> Config::RequireString(std::string_view key) const {
  const std::string path = Path(key);
  toml::node_view<const toml::node> n = root_->at_path(path);
  if (!n) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ": missing required key '", path, "'; add it to the file"));
  }
  if (n.is_string()) return *n.value<std::string>();
  return WrongType(source_, path, *n.node(), "a string");
}

absl::StatusOr<int64_t> Config::GetInt(std::string_view key, int64_t def) const {
  const std::string path = Path(key);
  toml::node_view<const toml::node> n = root_->at_path(path);
  if (!n) return def;
  if (n.is_integer()) return *n.value<int64_t>();
  return WrongType(source_, path, *n.node(), "an integer");
}

absl::StatusOr<bool> Config::GetBool(std::string_view key, bool def) const {
  const std::string path = Path(key);
  toml::node_view<const toml::node> n = root_->at_path(path);
  if (!n) return def;
  if (n.is_boolean()) return *n.value<bool>();
  return WrongType(source_, path, *n.node(), "a boolean (true or false)");
}

absl::StatusOr<double> Config::GetDouble(std::string_view key, double def) const {
  const std::string path = Path(key);
  toml::node_view<const toml::node> n = root_->at_path(path);
  if (!n) return def;
  if (n.is_floating_point()) return *n.value<double>();
  if (n.is_integer()) return static_cast<double>(*n.value<int64_t>());
  return WrongType(source_, path, *n.node(), "a number");
}

absl::StatusOr<std::vector<std::string>> Config::GetStrings(std::string_view key,
                                                            std::vector<std::string> def) const {
  const std::string path = Path(key);
  toml::node_view<const toml::node> n = root_->at_path(path);
  if (!n) return def;
  const toml::array* arr = n.as_array();
  if (arr == nullptr) return WrongType(source_, path, *n.node(), "an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::node& e = (*arr)[i];
    if (!e.is_string()) {
      return WrongType(source_, absl::StrCat(path, "[", i, "]"), e, "a string");
    }
    out.push_back(*e.value<std::string>());
  }
  return out;
}

absl::StatusOr<std::vector<Config>> Config::GetTables(std::string_view key) const {
  const std::string path = Path(key);
  toml::node_view<const toml::node> n = root_->at_path(path);
  std::vector<Config> out;
  if (!n) return out;
  const toml::array* arr = n.as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    if (arr != nullptr && arr->empty()) return out;
    return WrongType(source_, path, *n.node(),
                     absl::StrCat("an array of tables ([[", AbslView(key), "]])"));
  }
  for (size_t i = 0; i < arr->size(); ++i) {
    Config c;
    c.source_ = source_;
    c.root_ = root_;
    c.prefix_ = absl::StrCat(path, "[", i, "]");
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace shoebox
