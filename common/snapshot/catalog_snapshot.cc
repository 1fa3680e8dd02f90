#include "common/snapshot/catalog_snapshot.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/crypto/blob.h"
#include "common/crypto/hash.h"
#include "common/status.h"

namespace shoebox::snapshot {

namespace {

std::string KeyCheck(const Key256& catalog_key) {
  HmacSha256 h(ByteSpan(catalog_key.data(), catalog_key.size()));
  Digest d = h.Compute(std::string_view("shoebox catalog key check"));
  return std::string(reinterpret_cast<const char*>(d.data()), 8);
}

ChunkId HeaderId(std::string_view header) { return Sha256::Of(header); }

}  // namespace

std::string Seal(const Key256& catalog_key, int64_t created_unix_ms, ByteSpan dump) {
  std::string out(kMagic, 8);
  out += KeyCheck(catalog_key);
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>(static_cast<uint64_t>(created_unix_ms) >> (8 * i)));
  BlobSealer sealer(catalog_key);
  out += sealer.Seal(HeaderId(out), dump, Compression::kNever);
  return out;
}

absl::StatusOr<int64_t> CreatedUnixMs(std::string_view sealed, std::string_view what) {
  if (sealed.size() < kHeaderSize + kBlobOverhead ||
      sealed.substr(0, 8) != std::string_view(kMagic, 8)) {
    return absl::DataLossError(absl::StrCat("catalog snapshot ", AbslView(what),
                                            ": not a Shoebox catalog snapshot (bad magic or too "
                                            "short); the file is damaged or something else"));
  }
  uint64_t t = 0;
  for (int i = 0; i < 8; ++i) t = (t << 8) | static_cast<uint8_t>(sealed[16 + i]);
  return static_cast<int64_t>(t);
}

absl::StatusOr<std::string> Open(const Key256& catalog_key, std::string_view sealed,
                                 std::string_view what) {
  RETURN_IF_ERROR(CreatedUnixMs(sealed, what).status());
  if (sealed.substr(8, 8) != KeyCheck(catalog_key)) {
    return absl::FailedPreconditionError(
        absl::StrCat("catalog snapshot ", AbslView(what),
                     " was sealed with a different master key; give the master key of the "
                     "installation that wrote it "
                     "(the one in its recovery kit, `shoebox key export`)"));
  }
  BlobSealer sealer(catalog_key);
  absl::StatusOr<std::string> plain =
      sealer.Open(HeaderId(sealed.substr(0, kHeaderSize)), sealed.substr(kHeaderSize));
  if (!plain.ok()) {
    return absl::DataLossError(
        absl::StrCat("catalog snapshot ", AbslView(what),
                     " is damaged (authentication failed); use an older snapshot "
                     "or another copy"));
  }
  return plain;
}

std::string FileName(int64_t created_unix_ms) {
  const int64_t ms = ((created_unix_ms % 1000) + 1000) % 1000;
  return absl::StrCat(absl::FormatTime("%Y%m%dT%H%M%S", absl::FromUnixMillis(created_unix_ms - ms),
                                       absl::UTCTimeZone()),
                      absl::StrFormat("%03d", ms), "Z.snap");
}

bool ParseFileName(std::string_view file_name, int64_t* created_unix_ms) {
  // YYYYMMDDTHHMMSSmmmZ.snap
  if (file_name.size() != 24 || file_name.substr(18) != "Z.snap" || file_name[8] != 'T')
    return false;
  for (size_t i = 0; i < 18; ++i) {
    if (i != 8 && (file_name[i] < '0' || file_name[i] > '9')) return false;
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (file_name[i] - '0');
    return v;
  };
  const int month = num(4, 2), day = num(6, 2), hour = num(9, 2), minute = num(11, 2),
            second = num(13, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
    return false;
  const absl::Time t = absl::FromCivil(
      absl::CivilSecond(num(0, 4), month, day, hour, minute, second), absl::UTCTimeZone());
  const int ms = num(15, 3);
  *created_unix_ms = absl::ToUnixMillis(t) + ms;
  return true;
}

absl::StatusOr<std::vector<Info>> List(ChunkStore* store) {
  std::vector<Info> out;
  RETURN_IF_ERROR(store->ListNamed(kStorePrefix, [&](const std::string& name, uint64_t size) {
    Info i;
    if (!ParseFileName(std::string_view(name).substr(sizeof(kStorePrefix) - 1),
                       &i.created_unix_ms)) {
      return absl::OkStatus();
    }
    i.name = name;
    i.size = size;
    out.push_back(std::move(i));
    return absl::OkStatus();
  }));
  std::sort(out.begin(), out.end(), [](const Info& a, const Info& b) { return a.name > b.name; });
  return out;
}

absl::StatusOr<Info> Put(ChunkStore* store, std::string_view sealed, int64_t created_unix_ms) {
  Info i;
  i.name = absl::StrCat(kStorePrefix, FileName(created_unix_ms));
  i.created_unix_ms = created_unix_ms;
  i.size = sealed.size();
  RETURN_IF_ERROR(store->PutNamed(i.name, sealed));
  return i;
}

absl::StatusOr<int> Prune(ChunkStore* store, uint32_t keep) {
  keep = std::max<uint32_t>(keep, 1);
  ASSIGN_OR_RETURN(std::vector<Info> all, List(store));
  int deleted = 0;
  for (size_t i = keep; i < all.size(); ++i) {
    RETURN_IF_ERROR(store->DeleteNamed(all[i].name));
    ++deleted;
  }
  return deleted;
}

}  // namespace shoebox::snapshot
