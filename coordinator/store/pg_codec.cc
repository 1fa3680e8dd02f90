// Parameter and field encodings for libpqxx 6.4. See pg_codec.h.
#include "coordinator/store/pg_codec.h"

#include <tuple>

namespace shoebox::coordinator::pg {

namespace {

template <typename T>
pqxx::binarystring BinArray(const std::vector<T>& v, uint32_t oid, int width) {
  std::string out;
  out.reserve(20 + v.size() * (4 + width));
  auto put = [&out](uint64_t x, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((x >> (8 * i)) & 0xff);
  };
  put(v.empty() ? 0 : 1, 4);
  put(0, 4);
  put(oid, 4);
  if (!v.empty()) {
    put(v.size(), 4);
    put(1, 4);
    for (const T& e : v) {
      put(static_cast<uint32_t>(width), 4);
      put(static_cast<uint64_t>(static_cast<int64_t>(e)), width);
    }
  }
  return pqxx::binarystring(out);
}

}  // namespace

pqxx::binarystring ByteaArray(const std::vector<std::string>& v) {
  std::string out;
  size_t total = 20;
  for (const std::string& e : v) total += 4 + e.size();
  out.reserve(total);
  auto put32 = [&out](uint32_t x) {
    out += static_cast<char>(x >> 24);
    out += static_cast<char>(x >> 16);
    out += static_cast<char>(x >> 8);
    out += static_cast<char>(x);
  };
  put32(v.empty() ? 0 : 1);  // dimensions
  put32(0);                  // no NULLs
  put32(17);                 // bytea
  if (!v.empty()) {
    put32(static_cast<uint32_t>(v.size()));
    put32(1);  // lower bound
    for (const std::string& e : v) {
      put32(static_cast<uint32_t>(e.size()));
      out += e;
    }
  }
  return pqxx::binarystring(out);
}

// OIDs: 20 bigint, 23 int, 21 smallint, 16 boolean.
pqxx::binarystring Int8Arr(const std::vector<int64_t>& v) { return BinArray(v, 20, 8); }
pqxx::binarystring Int4Arr(const std::vector<int64_t>& v) { return BinArray(v, 23, 4); }
pqxx::binarystring Int2Arr(const std::vector<int64_t>& v) { return BinArray(v, 21, 2); }
pqxx::binarystring BoolArr(const std::vector<bool>& v) {
  std::vector<int64_t> b(v.begin(), v.end());
  return BinArray(b, 16, 1);
}

std::string TextArray(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::vector<int64_t> ParseNumArray(const pqxx::field& f) {
  std::vector<int64_t> out;
  if (f.is_null()) return out;
  pqxx::array_parser p = f.as_array();
  for (auto [kind, text] = p.get_next(); kind != pqxx::array_parser::done;
       std::tie(kind, text) = p.get_next()) {
    if (kind == pqxx::array_parser::string_value) out.push_back(std::stoll(text));
  }
  return out;
}

std::string Bin(const pqxx::field& f) {
  if (f.is_null()) return std::string();
  return pqxx::binarystring(f).str();
}

}  // namespace shoebox::coordinator::pg
