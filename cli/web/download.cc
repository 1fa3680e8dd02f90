#include "cli/web/download.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/types.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"

namespace shoebox::cli::web {

namespace {

namespace pb = shoebox::v1;

bool AttrChar(unsigned char c) {
  // RFC 5987 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-"
  // / "." / "^" / "_" / "`" / "|" / "~"
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string Printable(const pb::FileVersion& v) { return PrintablePath(v.path()); }

void Note(StreamStats* stats, uint64_t buffered) {
  if (stats != nullptr) stats->max_buffered = std::max(stats->max_buffered, buffered);
}

// Reads `v`'s chunks in order, hashing them; `sink` gets each chunk's bytes.
// Checks the size and SHA-256 at the end (DATA_LOSS naming the file).
absl::Status ReadChecked(const pb::FileVersion& v, const ChunkReader& read,
                         const std::function<absl::Status(std::string&&)>& sink) {
  if (v.chunks_dropped()) {
    return absl::FailedPreconditionError(
        absl::StrCat(Printable(v),
                     ": the chunk store no longer holds this version (a "
                     "pass-through folder); restore it from a destination with "
                     "`shoebox restore`"));
  }
  Sha256 h;
  uint64_t total = 0;
  for (const pb::ChunkRef& c : v.chunks()) {
    absl::StatusOr<std::string> data = read(c.id());
    if (!data.ok()) {
      return absl::Status(data.status().code(),
                          absl::StrCat(Printable(v), ": ", data.status().message()));
    }
    h.Update(*data);
    total += data->size();
    if (absl::Status s = sink(std::move(*data)); !s.ok()) return s;
  }
  if (total != v.size()) {
    return absl::DataLossError(
        absl::StrCat(Printable(v), ": read ", total, " bytes, the catalog says ", v.size()));
  }
  if (DigestToString(h.Final()) != v.sha256()) {
    return absl::DataLossError(
        absl::StrCat(Printable(v), ": the SHA-256 of the stored bytes differs from the catalog"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // the sequence is cut short
    for (int k = 1; k <= n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

std::string ContentDisposition(std::string_view raw_name) {
  std::string ascii;
  bool plain = true;
  for (char ch : raw_name) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      ascii.push_back('_');
      plain = false;
    } else {
      ascii.push_back(ch);
    }
  }
  if (ascii.empty()) ascii = "download";
  std::string out = absl::StrCat("attachment; filename=\"", ascii, "\"");
  if (!plain && IsUtf8(raw_name)) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    out += "; filename*=UTF-8''";
    for (char ch : raw_name) {
      const unsigned char c = static_cast<unsigned char>(ch);
      if (AttrChar(c)) {
        out.push_back(ch);
      } else {
        out.push_back('%');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
    }
  }
  return out;
}

absl::Status StreamVersion(const pb::FileVersion& v, const ChunkReader& read,
                           const ByteWriter& write, StreamStats* stats) {
  std::string held;  // the newest chunk, written when the next arrives
  absl::Status st = ReadChecked(v, read, [&](std::string&& data) {
    Note(stats, held.size() + data.size());
    if (!held.empty()) {
      if (absl::Status s = write(held); !s.ok()) return s;
      if (stats != nullptr) stats->bytes_written += held.size();
    }
    held = std::move(data);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (!held.empty()) {
    if (absl::Status s = write(held); !s.ok()) return s;
    if (stats != nullptr) stats->bytes_written += held.size();
  }
  return absl::OkStatus();
}

struct ZipStreamAccess {
  static la_ssize_t Write(struct archive*, void* self, const void* data, size_t n) {
    auto* z = static_cast<ZipStream*>(self);
    absl::Status s = z->write_(std::string_view(static_cast<const char*>(data), n));
    if (!s.ok()) {
      z->write_error_ = s;
      return -1;
    }
    z->stats_.bytes_written += n;
    return static_cast<la_ssize_t>(n);
  }
  static absl::Status Error(ZipStream* z, const std::string& what) {
    if (!z->write_error_.ok()) return z->write_error_;
    return absl::InternalError(absl::StrCat(what, ": ", archive_error_string(z->a_)));
  }
};

absl::StatusOr<std::unique_ptr<ZipStream>> ZipStream::Open(ByteWriter write) {
  std::unique_ptr<ZipStream> z(new ZipStream(std::move(write)));
  z->a_ = archive_write_new();
  if (z->a_ == nullptr) return absl::ResourceExhaustedError("zip: out of memory");
  if (archive_write_set_format_zip(z->a_) != ARCHIVE_OK ||
      archive_write_set_format_option(z->a_, "zip", "compression", "store") != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(z->a_, 0) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(z->a_, 1) != ARCHIVE_OK) {
    return ZipStreamAccess::Error(z.get(), "zip: set up the writer");
  }
  if (archive_write_open(z->a_, z.get(), nullptr, &ZipStreamAccess::Write, nullptr) != ARCHIVE_OK) {
    return ZipStreamAccess::Error(z.get(), "zip: start the archive");
  }
  return z;
}

ZipStream::~ZipStream() {
  if (a_ != nullptr) archive_write_free(a_);
}

absl::Status ZipStream::Add(const std::string& name, const pb::FileVersion& v,
                            const ChunkReader& read) {
  struct archive_entry* e = archive_entry_new();
  if (e == nullptr) return absl::ResourceExhaustedError("zip: out of memory");
  if (IsUtf8(name)) {
    archive_entry_update_pathname_utf8(e, name.c_str());
  } else {
    archive_entry_set_pathname(e, name.c_str());
  }
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, v.mode() != 0 ? (v.mode() & 0777) : 0644);
  archive_entry_set_size(e, static_cast<la_int64_t>(v.size()));
  archive_entry_set_mtime(e, v.mtime_ns() / 1000000000, v.mtime_ns() % 1000000000);
  const int r = archive_write_header(a_, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK) return ZipStreamAccess::Error(this, "zip: entry " + PrintablePath(name));
  absl::Status st = ReadChecked(v, read, [&](std::string&& data) {
    Note(&stats_, data.size());
    size_t off = 0;
    while (off < data.size()) {
      la_ssize_t n = archive_write_data(a_, data.data() + off, data.size() - off);
      if (n <= 0) return ZipStreamAccess::Error(this, "zip: write " + PrintablePath(name));
      off += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (archive_write_finish_entry(a_) != ARCHIVE_OK) {
    return ZipStreamAccess::Error(this, "zip: finish " + PrintablePath(name));
  }
  return absl::OkStatus();
}

absl::Status ZipStream::Finish() {
  if (archive_write_close(a_) != ARCHIVE_OK) {
    return ZipStreamAccess::Error(this, "zip: write the central directory");
  }
  return absl::OkStatus();
}

}  // namespace shoebox::cli::web
