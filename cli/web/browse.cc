#include "cli/web/browse.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/web/download.h"
#include "cli/web/overview.h"
#include "common/bytes.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli::web {

namespace {

using nlohmann::json;
namespace pb = shoebox::v1;
using Req = const httplib::Request&;
using Res = httplib::Response&;

void Send(Res res, int status, const json& j) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(DumpJson(j), "application/json");
}
void Fail(Res res, int status, const std::string& message) {
  Send(res, status, json{{"error", message}});
}

int HttpStatus(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return 400;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 409;
    default:
      return 502;
  }
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// What one request names: the device, the folder root and path (raw), the
// time and the paging key; parsed and checked, with the session's right to
// see the device.
struct Target {
  std::string account;
  std::string device, folder, path;
  int64_t at = 0, after = 0, version = 0;
};

class Browse {
 public:
  explicit Browse(PageDeps d) : d_(std::move(d)) {}

  // The request's target, or nullopt with the error sent: 401 without a
  // session, 400 for bad parameters, 403 for a device a member is not bound
  // to (checked against the coordinator's binding now).
  std::optional<Target> Parse(Req req, Res res, bool need_folder) {
    std::optional<Session> s = d_.session(req);
    if (!s) {
      Fail(res, 401, "not logged in");
      return std::nullopt;
    }
    Target t;
    t.account = s->account;
    t.device = req.get_param_value("device");
    if (t.device.empty()) {
      Fail(res, 400, "device: name the device to browse (?device=NAME)");
      return std::nullopt;
    }
    for (const char* key : {"folder", "path"}) {
      absl::StatusOr<std::string> raw = FromHex(req.get_param_value(key));
      if (!raw.ok()) {
        Fail(res, 400, absl::StrCat(key, ": the raw path in hex, as /api/browse/list gives it"));
        return std::nullopt;
      }
      (std::string_view(key) == "folder" ? t.folder : t.path) = *raw;
    }
    if (need_folder && t.folder.empty()) {
      Fail(res, 400, "folder: name one of the device's folders (/api/browse/devices lists them)");
      return std::nullopt;
    }
    for (auto [key, out] : {std::pair<const char*, int64_t*>{"at", &t.at},
                            {"after", &t.after},
                            {"version", &t.version}}) {
      const std::string v = req.get_param_value(key);
      if (!v.empty() && (!absl::SimpleAtoi(v, out) || *out < 0)) {
        Fail(res, 400,
             absl::StrCat(key, ": a number (",
                          key == std::string("at") ? "ms since the epoch, 0 for now"
                                                   : "as the previous answer gave it",
                          ")"));
        return std::nullopt;
      }
    }
    absl::StatusOr<std::optional<std::vector<std::string>>> mine = VisibleDevices(d_.link, *s);
    if (!mine.ok()) {
      Fail(res, 502, std::string(mine.status().message()));
      return std::nullopt;
    }
    if (mine->has_value()) {
      const std::vector<std::string>& v = **mine;
      if (std::find(v.begin(), v.end(), t.device) == v.end()) {
        Fail(res, 403,
             absl::StrCat("device ", PrintablePath(t.device), " is not bound to account ",
                          s->account, "; an admin can bind it with `shoebox web user bind`"));
        return std::nullopt;
      }
    }
    return t;
  }

  grpc::Status List(const Target& t, bool all_versions, int64_t after, uint32_t limit,
                    pb::ListVersionsResponse* r) {
    pb::ListVersionsRequest lr;
    lr.set_device(t.device);
    lr.set_folder(t.folder);
    lr.set_path(t.path);
    lr.set_at_unix_ms(all_versions ? 0 : t.at);
    lr.set_all_versions(all_versions);
    lr.set_after_version_id(after);
    lr.set_limit(limit);
    auto ctx = d_.link.context();
    return d_.link.stub->ListVersions(ctx.get(), lr, r);
  }

  // One chunk per ReadChunks call: each call is short (the link's deadline
  // holds however slowly the browser reads) and one chunk is all we hold.
  ChunkReader Reader() {
    return [this](const std::string& id) -> absl::StatusOr<std::string> {
      pb::ReadChunksRequest rr;
      rr.add_ids(id);
      auto ctx = d_.link.context();
      auto reader = d_.link.stub->ReadChunks(ctx.get(), rr);
      pb::ChunkData c;
      std::string data;
      bool got = false;
      while (reader->Read(&c)) {
        if (got || c.id() != id) {
          ctx->TryCancel();
          reader->Finish();
          return absl::DataLossError("the coordinator sent another chunk than asked");
        }
        data = std::move(*c.mutable_data());
        got = true;
      }
      grpc::Status g = reader->Finish();
      if (!g.ok()) {
        return absl::Status(static_cast<absl::StatusCode>(g.error_code()),
                            "read chunk " + ToHex(id) + ": " + g.error_message());
      }
      if (!got) return absl::DataLossError("chunk " + ToHex(id) + ": no data");
      return data;
    };
  }

  // A download slot, or false with 503 sent: each download holds a server
  // thread until it ends, and the pool must keep threads for the pages.
  bool TakeSlot(Res res) {
    if (downloads_.fetch_add(1) >= kMaxDownloads) {
      downloads_.fetch_sub(1);
      res.set_header("Retry-After", "10");
      Fail(res, 503,
           absl::StrCat(kMaxDownloads, " downloads are running; try again when one finished"));
      return false;
    }
    return true;
  }
  void GiveSlot(bool) { downloads_.fetch_sub(1); }

  void Devices(Req req, Res res);
  void ListLevel(Req req, Res res);
  void Versions(Req req, Res res);
  void File(Req req, Res res);
  void Zip(Req req, Res res);
  absl::Status WriteZip(const Target& t, const std::string& top, httplib::DataSink& sink);

  PageDeps d_;
  std::atomic<int> downloads_{0};
};

json VersionJson(const pb::FileVersion& v) {
  json copies = json::array();
  for (const pb::VersionCopy& c : v.copies()) {
    copies.push_back(json{{"destination", PrintablePath(c.destination())},
                          {"state", c.state()},
                          {"finished_unix_ms", c.finished_unix_ms()}});
  }
  return json{{"version_id", v.version_id()},
              {"name", PrintablePath(BaseName(v.path()))},
              {"path", ToHex(v.path())},
              {"size", v.size()},
              {"mtime_unix_ms", v.mtime_ns() / 1000000},
              {"created_unix_ms", v.created_unix_ms()},
              {"deleted_unix_ms", v.deleted_unix_ms()},
              {"sha256", ToHex(v.sha256()).substr(0, 16)},
              {"complete", v.state() == pb::VERSION_STATE_COMPLETE},
              {"chunks_dropped", v.chunks_dropped()},
              {"copies", copies}};
}

void Browse::Devices(Req req, Res res) {
  std::optional<Session> s = d_.session(req);
  if (!s) return Fail(res, 401, "not logged in");
  absl::StatusOr<std::optional<std::vector<std::string>>> visible = VisibleDevices(d_.link, *s);
  if (!visible.ok()) return Fail(res, 502, std::string(visible.status().message()));
  const std::optional<std::vector<std::string>>& mine = *visible;
  pb::ListDevicesResponse list;
  auto ctx = d_.link.context();
  grpc::Status g = d_.link.stub->ListDevices(ctx.get(), pb::ListDevicesRequest(), &list);
  if (!g.ok())
    return Fail(res, 502, "the coordinator did not answer ListDevices: " + g.error_message());
  json out = json::array();
  for (const pb::Device& d : list.devices()) {
    if (mine && std::find(mine->begin(), mine->end(), d.name()) == mine->end()) continue;
    json folders = json::array();
    for (const std::string& f : d.folders()) {
      folders.push_back(json{{"name", PrintablePath(f)}, {"folder", ToHex(f)}});
    }
    out.push_back(json{{"name", d.name()}, {"folders", folders}});
  }
  Send(res, 200, json{{"devices", out}});
}

void Browse::ListLevel(Req req, Res res) {
  std::optional<Target> t = Parse(req, res, true);
  if (!t) return;
  pb::ListVersionsResponse r;
  grpc::Status g = List(*t, false, t->after, kBrowseScan, &r);
  if (!g.ok()) {
    return Fail(res, HttpStatus(g.error_code()), "cannot list the folder: " + g.error_message());
  }
  Level level = GroupLevel(t->path, r.versions());
  json folders = json::array();
  for (const std::string& f : level.folders) {
    const std::string full = t->path.empty() ? f : t->path + "/" + f;
    folders.push_back(json{{"name", PrintablePath(f)}, {"path", ToHex(full)}});
  }
  json files = json::array();
  for (const pb::FileVersion* v : level.files) files.push_back(VersionJson(*v));
  Send(res, 200,
       json{{"folders", folders}, {"files", files}, {"next_after", r.next_after_version_id()}});
}

void Browse::Versions(Req req, Res res) {
  std::optional<Target> t = Parse(req, res, true);
  if (!t) return;
  json out = json::array();
  int64_t after = 0;
  do {
    pb::ListVersionsResponse r;
    grpc::Status g = List(*t, true, after, 1000, &r);
    if (!g.ok()) {
      return Fail(res, HttpStatus(g.error_code()),
                  "cannot list the versions: " + g.error_message());
    }
    for (const pb::FileVersion& v : r.versions()) {
      if (v.path() == t->path) out.push_back(VersionJson(v));  // not files below a folder
    }
    after = r.next_after_version_id();
  } while (after != 0 && out.size() < 10000);
  std::reverse(out.begin(), out.end());  // newest first
  Send(res, 200, json{{"versions", out}});
}

void Browse::File(Req req, Res res) {
  std::optional<Target> t = Parse(req, res, true);
  if (!t) return;
  if (t->version == 0) return Fail(res, 400, "version: the version ID to download");
  // The version, looked up among this device's versions of this path: a
  // version ID of another device or path is not found.
  std::optional<pb::FileVersion> found;
  int64_t after = 0;
  do {
    pb::ListVersionsResponse r;
    grpc::Status g = List(*t, true, after, 1000, &r);
    if (!g.ok()) {
      return Fail(res, HttpStatus(g.error_code()), "cannot find the version: " + g.error_message());
    }
    for (pb::FileVersion& v : *r.mutable_versions()) {
      if (v.version_id() == t->version && v.path() == t->path) found = std::move(v);
    }
    after = r.next_after_version_id();
  } while (after != 0 && !found);
  if (!found) {
    return Fail(res, 404,
                absl::StrCat("no version ", t->version, " of ", PrintablePath(t->path), " on ",
                             t->device, "; the Browse page lists the versions"));
  }
  if (found->chunks_dropped()) {
    return Fail(res, 409,
                PrintablePath(t->path) +
                    ": the chunk store no longer holds this version; restore it from a "
                    "destination with `shoebox restore`");
  }
  if (!TakeSlot(res)) return;
  d_.audit(t->account, "WebDownload", absl::StrCat(t->device, ":", PrintablePath(t->path)), true,
           absl::StrCat("version ", t->version));
  res.set_header("Content-Disposition", ContentDisposition(BaseName(t->path)));
  res.set_header("Cache-Control", "no-store");
  auto v = std::make_shared<pb::FileVersion>(std::move(*found));
  auto self = this;
  const std::string who = t->account;
  res.set_content_provider(
      v->size(), "application/octet-stream",
      [self, v, who](size_t offset, size_t, httplib::DataSink& sink) {
        if (offset != 0) return false;  // everything is written in the first call
        absl::Status s = StreamVersion(*v, self->Reader(), [&sink](std::string_view b) {
          return sink.write(b.data(), b.size())
                     ? absl::OkStatus()
                     : absl::UnavailableError("the browser closed the download");
        });
        if (!s.ok()) {
          self->d_.audit(who, "WebDownloadFailed",
                         absl::StrCat(v->device(), ":", PrintablePath(v->path())), false,
                         std::string(s.message()));
        }
        return s.ok();
      },
      [self](bool ok) { self->GiveSlot(ok); });  // also when the provider never ran
}

void Browse::Zip(Req req, Res res) {
  std::optional<Target> t = Parse(req, res, true);
  if (!t) return;
  // Nothing is listed before the answer starts: an empty or unknown folder
  // gives an empty zip, which says as much.
  const std::string top = t->path.empty() ? BaseName(t->folder) : BaseName(t->path);
  const std::string zip_name = (top.empty() ? std::string("folder") : top) + ".zip";
  if (!TakeSlot(res)) return;
  d_.audit(t->account, "WebDownloadZip", absl::StrCat(t->device, ":", PrintablePath(t->path)), true,
           absl::StrCat("at ", t->at));
  res.set_header("Content-Disposition", ContentDisposition(zip_name));
  res.set_header("Cache-Control", "no-store");
  auto self = this;
  auto target = std::make_shared<Target>(*t);
  res.set_chunked_content_provider(
      "application/zip",
      [self, target, top](size_t, httplib::DataSink& sink) {
        absl::Status s = self->WriteZip(*target, top, sink);
        if (!s.ok()) {
          self->d_.audit(target->account, "WebDownloadFailed",
                         absl::StrCat(target->device, ":", PrintablePath(target->path)), false,
                         std::string(s.message()));
          return false;  // no terminating chunk: the browser sees a failed download
        }
        sink.done();
        return true;
      },
      [self](bool ok) { self->GiveSlot(ok); });
}

// The files under t.path as of t.at, each as TOP/relative path, read and
// written one chunk at a time; the listing is paged (1000 versions a call).
absl::Status Browse::WriteZip(const Target& t, const std::string& top, httplib::DataSink& sink) {
  absl::StatusOr<std::unique_ptr<ZipStream>> z = ZipStream::Open([&sink](std::string_view b) {
    return sink.write(b.data(), b.size())
               ? absl::OkStatus()
               : absl::UnavailableError("the browser closed the download");
  });
  if (!z.ok()) return z.status();
  const ChunkReader read = Reader();
  int64_t after = 0;
  do {
    pb::ListVersionsResponse r;
    grpc::Status g = List(t, false, after, 1000, &r);
    if (!g.ok()) {
      return absl::UnavailableError("cannot list the folder: " + g.error_message());
    }
    for (const pb::FileVersion& v : r.versions()) {
      std::string_view rel = v.path();
      if (!t.path.empty()) {
        if (rel.size() <= t.path.size() + 1 || rel[t.path.size()] != '/') continue;
        rel.remove_prefix(t.path.size() + 1);
      }
      absl::Status s = (*z)->Add(top + "/" + std::string(rel), v, read);
      if (!s.ok()) return s;
    }
    after = r.next_after_version_id();
  } while (after != 0);
  return (*z)->Finish();
}

}  // namespace

Level GroupLevel(const std::string& prefix,
                 const google::protobuf::RepeatedPtrField<pb::FileVersion>& versions) {
  Level out;
  std::set<std::string> seen;
  for (const pb::FileVersion& v : versions) {
    std::string_view rel = v.path();
    if (!prefix.empty()) {
      if (rel.size() <= prefix.size() + 1 || rel.substr(0, prefix.size()) != prefix ||
          rel[prefix.size()] != '/') {
        continue;  // the prefix itself (a file), or not below it
      }
      rel.remove_prefix(prefix.size() + 1);
    }
    const size_t slash = rel.find('/');
    if (slash == std::string_view::npos) {
      out.files.push_back(&v);
    } else if (seen.insert(std::string(rel.substr(0, slash))).second) {
      out.folders.emplace_back(rel.substr(0, slash));
    }
  }
  std::sort(out.folders.begin(), out.folders.end());
  return out;
}

void RegisterBrowse(httplib::Server& http, PageDeps deps) {
  auto b = std::make_shared<Browse>(std::move(deps));
  http.Get("/browse", [b](Req, Res res) { b->d_.serve_asset("browse.html", res); });
  http.Get("/api/browse/devices", [b](Req req, Res res) { b->Devices(req, res); });
  http.Get("/api/browse/list", [b](Req req, Res res) { b->ListLevel(req, res); });
  http.Get("/api/browse/versions", [b](Req req, Res res) { b->Versions(req, res); });
  http.Get("/api/browse/file", [b](Req req, Res res) { b->File(req, res); });
  http.Get("/api/browse/zip", [b](Req req, Res res) { b->Zip(req, res); });
}

}  // namespace shoebox::cli::web
