#include "coordinator/catalog.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/status.h"
#include "common/steady_wait.h"
#include "coordinator/proto_convert.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

namespace {

std::string KeyString(const Key256& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), k.size());
}

Key256 ChallengeKey(const DerivedKeys& keys) {
  return HkdfSha256(keys.data_key.data(), keys.data_key.size(), "shoebox challenge key");
}

// Compares without an early exit (the proof and the tag are secrets of sorts).
bool SameBytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

void PutBigEndian64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetBigEndian64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// The tag of a nonce's first 24 bytes for (device, chunk): 16 bytes.
std::string NonceTag(const HmacSha256& mac, int64_t device_id, const std::string& chunk_id,
                     std::string_view head) {
  std::string msg = "shoebox challenge v1";
  char dev[8];
  PutBigEndian64(static_cast<uint64_t>(device_id), dev);
  msg.append(dev, 8);
  msg += chunk_id;
  msg += head;
  return DigestToString(mac.Compute(msg)).substr(0, 16);
}

}  // namespace

// The damage is recorded (the chunk is marked not stored) and repairs queued
// from destination copies (issue 7, docs/verify.md), so a restore that hits
// it both names it and starts the repair.
absl::Status Catalog::ChunkReadFailed(const std::string& id, const absl::Status& st) {
  if (!absl::IsDataLoss(st) && !absl::IsNotFound(st)) return st;
  absl::Status rec = verify_->RecordDamage(id, st.ToString());
  uint64_t queued = 0;
  if (rec.ok()) rec = verify_->OpenDamage(/*queue_repairs=*/true, &queued).status();
  SPDLOG_ERROR("event=chunk_damaged chunk={} found_by=read error=\"{}\" repairs_queued={}",
               ToHex(id), std::string(st.message()), queued);
  return absl::DataLossError(absl::StrCat(
      st.message(), "; the chunk is now recorded as damaged",
      rec.ok() ? " and repaired from a destination copy where one exists (`shoebox verify "
                 "--scrub-percent 0` lists it and the affected files)"
               : absl::StrCat(" (recording failed: ", rec.message(), ")")));
}

Catalog::Catalog(CatalogStore* store, VerifyStore* verify, SealedChunkStore* chunks,
                 const DerivedKeys& keys, const Limits& limits, Metrics* metrics)
    : store_(store),
      verify_(verify),
      chunks_(chunks),
      keys_(keys),
      limits_(limits),
      metrics_(metrics),
      id_hmac_(ByteSpan(keys.chunk_id_key.data(), keys.chunk_id_key.size())),
      challenge_hmac_([&] {
        const Key256 k = ChallengeKey(keys);
        return HmacSha256(ByteSpan(k.data(), k.size()));
      }()) {}

std::string Catalog::NewNonce(int64_t device_id, const std::string& chunk_id,
                              absl::Time now) const {
  std::string nonce(24, '\0');
  PutBigEndian64(static_cast<uint64_t>(absl::ToUnixMillis(now)), nonce.data());
  SecureRandom(reinterpret_cast<uint8_t*>(nonce.data() + 8), 16);
  nonce += NonceTag(challenge_hmac_, device_id, chunk_id, nonce);
  return nonce;
}

absl::Status Catalog::CheckNonce(int64_t device_id, const std::string& chunk_id,
                                 const std::string& nonce, absl::Time now) const {
  if (nonce.size() != kNonceSize) {
    return absl::InvalidArgumentError(absl::StrCat("nonce: must be the ", kNonceSize,
                                                   " bytes of a ReportFiles challenge, got ",
                                                   nonce.size()));
  }
  const std::string_view head(nonce.data(), 24);
  if (!SameBytes(nonce.substr(24), NonceTag(challenge_hmac_, device_id, chunk_id, head))) {
    return absl::PermissionDeniedError(
        absl::StrCat("nonce: not a challenge this coordinator issued to this device for chunk ",
                     ToHex(chunk_id), "; report the file again for a fresh challenge"));
  }
  const absl::Time issued =
      absl::FromUnixMillis(static_cast<int64_t>(GetBigEndian64(nonce.data())));
  if (now - issued > kChallengeLifetime) {
    return absl::FailedPreconditionError(absl::StrCat(
        "nonce: the challenge for chunk ", ToHex(chunk_id), " expired at ",
        absl::FormatTime(issued + kChallengeLifetime), "; report the file again for a fresh one"));
  }
  return absl::OkStatus();
}

// Proof of ownership (docs/security.md, "Deduplication and proof of
// ownership"). The stored chunk is opened (one chunk-store read and one
// AES-GCM open) and HMAC-SHA256(key = nonce, plaintext) compared with the
// answer; a match makes the device an owner of the chunk, which completes
// its versions that waited only for it.
shoebox::v1::PutChunkAck Catalog::ProveChunk(const std::string& device,
                                             const shoebox::v1::PutChunkRequest& req) {
  shoebox::v1::PutChunkAck ack;
  ack.set_id(req.id());
  auto fail = [&](const absl::Status& st) {
    ack.set_code(static_cast<int>(st.code()));
    ack.set_message(std::string(st.message()));
    return ack;
  };
  if (req.id().size() != 32) {
    return fail(
        absl::InvalidArgumentError(absl::StrCat("id: must be 32 bytes, got ", req.id().size())));
  }
  if (!req.data().empty()) {
    return fail(absl::InvalidArgumentError(
        "data: a proof (nonce, proof) carries no data; send either the data or the proof"));
  }
  if (req.proof().size() != 32) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "proof: must be the 32 bytes of HMAC-SHA256(nonce, chunk), got ", req.proof().size())));
  }
  absl::StatusOr<int64_t> dev = DeviceId(device);
  if (!dev.ok()) return fail(dev.status());
  if (absl::Status st = CheckNonce(*dev, req.id(), req.nonce(), absl::Now()); !st.ok()) {
    return fail(st);
  }
  absl::StatusOr<ChunkStatus> status = store_->GetChunk(req.id());
  if (!status.ok()) return fail(status.status());
  if (!status->stored) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "chunk ", ToHex(req.id()), " is not in the chunk store (any more); upload its data")));
  }
  ChunkId id;
  DigestFromString(req.id(), &id);
  absl::StatusOr<std::string> plain = chunks_->GetPlain(id);
  if (!plain.ok()) {
    // Damaged: recorded (and repaired); the device's upload repairs it too.
    absl::Status st = ChunkReadFailed(req.id(), plain.status());
    return fail(absl::Status(st.code(), absl::StrCat(st.message(), "; upload its data")));
  }
  const HmacSha256 answer(AsBytes(req.nonce()));
  if (!SameBytes(DigestToString(answer.Compute(*plain)), req.proof())) {
    SPDLOG_WARN("event=chunk_proof_refused device=\"{}\" chunk={}", device, ToHex(req.id()));
    return fail(absl::PermissionDeniedError(absl::StrCat(
        "proof: does not match the content of chunk ", ToHex(req.id()),
        "; upload the chunk's data instead (the file may have changed since it was read)")));
  }
  absl::StatusOr<std::vector<int64_t>> done = store_->RecordChunkOwner(req.id(), *dev);
  if (!done.ok()) return fail(done.status());
  for (int64_t v : *done) ack.add_completed_version_ids(v);
  ack.set_code(0);
  return ack;
}

absl::StatusOr<int64_t> Catalog::DeviceId(const std::string& device) {
  {
    absl::MutexLock l(&mu_);
    auto it = device_ids_.find(device);
    if (it != device_ids_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(int64_t id, store_->FindDevice(device));
  absl::MutexLock l(&mu_);
  device_ids_[device] = id;
  return id;
}

absl::StatusOr<shoebox::v1::HelloResponse> Catalog::Hello(const std::string& device,
                                                          const shoebox::v1::HelloRequest& req) {
  RETURN_IF_ERROR(ValidateHello(req));  // coordinator/validate.h
  std::vector<std::string> folders(req.folders().begin(), req.folders().end());
  ASSIGN_OR_RETURN(int64_t id, store_->UpsertDevice(device, Utf8Text(req.hostname()),
                                                    req.agent_version(), folders));
  {
    absl::MutexLock l(&mu_);
    device_ids_[device] = id;
  }
  SPDLOG_INFO("event=hello device=\"{}\" device_id={} folders={}", device, id, folders.size());
  shoebox::v1::HelloResponse resp;
  resp.set_device_id(id);
  resp.set_device_name(device);
  resp.set_chunk_id_key(KeyString(keys_.chunk_id_key));
  resp.set_chunker_key(KeyString(keys_.chunker_key));
  ChunkerParams p;
  resp.set_chunk_min_size(p.min_size);
  resp.set_chunk_avg_size(p.avg_size);
  resp.set_chunk_max_size(p.max_size);
  resp.set_max_report_batch(limits_.max_report_batch);
  return resp;
}

absl::StatusOr<shoebox::v1::HeartbeatResponse> Catalog::Heartbeat(
    const std::string& device, const shoebox::v1::HeartbeatRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, DeviceId(device));
  RETURN_IF_ERROR(store_->RecordHeartbeat(id, FromProto(req)));
  shoebox::v1::HeartbeatResponse resp;
  resp.set_server_unix_ms(absl::ToUnixMillis(absl::Now()));
  // Damaged chunks this device can repair from unchanged files (best
  // effort: a failure here must not fail the heartbeat).
  absl::StatusOr<std::vector<DamagedFile>> damaged = store_->DamagedFilesOf(id, 200);
  if (damaged.ok()) {
    for (const DamagedFile& f : *damaged) *resp.add_reread() = ToProto(f);
  } else {
    SPDLOG_WARN("event=damaged_files_lookup_failed device=\"{}\" error=\"{}\"", device,
                std::string(damaged.status().message()));
  }
  return resp;
}

absl::StatusOr<shoebox::v1::ReportFilesResponse> Catalog::ReportFiles(
    const std::string& device, const shoebox::v1::ReportFilesRequest& req) {
  RETURN_IF_ERROR(ValidateReportBatch(req, limits_.max_report_batch));
  ASSIGN_OR_RETURN(int64_t device_id, DeviceId(device));
  ASSIGN_OR_RETURN(std::vector<Folder> folders, store_->ListFolders(device_id));
  absl::flat_hash_map<std::string, int64_t> folder_ids;
  for (const Folder& f : folders) folder_ids[f.root] = f.id;

  shoebox::v1::ReportFilesResponse resp;
  std::vector<ReportItem> items;
  std::vector<int> item_index;  // items[k] is files[item_index[k]]
  items.reserve(req.files_size());
  absl::flat_hash_map<std::string, int> seen;
  for (int i = 0; i < req.files_size(); ++i) {
    const auto& f = req.files(i);
    auto* r = resp.add_results();
    r->set_index(i);
    absl::Status st = ValidateFileReport(f, i);
    int64_t folder_id = 0;
    if (st.ok()) {
      auto it = folder_ids.find(f.folder());
      if (it == folder_ids.end()) {
        st = absl::InvalidArgumentError(absl::StrCat(
            "files[", i, "].folder: ", PrintablePath(f.folder()),
            " is not a folder this device announced in Hello; call Hello with it first"));
      } else {
        folder_id = it->second;
      }
    }
    if (st.ok()) {
      // NUL cannot occur in a valid path, so the key is unambiguous.
      std::string key = absl::StrCat(folder_id, absl::string_view("\0", 1), f.path());
      auto [it, inserted] = seen.emplace(key, i);
      if (!inserted) {
        st = absl::InvalidArgumentError(absl::StrCat(
            "files[", i, "].path: reported twice in one batch (also files[", it->second, "])"));
      }
    }
    if (!st.ok()) {
      r->set_code(static_cast<int>(st.code()));
      r->set_message(std::string(st.message()));
      continue;
    }
    ReportItem& item = items.emplace_back();
    item.folder_id = folder_id;
    item.path = f.path();
    item.deleted = f.op() == shoebox::v1::FileReport::OP_DELETE;
    item.size = f.size();
    item.mtime_ns = f.mtime_ns();
    item.sha256 = f.sha256();
    item.mode = f.mode() & 0777;  // kPermissionBits (common/fsutil.h): no setuid/setgid/sticky
    item.chunks.reserve(f.chunks_size());
    for (const auto& c : f.chunks()) item.chunks.push_back(ChunkRefRow{c.id(), c.size()});
    item_index.push_back(i);
  }
  if (items.empty()) return resp;
  ASSIGN_OR_RETURN(std::vector<ReportOutcome> outcomes, store_->ReportFiles(device_id, items));
  const absl::Time now = absl::Now();
  absl::flat_hash_map<std::string, std::string> nonces;  // one challenge per chunk and batch
  for (size_t k = 0; k < outcomes.size(); ++k) {
    auto* r = resp.mutable_results(item_index[k]);
    if (outcomes[k].code != absl::StatusCode::kOk) {
      r->set_code(static_cast<int>(outcomes[k].code));
      r->set_message(absl::StrCat("files[", item_index[k], "].", outcomes[k].message));
      continue;
    }
    r->set_version_id(outcomes[k].version_id);
    // Stored chunks this device never uploaded or proved: a challenge each.
    for (const std::string& id : outcomes[k].unproven) {
      auto [it, fresh] = nonces.try_emplace(id);
      if (fresh) it->second = NewNonce(device_id, id, now);
      shoebox::v1::ChunkChallenge* c = r->add_challenges();
      c->set_id(id);
      c->set_nonce(it->second);
    }
    r->set_state(static_cast<shoebox::v1::VersionState>(outcomes[k].state));
    // A chunk another device is already sending is not asked for twice:
    // the version stays pending until that upload lands.
    std::vector<uint32_t> sizes;
    if (!outcomes[k].missing.empty()) {
      absl::flat_hash_map<std::string_view, uint32_t> size_of;
      for (const ChunkRefRow& c : items[k].chunks) size_of.emplace(c.id, c.size);
      sizes.reserve(outcomes[k].missing.size());
      for (const std::string& id : outcomes[k].missing) {
        auto it = size_of.find(id);
        sizes.push_back(it == size_of.end() ? 0 : it->second);
      }
    }
    std::vector<bool> mine = claims_.Claim(device_id, outcomes[k].missing, SteadyAbslNow(), &sizes);
    for (size_t c = 0; c < mine.size(); ++c) {
      if (mine[c]) r->add_missing_chunk_ids(std::move(outcomes[k].missing[c]));
    }
  }
  return resp;
}

shoebox::v1::PutChunkAck Catalog::PutChunk(const std::string& device,
                                           const shoebox::v1::PutChunkRequest& req) {
  std::vector<PreparedChunk> one;
  one.push_back(PreparePutChunk(device, req));
  FinishPutChunks(device, one);
  return std::move(one[0].ack);
}

Catalog::PreparedChunk Catalog::PreparePutChunk(const std::string& device,
                                                const shoebox::v1::PutChunkRequest& req) {
  PreparedChunk p;
  p.id = req.id();
  if (!req.nonce().empty() || !req.proof().empty()) {
    p.ack = ProveChunk(device, req);
    p.done = true;
    return p;
  }
  p.ack.set_id(req.id());
  auto fail = [&](const absl::Status& st) {
    p.ack.set_code(static_cast<int>(st.code()));
    p.ack.set_message(std::string(st.message()));
    p.done = true;
    return std::move(p);
  };
  // ID length, data size, ID == HMAC(chunk-ID key, data): coordinator/validate.h
  // (fuzzed by tests/fuzz/put_chunks_fuzz.cc).
  ChunkId id;
  if (absl::Status st = CheckChunkUpload(req, id_hmac_, limits_.max_chunk_size, &id); !st.ok()) {
    if (req.id().size() == id.size()) claims_.Release(req.id());  // another device may send it
    return fail(st);
  }
  // A chunk this device was asked for (its live claim) is known and was
  // missing with the size it reported: no database lookup. Otherwise (no
  // claim, claim lapsed, another coordinator asked for it) ask the catalog.
  p.dev = DeviceId(device);
  absl::StatusOr<ChunkStatus> status;
  uint32_t claimed_size = 0;
  const bool claimed =
      p.dev.ok() && claims_.ClaimedBy(*p.dev, req.id(), SteadyAbslNow(), &claimed_size);
  if (claimed) {
    status = ChunkStatus{true, false, claimed_size};
  } else {
    status = store_->GetChunk(req.id());
  }
  if (!status.ok()) return fail(status.status());
  if (!status->known) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "chunk ", ToHex(req.id()), " is not part of any reported file; ReportFiles first")));
  }
  if (!status->stored && status->size != req.data().size()) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("data: chunk ", ToHex(req.id()), " has ", req.data().size(),
                     " bytes but was reported with ", status->size, " bytes")));
  }
  p.already_stored = status->stored;
  p.size = static_cast<uint32_t>(req.data().size());
  if (!status->stored) {
    absl::StatusOr<ChunkStore::StagedPut> staged =
        chunks_->StagePlain(id, AsBytes(req.data()), &p.stored_size);
    if (!staged.ok()) {
      SPDLOG_ERROR("event=chunk_write_failed chunk={} device=\"{}\" error=\"{}\"", ToHex(req.id()),
                   device, std::string(staged.status().message()));
      claims_.Release(req.id());
      return fail(Annotate(staged.status(), absl::StrCat("writing chunk ", ToHex(req.id()))));
    }
    p.staged = std::move(*staged);
  }
  return p;
}

void Catalog::FinishPutChunks(const std::string& device, std::vector<PreparedChunk>& batch) {
  // The chunks written by this batch become durable together, before the
  // catalog hears of any of them (a chunk the catalog references is durable).
  std::vector<ChunkStore::StagedPut> staged;
  for (const PreparedChunk& p : batch) {
    if (!p.done && !p.already_stored) staged.push_back(p.staged);
  }
  absl::Status committed = chunks_->store()->CommitPuts(staged);
  if (!committed.ok()) {
    SPDLOG_ERROR("event=chunk_write_failed chunks={} device=\"{}\" error=\"{}\"", staged.size(),
                 device, std::string(committed.message()));
  }
  for (PreparedChunk& p : batch) {
    if (p.done) continue;
    p.done = true;
    auto fail = [&](const absl::Status& st) {
      p.ack.set_code(static_cast<int>(st.code()));
      p.ack.set_message(std::string(st.message()));
    };
    if (!p.already_stored) {
      if (!committed.ok()) {
        claims_.Release(p.id);
        fail(Annotate(committed, absl::StrCat("writing chunk ", ToHex(p.id))));
        continue;
      }
      metrics_->ChunkIngested(p.size, p.stored_size);
    }
    // The upload proves possession (the ID was recomputed from the data): the
    // device becomes an owner. A chunk already stored is not written again;
    // it must still be stored when the ownership is recorded.
    absl::StatusOr<std::vector<int64_t>> done =
        p.already_stored && p.dev.ok()
            ? store_->RecordChunkOwner(p.id, *p.dev)
            : store_->MarkChunkStored(p.id, p.size, p.stored_size, p.dev.ok() ? *p.dev : 0);
    if (!done.ok()) {
      // (Not found: its file was pruned since the report. The blob written
      // just now is left alone: deleting it could race a new report of the
      // same chunk by another device that stores it again.)
      claims_.Release(p.id);
      fail(done.status());
      continue;
    }
    if (p.dev.ok()) claims_.Stored(*p.dev, p.id, SteadyAbslNow());
    for (int64_t v : *done) p.ack.add_completed_version_ids(v);
    p.ack.set_code(0);
  }
}

absl::StatusOr<shoebox::v1::ListVersionsResponse> Catalog::ListVersions(
    const std::string& device, const shoebox::v1::ListVersionsRequest& req) {
  if (!req.device().empty() && req.device() != device) {
    return absl::PermissionDeniedError(
        absl::StrCat("device: device '", device, "' may list only its own versions, not '",
                     req.device(), "'; an admin can list any device"));
  }
  ASSIGN_OR_RETURN(int64_t id, DeviceId(device));
  RETURN_IF_ERROR(ValidateVersionFilter(req));
  ASSIGN_OR_RETURN(VersionPage page, store_->ListVersions(id, FromProto(req)));
  return ToProto(page);
}

absl::StatusOr<shoebox::v1::ListVersionsResponse> Catalog::ListVersionsOf(
    const shoebox::v1::ListVersionsRequest& req) {
  if (req.device().empty()) {
    return absl::InvalidArgumentError("device: name the device whose versions to list");
  }
  absl::StatusOr<int64_t> id = DeviceId(req.device());
  if (!id.ok()) {
    return absl::NotFoundError(absl::StrCat("device: no device named '", req.device(), "'"));
  }
  RETURN_IF_ERROR(ValidateVersionFilter(req));
  ASSIGN_OR_RETURN(VersionPage page, store_->ListVersions(*id, FromProto(req)));
  return ToProto(page);
}

absl::Status Catalog::ReadChunksPlain(const std::string& device,
                                      const google::protobuf::RepeatedPtrField<std::string>& ids,
                                      const std::function<bool(shoebox::v1::ChunkData&&)>& emit) {
  RETURN_IF_ERROR(ValidateChunkIds(ids, kMaxReadIds));
  std::vector<std::string> list(ids.begin(), ids.end());
  ASSIGN_OR_RETURN(int64_t device_id, DeviceId(device));
  ASSIGN_OR_RETURN(std::vector<bool> allowed, store_->DeviceMayRead(device_id, list));
  for (size_t i = 0; i < list.size(); ++i) {
    if (!allowed[i]) {
      return absl::NotFoundError(absl::StrCat("ids[", i, "]: chunk ", ToHex(list[i]),
                                              " is not a stored chunk of any file of device '",
                                              device, "'"));
    }
  }
  for (const std::string& s : list) {
    ChunkId id;
    DigestFromString(s, &id);
    absl::StatusOr<std::string> plain = chunks_->GetPlain(id);
    if (!plain.ok()) return ChunkReadFailed(s, plain.status());
    shoebox::v1::ChunkData d;
    d.set_id(s);
    d.set_data(std::move(*plain));
    d.set_sealed(false);
    if (!emit(std::move(d))) return absl::CancelledError("the client went away");
  }
  return absl::OkStatus();
}

absl::Status Catalog::ReadChunksPlainAny(
    const google::protobuf::RepeatedPtrField<std::string>& ids,
    const std::function<bool(shoebox::v1::ChunkData&&)>& emit) {
  return ReadStored(ids, /*plain=*/true, emit);
}

absl::Status Catalog::ReadChunksSealed(const google::protobuf::RepeatedPtrField<std::string>& ids,
                                       const std::function<bool(shoebox::v1::ChunkData&&)>& emit) {
  return ReadStored(ids, /*plain=*/false, emit);
}

absl::Status Catalog::ReadStored(const google::protobuf::RepeatedPtrField<std::string>& ids,
                                 bool plain,
                                 const std::function<bool(shoebox::v1::ChunkData&&)>& emit) {
  RETURN_IF_ERROR(ValidateChunkIds(ids, kMaxReadIds));
  std::vector<std::string> list(ids.begin(), ids.end());
  ASSIGN_OR_RETURN(std::vector<bool> stored, store_->ChunksStored(list));
  for (size_t i = 0; i < list.size(); ++i) {
    if (!stored[i]) {
      return absl::NotFoundError(
          absl::StrCat("ids[", i, "]: chunk ", ToHex(list[i]),
                       " is not in the chunk store (missing, or found damaged by verification); "
                       "`shoebox verify` repairs it from a destination holding a file with it"));
    }
  }
  for (const std::string& s : list) {
    ChunkId id;
    DigestFromString(s, &id);
    shoebox::v1::ChunkData d;
    d.set_id(s);
    if (plain) {
      absl::StatusOr<std::string> data = chunks_->GetPlain(id);
      if (!data.ok()) return ChunkReadFailed(s, data.status());
      d.set_data(std::move(*data));
    } else {
      absl::StatusOr<std::string> blob = chunks_->store()->Get(id);
      if (!blob.ok()) return ChunkReadFailed(s, blob.status());
      d.set_data(std::move(*blob));
    }
    d.set_sealed(!plain);
    if (!emit(std::move(d))) return absl::CancelledError("the client went away");
  }
  return absl::OkStatus();
}

}  // namespace shoebox::coordinator
