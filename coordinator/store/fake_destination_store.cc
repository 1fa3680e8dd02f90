// FakeDestinationStore's day-two calls (fake_stores.h); the rest is in
// fake_queue_store.cc.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {

absl::StatusOr<Destination*> FakeDestinationStore::Live(const std::string& name) {
  for (auto& [id, d] : destinations_) {
    if (d.name == name && removed_.count(id) == 0) return &d;
  }
  return absl::NotFoundError(absl::StrCat("destination: no destination named '", name, "'"));
}

absl::StatusOr<Destination> FakeDestinationStore::UpdateDestination(
    const std::string& name, const std::function<absl::Status(Destination&)>& change,
    uint64_t* dead_jobs) {
  absl::MutexLock l(&mu_);
  absl::StatusOr<Destination*> d = Live(name);
  if (!d.ok()) return d.status();
  Destination copy = **d;
  absl::Status st = change(copy);
  if (!st.ok()) return st;
  copy.settings_json = copy.settings_json.empty() ? "{}" : copy.settings_json;
  **d = copy;
  if (dead_jobs != nullptr) *dead_jobs = 0;
  return copy;
}

absl::StatusOr<DestinationRemoval> FakeDestinationStore::RemoveDestination(const std::string& name,
                                                                           bool force) {
  absl::MutexLock l(&mu_);
  absl::StatusOr<Destination*> d = Live(name);
  if (!d.ok()) return d.status();
  if (leased_jobs_ > 0 && !force) {
    return absl::FailedPreconditionError(
        absl::StrCat("destination '", name, "' has ", leased_jobs_, " job(s) running"));
  }
  DestinationRemoval r;
  const size_t before = bindings_.size();
  bindings_.erase(std::remove_if(bindings_.begin(), bindings_.end(),
                                 [&](const Binding& b) { return b.destination == name; }),
                  bindings_.end());
  r.bindings_removed = before - bindings_.size();
  r.jobs_cancelled = force ? leased_jobs_ : 0;
  const int64_t id = (*d)->id;
  if (r.bindings_removed == 0) {
    destinations_.erase(id);
    r.purged = true;
  } else {
    (*d)->name = absl::StrCat(name, "~", id);
    (*d)->sealed_credentials.clear();
    removed_.insert(id);
  }
  return r;
}

absl::StatusOr<Destination> FakeDestinationStore::SetDestinationPaused(const std::string& name,
                                                                       bool paused) {
  absl::MutexLock l(&mu_);
  absl::StatusOr<Destination*> d = Live(name);
  if (!d.ok()) return d.status();
  if (!paused) {
    (*d)->paused_unix_ms = 0;
  } else if ((*d)->paused_unix_ms == 0) {
    (*d)->paused_unix_ms = 1;
  }
  return **d;
}

absl::StatusOr<DestinationCheckRow> FakeDestinationStore::EnqueueCheck(const std::string& name,
                                                                       bool write_probe, uint32_t) {
  absl::MutexLock l(&mu_);
  absl::StatusOr<Destination*> d = Live(name);
  if (!d.ok()) return d.status();
  if ((*d)->paused_unix_ms != 0)
    return absl::FailedPreconditionError(absl::StrCat("destination '", name, "' is paused"));
  DestinationCheckRow c;
  c.job_id = static_cast<int64_t>(checks_.size()) + 1;
  c.destination = name;
  c.state = JobState::kQueued;
  checks_.push_back(c);
  last_check_mode_ = write_probe ? "write" : "read";
  return c;
}

absl::StatusOr<DestinationCheckRow> FakeDestinationStore::GetCheck(const std::string& name,
                                                                   int64_t job_id, uint32_t) {
  absl::MutexLock l(&mu_);
  for (auto it = checks_.rbegin(); it != checks_.rend(); ++it) {
    if (it->destination == name && (job_id == 0 || it->job_id == job_id)) return *it;
  }
  return absl::NotFoundError(absl::StrCat("no check of destination '", name, "'"));
}

absl::StatusOr<std::vector<BindingRow>> FakeDestinationStore::ListBindings(
    const std::string& device, const std::string& destination) {
  absl::MutexLock l(&mu_);
  std::vector<BindingRow> out;
  for (const Binding& b : bindings_) {
    if ((device.empty() || b.device == device) &&
        (destination.empty() || b.destination == destination))
      out.push_back(BindingRow{b.device, b.folder, b.destination, 0});
  }
  return out;
}

absl::StatusOr<uint64_t> FakeDestinationStore::UnbindFolder(const std::string& device,
                                                            const std::string& folder,
                                                            const std::string& destination) {
  absl::MutexLock l(&mu_);
  auto it = std::find_if(bindings_.begin(), bindings_.end(), [&](const Binding& b) {
    return b.device == device && b.folder == folder && b.destination == destination;
  });
  if (it == bindings_.end()) {
    return absl::NotFoundError(absl::StrCat("binding: ", device, " is not bound to ", destination));
  }
  bindings_.erase(it);
  return 0;
}

void FakeDestinationStore::set_leased_jobs(uint64_t n) {
  absl::MutexLock l(&mu_);
  leased_jobs_ = n;
}

void FakeDestinationStore::FinishCheck(int64_t job_id, bool ok, const std::string& text) {
  absl::MutexLock l(&mu_);
  for (DestinationCheckRow& c : checks_) {
    if (c.job_id != job_id) continue;
    c.state = ok ? JobState::kDone : JobState::kDead;
    (ok ? c.detail : c.error) = text;
  }
}

std::string FakeDestinationStore::last_check_mode() {
  absl::MutexLock l(&mu_);
  return last_check_mode_;
}

}  // namespace shoebox::coordinator
