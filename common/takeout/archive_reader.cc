#include "common/takeout/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace shoebox::takeout {

namespace {

struct ArchiveCloser {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

absl::Status ArchiveError(struct archive* a, const std::string& file, absl::string_view what) {
  const char* msg = archive_error_string(a);
  return absl::DataLossError(absl::StrCat(PrintablePath(file), ": ", what, ": ",
                                          msg ? msg : "unknown libarchive error",
                                          "; check that the archive is complete (download it "
                                          "again if not)"));
}

class LibarchiveContent final : public EntryContent {
 public:
  LibarchiveContent(struct archive* a, const std::string& file, const std::string& entry)
      : a_(a), file_(file), entry_(entry) {}
  absl::Status Read(size_t max_block,
                    const std::function<absl::Status(std::string_view)>& block) override {
    for (;;) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      int r = archive_read_data_block(a_, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) return absl::OkStatus();
      if (r < ARCHIVE_WARN) return ArchiveError(a_, file_, absl::StrCat("reading ", entry_));
      if (static_cast<uint64_t>(offset) != done_) {
        return absl::DataLossError(absl::StrCat(PrintablePath(file_), ": ", entry_,
                                                " is sparse; Takeout archives hold no sparse "
                                                "files"));
      }
      const char* p = static_cast<const char*>(buf);
      while (size > 0) {
        const size_t n = std::min(size, max_block);
        if (absl::Status st = block(std::string_view(p, n)); !st.ok()) return st;
        p += n;
        size -= n;
        done_ += n;
      }
    }
  }

 private:
  struct archive* const a_;
  const std::string& file_;
  const std::string& entry_;
  uint64_t done_ = 0;
};

}  // namespace

absl::Status ForEachArchiveFile(
    const std::string& archive,
    const std::function<absl::Status(const ArchiveFile&, EntryContent&)>& fn) {
  std::unique_ptr<struct archive, ArchiveCloser> a(archive_read_new());
  if (!a) return absl::ResourceExhaustedError("libarchive: out of memory");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  if (archive_read_open_filename(a.get(), archive.c_str(), 1 << 20) != ARCHIVE_OK) {
    const char* msg = archive_error_string(a.get());
    return absl::NotFoundError(absl::StrCat("cannot open ", PrintablePath(archive), ": ",
                                            msg ? msg : "unknown error",
                                            "; give the path of a Takeout .zip or .tgz"));
  }
  for (;;) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return ArchiveError(a.get(), archive, "reading the next entry");
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    const char* name = archive_entry_pathname(e);
    if (name == nullptr) continue;
    ArchiveFile f;
    absl::string_view p(name);
    while (absl::StartsWith(p, "./")) p.remove_prefix(2);
    while (absl::StartsWith(p, "/")) p.remove_prefix(1);
    f.path = std::string(p);
    f.size = archive_entry_size_is_set(e) ? static_cast<uint64_t>(archive_entry_size(e)) : 0;
    f.mtime_ns = archive_entry_mtime_is_set(e)
                     ? static_cast<int64_t>(archive_entry_mtime(e)) * 1000000000 +
                           archive_entry_mtime_nsec(e)
                     : 0;
    LibarchiveContent content(a.get(), archive, f.path);
    if (absl::Status st = fn(f, content); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace shoebox::takeout
