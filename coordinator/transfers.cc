#include "coordinator/transfers.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/paths.h"
#include "common/status.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

TransferRate ComputeTransferRate(const TransferRow& r) {
  TransferRate out;
  if (r.window_items > 0) {
    const double secs = std::max(1.0, r.window_s);
    out.items_per_s = static_cast<double>(r.window_items) / secs;
    out.bytes_per_s = static_cast<double>(r.window_bytes) / secs;
  }
  if (r.items_pending == 0) {
    out.eta_s = 0;
  } else if (r.state != "active" || out.items_per_s <= 0) {
    out.eta_s = -1;
  } else {
    out.eta_s =
        static_cast<int64_t>(std::ceil(static_cast<double>(r.items_pending) / out.items_per_s));
  }
  return out;
}

namespace {

shoebox::v1::Transfer ToProto(const TransferRow& r) {
  shoebox::v1::Transfer t;
  t.set_name(r.spec.name);
  t.set_source(r.spec.source);
  for (const std::string& d : r.spec.targets) t.add_targets(d);
  t.set_pass_through(r.spec.pass_through);
  t.set_since_unix_ms(r.spec.since_ms);
  t.set_state(r.state);
  t.set_created_unix_ms(r.created_unix_ms);
  t.set_last_listed_unix_ms(r.last_listed_unix_ms);
  t.set_items_found(r.items_found);
  t.set_items_fetched(r.items_fetched);
  t.set_bytes_fetched(r.bytes_fetched);
  t.set_items_pending(r.items_pending);
  t.set_items_failed(r.items_failed);
  uint64_t bytes_delivered = 0;
  for (const TransferTargetRow& d : r.targets) {
    shoebox::v1::TransferTarget* x = t.add_delivery();
    x->set_destination(d.destination);
    x->set_delivered(d.delivered);
    x->set_pending(d.pending);
    x->set_delivered_bytes(d.delivered_bytes);
    x->set_failed(d.failed);
    x->set_waiting(d.waiting);
    bytes_delivered += d.delivered_bytes;
  }
  t.set_bytes_delivered(bytes_delivered);
  const TransferRate rate = ComputeTransferRate(r);
  t.set_items_per_s(rate.items_per_s);
  t.set_bytes_per_s(rate.bytes_per_s);
  t.set_rate_window_s(kTransferRateWindowS);
  t.set_eta_s(rate.eta_s);
  // Why it waits: the first reason that holds, in the queue's words.
  std::string waiting;
  if (r.state == "paused") {
    waiting = "paused by an admin (`shoebox transfer resume " + r.spec.name + "`)";
  } else if (r.state == "active") {
    if (!r.source_waiting.empty()) {
      waiting = "source: " + r.source_waiting;
    } else {
      for (const TransferTargetRow& d : r.targets) {
        if (d.waiting.empty()) continue;
        waiting = "delivery to " + d.destination + ": " + d.waiting;
        break;
      }
    }
  }
  t.set_waiting(waiting);
  return t;
}

absl::Status ValidateTransferName(const std::string& name) {
  if (name.empty() || name.size() > 128 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789-_.@") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name '", PrintablePath(name),
        "': 1-128 characters of letters, digits, '-', '_', '.', '@' (it names the transfer and "
        "the device its items go to)"));
  }
  return absl::OkStatus();
}

}  // namespace

bool KindCanBeTransferSource(const std::string& kind) {
  static const char* const kKinds[] = {"local",  "s3",      "webdav",   "sftp",
                                       "rclone", "dropbox", "onedrive", "gdrive",
                                       "flickr", "smugmug", "gphotos"};
  for (const char* k : kKinds) {
    if (kind == k) return true;
  }
  return false;
}

ListingDiff DiffListing(const std::vector<ListingEntry>& previous, std::vector<ListingEntry> now,
                        int64_t since_ns, bool changes_only) {
  ListingDiff d;
  for (ListingEntry& e : now) {
    std::sort(e.albums.begin(), e.albums.end());
    e.albums.erase(std::unique(e.albums.begin(), e.albums.end()), e.albums.end());
  }
  std::map<std::string, const ListingEntry*> before;
  for (const ListingEntry& e : previous) before[e.path] = &e;
  std::sort(now.begin(), now.end(),
            [](const ListingEntry& a, const ListingEntry& b) { return a.path < b.path; });
  uint64_t kept_before = 0;
  for (ListingEntry& e : now) {
    if (e.path.empty() || absl::StartsWith(e.path, ".shoebox/")) continue;
    if (since_ns != 0 && e.mtime_ns != 0 && e.mtime_ns < since_ns) continue;
    if (!d.current.empty() && d.current.back().path == e.path) continue;  // listed twice
    auto it = before.find(e.path);
    bool changed = it == before.end();
    if (!changed) {
      ++kept_before;
      const ListingEntry& p = *it->second;
      changed = p.size != e.size || p.mtime_ns != e.mtime_ns ||
                (!p.etag.empty() && !e.etag.empty() && p.etag != e.etag) || p.albums != e.albums;
    }
    if (changed) {
      d.fetch.push_back(e);
    } else {
      ++d.unchanged;
    }
    d.current.push_back(std::move(e));
  }
  if (changes_only) {
    // What the changes do not name stays as it was.
    std::vector<ListingEntry> merged;
    merged.reserve(previous.size() + d.current.size());
    size_t i = 0;
    std::vector<const ListingEntry*> old;
    for (const ListingEntry& e : previous) old.push_back(&e);
    std::sort(old.begin(), old.end(),
              [](const ListingEntry* a, const ListingEntry* b) { return a->path < b->path; });
    for (const ListingEntry* p : old) {
      while (i < d.current.size() && d.current[i].path < p->path) {
        merged.push_back(std::move(d.current[i++]));
      }
      if (i < d.current.size() && d.current[i].path == p->path) continue;
      merged.push_back(*p);
      ++d.unchanged;
    }
    while (i < d.current.size()) merged.push_back(std::move(d.current[i++]));
    d.current = std::move(merged);
    d.gone = 0;
    return d;
  }
  d.gone = before.size() - kept_before;
  return d;
}

absl::StatusOr<shoebox::v1::Transfer> Transfers::Add(const shoebox::v1::AddTransferRequest& req) {
  RETURN_IF_ERROR(ValidateTransferName(req.name()));
  if (req.source().empty()) {
    return absl::InvalidArgumentError("source: empty; name the destination to read (--from)");
  }
  RETURN_IF_ERROR(CheckNoNul(req.source(), "source"));
  if (req.targets().empty()) {
    return absl::InvalidArgumentError(
        "targets: none; name at least one destination to deliver to (--to D1[,D2])");
  }
  if (req.targets_size() > 100) {
    return absl::InvalidArgumentError("targets: at most 100 destinations");
  }
  TransferSpec spec;
  spec.name = req.name();
  spec.source = req.source();
  for (const std::string& t : req.targets()) {
    if (t.empty()) return absl::InvalidArgumentError("targets: an empty destination name");
    RETURN_IF_ERROR(CheckNoNul(t, "targets"));
    spec.targets.push_back(t);
  }
  spec.pass_through = req.pass_through();
  if (req.since_unix_ms() < 0) {
    return absl::InvalidArgumentError("since_unix_ms: negative; give a date after 1970");
  }
  spec.since_ms = req.since_unix_ms();
  ASSIGN_OR_RETURN(TransferRow row, store_->AddTransfer(spec, KindCanBeTransferSource));
  return ToProto(row);
}

absl::StatusOr<shoebox::v1::ListTransfersResponse> Transfers::List() {
  ASSIGN_OR_RETURN(std::vector<TransferRow> rows, store_->ListTransfers());
  shoebox::v1::ListTransfersResponse out;
  for (const TransferRow& r : rows) *out.add_transfers() = ToProto(r);
  return out;
}

absl::StatusOr<shoebox::v1::Transfer> Transfers::SetState(const std::string& name,
                                                          const std::string& state) {
  RETURN_IF_ERROR(ValidateTransferName(name));
  ASSIGN_OR_RETURN(TransferRow row, store_->SetTransferState(name, state));
  return ToProto(row);
}

absl::StatusOr<shoebox::v1::ReportListingResponse> Transfers::ReportListing(
    int64_t worker_id, const shoebox::v1::ReportListingRequest& req) {
  std::vector<ListingEntry> now;
  now.reserve(req.items_size());
  for (int i = 0; i < req.items_size(); ++i) {
    const shoebox::v1::ListedItem& it = req.items(i);
    RETURN_IF_ERROR(ValidateRelativePath(it.path(), absl::StrCat("items[", i, "].path")));
    RETURN_IF_ERROR(CheckNoNul(it.etag(), absl::StrCat("items[", i, "].etag")));
    ListingEntry e{it.path(), it.size(), it.mtime_ns(), it.etag()};
    if (it.albums_size() > 1000) {
      return absl::InvalidArgumentError(
          absl::StrCat("items[", i, "].albums: ", it.albums_size(), " albums; at most 1,000"));
    }
    for (const std::string& a : it.albums()) {
      if (a.empty() || a.size() > 1024) {
        return absl::InvalidArgumentError(absl::StrCat("items[", i, "].albums: an album title of ",
                                                       a.size(), " bytes; 1-1,024 bytes"));
      }
      RETURN_IF_ERROR(CheckNoNul(a, absl::StrCat("items[", i, "].albums")));
      e.albums.push_back(a);
    }
    e.capture_ns = it.capture_unix_ns();
    now.push_back(std::move(e));
  }
  TransferLease lease{req.job_id(), req.lease_token(), worker_id, 7};
  if (req.cursor_only()) {
    if (req.items_size() > 0) {
      return absl::InvalidArgumentError(
          "cursor_only: asks for the saved cursor and applies nothing; send no items with it");
    }
    ASSIGN_OR_RETURN(std::string cursor, store_->ListCursor(lease));
    shoebox::v1::ReportListingResponse out;
    out.set_cursor(cursor);
    return out;
  }
  RETURN_IF_ERROR(CheckNoNul(req.next_cursor(), "next_cursor"));
  if (req.next_cursor().size() > 4096) {
    return absl::InvalidArgumentError("next_cursor: longer than 4,096 bytes");
  }
  ASSIGN_OR_RETURN(ListingOutcome o,
                   store_->ApplyListing(
                       lease,
                       [&](const std::vector<ListingEntry>& previous, int64_t since_ms,
                           std::vector<ListingEntry>* save, std::vector<ListingEntry>* fetch,
                           ListingOutcome* counts) {
                         ListingDiff d =
                             DiffListing(previous, now, since_ms * 1000000, req.changes_only());
                         counts->found = d.current.size();
                         counts->unchanged = d.unchanged;
                         counts->gone = d.gone;
                         *save = std::move(d.current);
                         *fetch = std::move(d.fetch);
                       },
                       // A full listing without a cursor clears the saved one.
                       &req.next_cursor()));
  shoebox::v1::ReportListingResponse out;
  out.set_found(o.found);
  out.set_queued(o.queued);
  out.set_unchanged(o.unchanged);
  out.set_gone(o.gone);
  return out;
}

absl::StatusOr<std::string> Transfers::FetchLease(int64_t worker_id, int64_t job_id,
                                                  const std::string& token) {
  return store_->LeasedTransfer(TransferLease{job_id, token, worker_id, 4});
}

absl::StatusOr<FetchFacts> Transfers::FetchItem(int64_t worker_id, int64_t job_id,
                                                const std::string& token) {
  return store_->LeasedFetch(TransferLease{job_id, token, worker_id, 4});
}

absl::StatusOr<uint64_t> Transfers::ScheduleLists(uint32_t interval_ms) {
  return store_->ScheduleLists(interval_ms);
}

}  // namespace shoebox::coordinator
