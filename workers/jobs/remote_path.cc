#include "workers/jobs/remote_path.h"

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "common/bytes.h"
#include "common/status.h"

namespace shoebox::worker {
namespace {

// The Stat check that makes delivery idempotent.
bool SameContent(const RemoteObject& o, const v1::FileVersion& f) {
  if (o.size != f.size()) return false;
  if (absl::StartsWith(o.checksum, "sha256:")) return o.checksum == "sha256:" + ToHex(f.sha256());
  // No usable checksum: the connector preserved the mtime; same size and
  // same second is taken as the same file (like rsync's quick check).
  return o.mtime_ns != 0 && o.mtime_ns / 1000000000 == f.mtime_ns() / 1000000000;
}

}  // namespace

std::string RemoteName(const std::string& kind, const std::string& path) {
  // S3 keys are UTF-8; rclone's remote-control API takes names in JSON,
  // which cannot carry other bytes.
  if ((kind != "s3" && kind != "rclone") || IsValidUtf8(path)) return path;
  // Valid sequences as they are; each byte of an invalid one as %XX.
  std::string out;
  const std::string_view p(path);
  for (size_t i = 0; i < p.size();) {
    size_t len = 0;
    for (size_t n = 1; n <= 4 && i + n <= p.size(); ++n) {
      if (IsValidUtf8(p.substr(i, n))) {
        len = n;
        break;
      }
    }
    if (len == 0) {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(p[i]));
      ++i;
    } else {
      out.append(p.substr(i, len));
      i += len;
    }
  }
  return out;
}

absl::StatusOr<RemotePath> ResolveRemotePath(const v1::FileVersion& f, const std::string& layout,
                                             Connector* conn, ChunkFetcher* chunks,
                                             const std::string& kind,
                                             const ContentCheck& content_check,
                                             int64_t capture_ns) {
  RemotePath out;
  out.input.device = f.device();
  out.input.folder = f.folder();
  out.input.path = f.path();
  out.input.mtime_ns = f.mtime_ns();
  if (capture_ns != 0) {
    out.input.exif_date = CaptureDateOfUnixNs(capture_ns);
  } else if (LayoutNeedsDate(layout) && f.chunks_size() > 0) {
    ChunkId first;
    DigestFromString(f.chunks(0).id(), &first);
    ASSIGN_OR_RETURN(std::string head, chunks->GetPlain(first));
    out.input.exif_date = ExifCaptureDate(head);
  }
  ASSIGN_OR_RETURN(std::string expanded, ExpandLayout(layout, out.input));
  out.base = RemoteName(kind, expanded);
  const bool one_to_one =
      out.base == expanded && LayoutIsOneToOne(layout.empty() ? kDefaultLayout : layout);

  for (int n = 1; n <= kMaxCollisionCandidates; ++n) {
    std::string cand = CollisionCandidate(out.base, n);
    absl::StatusOr<RemoteObject> st = conn->Stat(cand);
    if (absl::IsNotFound(st.status())) {
      out.slot = RemotePath::Slot::kFree;
      out.path = std::move(cand);
      return out;
    }
    if (!st.ok())
      return Annotate(st.status(), "check " + PrintablePath(cand) + " at " + conn->Describe());
    bool same = false;
    if (content_check && st->size == f.size() && !absl::StartsWith(st->checksum, "sha256:")) {
      ASSIGN_OR_RETURN(same, content_check(cand, *st));
    } else {
      same = SameContent(*st, f);
    }
    if (same || one_to_one) {
      out.slot = same ? RemotePath::Slot::kSameContent : RemotePath::Slot::kOwnName;
      out.path = std::move(cand);
      out.existing = std::move(*st);
      return out;
    }
  }
  out.slot = RemotePath::Slot::kNoneFree;
  return out;
}

}  // namespace shoebox::worker
