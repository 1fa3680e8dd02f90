#include "coordinator/ingest.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/status.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

Ingest::Ingest(CatalogStore* store, SealedChunkStore* chunks, const DerivedKeys& keys,
               Metrics* metrics)
    : store_(store),
      chunks_(chunks),
      metrics_(metrics),
      id_hmac_(ByteSpan(keys.chunk_id_key.data(), keys.chunk_id_key.size())),
      gear_(MakeGearTable(keys.chunker_key)) {}

absl::StatusOr<std::unique_ptr<Ingest::Session>> Ingest::Open(
    const shoebox::v1::ImportHeader& header) {
  RETURN_IF_ERROR(ValidateImportHeader(header));
  const std::string& name = header.source();
  const std::string root = FolderOf(name);
  ASSIGN_OR_RETURN(std::vector<DeviceRow> devices, store_->ListDevices());
  for (const DeviceRow& d : devices) {
    if (d.name != name) continue;
    if (d.hostname != kImportHostname) {
      return absl::FailedPreconditionError(
          absl::StrCat("device '", name, "' is an agent's device (host ", d.hostname,
                       "), not an import source; import under another name (--device NAME)"));
    }
  }
  ASSIGN_OR_RETURN(int64_t id, store_->UpsertDevice(name, kImportHostname, "shoebox import",
                                                    std::vector<std::string>{root}));
  ASSIGN_OR_RETURN(std::vector<Folder> folders, store_->ListFolders(id));
  for (const Folder& f : folders) {
    if (f.root == root) {
      return std::unique_ptr<Session>(new Session(this, name, id, f.id));
    }
  }
  return absl::InternalError(
      absl::StrCat("device '", name, "': folder ", root, " missing right after it was added"));
}

Ingest::Session::Session(Ingest* ingest, std::string device, int64_t device_id, int64_t folder_id)
    : ingest_(ingest), device_(std::move(device)), device_id_(device_id), folder_id_(folder_id) {
  totals_.set_device(device_);
}

Ingest::Session::~Session() { ingest_->chunks_->store()->AbandonPuts(staged_); }

absl::Status Ingest::Session::Handle(const shoebox::v1::ImportItemsRequest& msg) {
  switch (msg.part_case()) {
    case shoebox::v1::ImportItemsRequest::kHeader:
      return absl::InvalidArgumentError(
          "header: sent twice; one ImportItems stream imports into one source");
    case shoebox::v1::ImportItemsRequest::kItem:
      return BeginItem(msg.item());
    case shoebox::v1::ImportItemsRequest::kData:
      return Feed(msg.data());
    case shoebox::v1::ImportItemsRequest::PART_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("part: empty message; send an item or its data");
}

absl::Status Ingest::Session::BeginItem(const shoebox::v1::ImportItem& item) {
  if (item_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "items[", item_count_ - 1, "] (", PrintablePath(item_->path()), "): ", received_, " of ",
        item_->size(), " bytes received when the next item began"));
  }
  RETURN_IF_ERROR(ValidateImportItem(item, item_count_));
  ++item_count_;
  item_ = item;
  received_ = 0;
  chunker_ = std::make_unique<Chunker>(ChunkerParams{}, ingest_->gear_);
  sha_ = std::make_unique<Sha256>();
  pending_.clear();
  refs_.clear();
  ingest_->chunks_->store()->AbandonPuts(staged_);
  staged_.clear();
  written_.clear();
  seen_.clear();
  if (item.size() == 0) return EndItem();
  return absl::OkStatus();
}

absl::Status Ingest::Session::Feed(std::string_view data) {
  if (!item_) {
    return absl::InvalidArgumentError("data: bytes without an item; send the ImportItem first");
  }
  if (data.size() > kMaxImportDataMessage) {
    return absl::InvalidArgumentError(absl::StrCat("data: ", data.size(),
                                                   " bytes in one message exceed the limit of ",
                                                   kMaxImportDataMessage));
  }
  if (data.size() > item_->size() - received_) {
    return absl::InvalidArgumentError(
        absl::StrCat("items[", item_count_ - 1, "] (", PrintablePath(item_->path()),
                     "): more bytes than its size of ", item_->size()));
  }
  sha_->Update(data);
  std::vector<uint64_t> cuts;
  chunker_->Feed(AsBytes(data), &cuts);
  pending_.append(data);
  const uint64_t pending_start = received_ + data.size() - pending_.size();
  size_t used = 0;
  for (uint64_t cut : cuts) {
    const size_t end = static_cast<size_t>(cut - pending_start);
    RETURN_IF_ERROR(StoreChunk(std::string_view(pending_).substr(used, end - used)));
    used = end;
  }
  pending_.erase(0, used);
  received_ += data.size();
  if (received_ == item_->size()) return EndItem();
  return absl::OkStatus();
}

absl::Status Ingest::Session::StoreChunk(std::string_view data) {
  const Digest d = ingest_->id_hmac_.Compute(data);
  std::string id = DigestToString(d);
  refs_.push_back(ChunkRef{id, static_cast<uint32_t>(data.size())});
  if (seen_.contains(id)) return absl::OkStatus();  // twice in this item
  ASSIGN_OR_RETURN(ChunkStatus st, ingest_->store_->GetChunk(id));
  seen_[id] = st.stored;
  if (st.stored) {
    totals_.set_chunks_deduplicated(totals_.chunks_deduplicated() + 1);
    return absl::OkStatus();
  }
  uint64_t stored_size = 0;
  absl::StatusOr<ChunkStore::StagedPut> put =
      ingest_->chunks_->StagePlain(d, AsBytes(data), &stored_size);
  if (!put.ok()) {
    return Annotate(put.status(), absl::StrCat("writing chunk ", ToHex(id), " of ",
                                               PrintablePath(item_->path())));
  }
  staged_.push_back(std::move(*put));
  ingest_->metrics_->ChunkIngested(data.size(), stored_size);
  written_[id] = stored_size;
  totals_.set_chunks_written(totals_.chunks_written() + 1);
  return absl::OkStatus();
}

absl::Status Ingest::Session::EndItem() {
  if (auto last = chunker_->Finish(); last.has_value()) {
    RETURN_IF_ERROR(StoreChunk(pending_));
    pending_.clear();
  }
  const shoebox::v1::ImportItem item = std::move(*item_);
  item_.reset();
  const std::string where =
      absl::StrCat("items[", item_count_ - 1, "] (", PrintablePath(item.path()), ")");
  const std::string sha = DigestToString(sha_->Final());
  if (sha != item.sha256()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".sha256: the ", item.size(),
                                                   " bytes received hash to ", ToHex(sha), ", not ",
                                                   ToHex(item.sha256()),
                                                   "; the archive may be damaged: check it and "
                                                   "import again"));
  }
  // The item's new chunks become durable together, before the catalog
  // references them.
  {
    absl::Status committed = ingest_->chunks_->store()->CommitPuts(staged_);
    staged_.clear();
    if (!committed.ok()) return Annotate(committed, absl::StrCat(where, ": writing its chunks"));
  }
  ReportItem r;
  r.folder_id = folder_id_;
  r.path = item.path();
  r.size = item.size();
  r.mtime_ns = item.mtime_ns();
  r.sha256 = sha;
  r.mode = 0644;
  r.chunks = refs_;
  r.albums.assign(item.albums().begin(), item.albums().end());
  std::sort(r.albums.begin(), r.albums.end());
  r.albums.erase(std::unique(r.albums.begin(), r.albums.end()), r.albums.end());
  r.capture_ns = item.capture_unix_ns();
  ASSIGN_OR_RETURN(std::vector<ReportOutcome> outs,
                   ingest_->store_->ReportFiles(device_id_, std::vector<ReportItem>{r}));
  if (outs.size() != 1) return absl::InternalError("report files: one outcome expected");
  ReportOutcome& o = outs[0];
  if (o.code != absl::StatusCode::kOk) return absl::Status(o.code, where + "." + o.message);
  // The server read the bytes: chunks it wrote now are stored (and owned by
  // the source's device); chunks stored before are owned by it from now.
  for (const std::string& id : o.missing) {
    auto w = written_.find(id);
    uint32_t size = 0;
    for (const ChunkRef& c : refs_) {
      if (c.id == id) size = c.size;
    }
    if (w == written_.end()) {
      return absl::UnavailableError(absl::StrCat(
          where, ": chunk ", ToHex(id),
          " was stored when the item was read but is not any more (pruned meanwhile); import "
          "again"));
    }
    RETURN_IF_ERROR(ingest_->store_->MarkChunkStored(id, size, w->second, device_id_).status());
  }
  for (const std::string& id : o.unproven) {
    RETURN_IF_ERROR(ingest_->store_->RecordChunkOwner(id, device_id_).status());
  }
  totals_.set_items(totals_.items() + 1);
  totals_.set_bytes(totals_.bytes() + item.size());
  if (o.unchanged) {
    totals_.set_already_imported(totals_.already_imported() + 1);
  } else {
    totals_.set_new_versions(totals_.new_versions() + 1);
  }
  SPDLOG_DEBUG("event=import_item device=\"{}\" path=\"{}\" version_id={} unchanged={}", device_,
               PrintablePath(item.path()), o.version_id, o.unchanged);
  return absl::OkStatus();
}

absl::StatusOr<shoebox::v1::ImportItemsResponse> Ingest::Session::Finish() {
  if (item_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "items[", item_count_ - 1, "] (", PrintablePath(item_->path()), "): ", received_, " of ",
        item_->size(), " bytes received before the stream ended"));
  }
  SPDLOG_INFO(
      "event=import_done device=\"{}\" items={} new={} already={} bytes={} chunks_written={} "
      "chunks_deduplicated={}",
      device_, totals_.items(), totals_.new_versions(), totals_.already_imported(), totals_.bytes(),
      totals_.chunks_written(), totals_.chunks_deduplicated());
  return totals_;
}

}  // namespace shoebox::coordinator
