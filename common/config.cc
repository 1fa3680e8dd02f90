#include "common/config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

Config::Config()
    : root_(std::make_shared<const toml::table>()),
      asked_(std::make_shared<std::set<std::string>>()) {}
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
  std::string path = prefix_.empty() ? std::string(key) : absl::StrCat(prefix_, ".", AbslView(key));
  asked_->insert(path);
  return path;
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
    c.asked_ = asked_;
    c.prefix_ = absl::StrCat(path, "[", i, "]");
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

struct Leaf {
  std::string path;  // "agent.settle_secs", "folder[0].inclde"
  const toml::node* node;
};

void CollectLeaves(const toml::table& t, const std::string& prefix, std::vector<Leaf>* out) {
  for (const auto& [k, v] : t) {
    const std::string path =
        prefix.empty() ? std::string(k.str()) : absl::StrCat(prefix, ".", AbslView(k.str()));
    if (const toml::table* sub = v.as_table()) {
      CollectLeaves(*sub, path, out);
    } else if (const toml::array* arr = v.as_array();
               arr != nullptr && arr->is_array_of_tables() && !arr->empty()) {
      for (size_t i = 0; i < arr->size(); ++i) {
        CollectLeaves(*(*arr)[i].as_table(), absl::StrCat(path, "[", i, "]"), out);
      }
    } else {
      out->push_back(Leaf{path, &v});
    }
  }
}

// "folder[1].path" → parent "folder[1]", name "path"; "x" → "", "x".
std::pair<std::string, std::string> SplitKey(const std::string& path) {
  auto dot = path.rfind('.');
  if (dot == std::string::npos) return {"", path};
  return {path.substr(0, dot), path.substr(dot + 1)};
}

// "folder[1]" → "[[folder]]", "agent" → "[agent]", "" → "the top level".
std::string TableName(const std::string& parent) {
  if (parent.empty()) return "the top level";
  std::string p = parent;
  bool array = false;
  for (auto open = p.find('['); open != std::string::npos; open = p.find('[')) {
    auto close = p.find(']', open);
    p.erase(open, close == std::string::npos ? std::string::npos : close - open + 1);
    array = true;
  }
  return array ? absl::StrCat("[[", p, "]]") : absl::StrCat("[", p, "]");
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::vector<std::string> Config::UnknownKeyWarnings() const {
  std::vector<Leaf> leaves;
  if (prefix_.empty()) {
    CollectLeaves(*root_, "", &leaves);
  } else if (const toml::table* t = root_->at_path(prefix_).as_table()) {
    CollectLeaves(*t, prefix_, &leaves);
  }
  // In the order of the file (toml++ keeps a table's keys sorted by name).
  std::stable_sort(leaves.begin(), leaves.end(), [](const Leaf& a, const Leaf& b) {
    return a.node->source().begin.line < b.node->source().begin.line;
  });
  std::vector<std::string> out;
  for (const Leaf& leaf : leaves) {
    if (asked_->count(leaf.path) > 0) continue;
    const auto [parent, name] = SplitKey(leaf.path);
    // Known keys beside it, and the nearest known key anywhere (same table first).
    std::set<std::string> siblings, tables;
    std::string best;
    size_t best_distance = std::string::npos;
    for (const std::string& known : *asked_) {
      const auto [kparent, kname] = SplitKey(known);
      if (kparent == parent) siblings.insert(kname);
      if (!kparent.empty()) tables.insert(TableName(kparent));
      size_t d = EditDistance(name, kname) * 2 + (kparent == parent ? 0 : 1);
      if (d < best_distance) {
        best_distance = d;
        best = known;
      }
    }
    std::string msg =
        absl::StrCat(Where(source_, *leaf.node), ": unknown key '", leaf.path, "' is ignored");
    if (!best.empty() && best_distance <= 2 * std::max<size_t>(2, name.size() / 3) + 1) {
      absl::StrAppend(&msg, " (did you mean '", best, "'?)");
    }
    if (!parent.empty() && !siblings.empty()) {
      absl::StrAppend(&msg, "; known keys in ", TableName(parent), ": ",
                      absl::StrJoin(siblings, ", "));
    } else if (!tables.empty()) {
      absl::StrAppend(&msg, "; known tables: ", absl::StrJoin(tables, ", "));
    }
    out.push_back(std::move(msg));
  }
  return out;
}

}  // namespace shoebox
