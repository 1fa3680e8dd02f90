// Store-internal (coordinator/store/ only): how values travel between C++
// and libpqxx. Array parameters in PostgreSQL's binary array format (sent as
// binary parameters, so the server neither parses text nor decodes hex),
// array literals in text format for `$n::type[]` casts, and bytea fields.
//
// Stateless; any thread.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace shoebox::coordinator::pg {

using Tx = pqxx::transaction_base;

// A bytea[] parameter in binary array format: ndim, has-null flag, element
// type OID (17 = bytea), then for the one dimension its length and lower
// bound, then each element as length + bytes. All integers are 32-bit
// big-endian.
pqxx::binarystring ByteaArray(const std::vector<std::string>& v);

// Numeric arrays in binary format for the hot path; the element type must be
// exactly the one the SQL casts to (bigint, int, smallint, boolean).
pqxx::binarystring Int8Arr(const std::vector<int64_t>& v);
pqxx::binarystring Int4Arr(const std::vector<int64_t>& v);
pqxx::binarystring Int2Arr(const std::vector<int64_t>& v);
pqxx::binarystring BoolArr(const std::vector<bool>& v);

// A text array literal of numbers ("{1,2,3}").
template <typename T>
std::string NumArray(const std::vector<T>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    absl::StrAppend(&out, v[i]);
  }
  out += '}';
  return out;
}

// A text array literal of strings, each quoted and escaped.
std::string TextArray(const std::vector<std::string>& v);

// A bigint[] field ("{1,2,3}") as numbers; NULL gives an empty vector.
std::vector<int64_t> ParseNumArray(const pqxx::field& f);

// A bytea field's bytes; NULL gives "".
std::string Bin(const pqxx::field& f);

// Bytes as a bytea parameter.
inline pqxx::binarystring BinParam(const std::string& s) { return pqxx::binarystring(s); }

}  // namespace shoebox::coordinator::pg
