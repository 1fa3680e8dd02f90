// The Browse page (issue 22, docs/web.md): a device's backed-up tree as it
// was at a chosen time, one folder level at a time, a file's versions and
// where their copies are, and downloads (one version, or a folder as a
// streamed zip; download.h). Everything comes from AdminService.ListVersions
// and ReadChunks; a member may only name a device bound to it (403
// otherwise, checked against the coordinator's binding on every request).
//
//   GET /browse                                     the page
//   GET /api/browse/devices                         devices and their folder roots
//   GET /api/browse/list?device&folder&path&at&after    one page of one level
//   GET /api/browse/versions?device&folder&path     a file's versions and copies
//   GET /api/browse/file?device&folder&path&version one version's bytes
//   GET /api/browse/zip?device&folder&path&at       a folder as of `at`, zipped
//
// `folder` and `path` are the catalog's raw bytes in hex (a device's paths
// need not be UTF-8); `at` is ms since the epoch (0 or absent: now).
#pragma once

#include <httplib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cli/web/pages.h"
#include "shoebox/v1/common.pb.h"

namespace shoebox::cli::web {

// Versions asked of the coordinator per /api/browse/list call.
inline constexpr uint32_t kBrowseScan = 2000;
// Downloads at once (each holds a server thread while it runs); the next
// gets 503 with Retry-After.
inline constexpr int kMaxDownloads = 8;

// One folder level out of versions under `prefix` ('/'-separated, "" for the
// folder root): the files directly in it and the names of its subfolders.
struct Level {
  std::vector<std::string> folders;  // first path component below prefix, deduplicated
  std::vector<const shoebox::v1::FileVersion*> files;
};
Level GroupLevel(const std::string& prefix,
                 const google::protobuf::RepeatedPtrField<shoebox::v1::FileVersion>& versions);

void RegisterBrowse(httplib::Server& http, PageDeps deps);

}  // namespace shoebox::cli::web
