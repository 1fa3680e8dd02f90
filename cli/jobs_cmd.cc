// `shoebox jobs`, `cancel`, `retry` and `prioritize` (docs/cli.md): list
// delivery jobs and act on them by ID or by filter.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "common/bytes.h"

namespace shoebox::cli {

namespace {

constexpr uint32_t kDefaultJobLimit = 50;
// What the coordinator returns at most per call (coordinator ListJobs).
constexpr uint32_t kMaxJobLimit = 100000;

// Shared by the four commands (one is parsed).
struct JobArgs {
  std::vector<std::string> states;
  std::string dest;
  std::vector<int64_t> ids;
  uint32_t limit = kDefaultJobLimit;
  bool all = false;
  int32_t priority = 0;
};

enum class JobAction { kCancel, kRetry };

absl::StatusOr<std::vector<v1::JobState>> States(const JobArgs& a) {
  std::vector<v1::JobState> states;
  for (const auto& s : a.states) {
    auto st = ParseJobState(s);
    if (!st.ok()) return st.status();
    states.push_back(*st);
  }
  return states;
}

// A command that acts on jobs needs --job or a filter.
bool NoJobsNamed(const JobArgs& a, const std::vector<v1::JobState>& states) {
  if (!a.ids.empty() || !a.dest.empty() || !states.empty()) return false;
  std::fprintf(stderr, "shoebox: name jobs with --job, or filter with --dest/--state\n");
  return true;
}

// What a job is about: DEVICE:PATH for a file, else what kind of job it is
// (a connection check or a snapshot copy has no file).
std::string JobSubject(const v1::JobInfo& j) {
  if (!j.device().empty() || !j.path().empty()) {
    return absl::StrCat(j.device(), ":", PrintablePath(j.path()));
  }
  switch (j.kind()) {
    case v1::JOB_KIND_CHECK:
      return "(connection check)";
    case v1::JOB_KIND_SNAPSHOT:
      return "(catalog snapshot copy)";
    case v1::JOB_KIND_SCRUB:
      return "(scrub)";
    case v1::JOB_KIND_VERIFY:
      return "(verify copy)";
    default:
      return "(job)";
  }
}

int ListJobs(AdminClient& client, const JobArgs& a) {
  auto states = States(a);
  if (!states.ok()) return FailStatus(states.status());
  const uint32_t limit = a.all ? kMaxJobLimit : std::min(std::max(a.limit, 1u), kMaxJobLimit);
  v1::ListJobsRequest req;
  for (auto s : *states) req.add_states(s);
  req.set_destination(a.dest);
  // One more than shown: tells whether the list was cut.
  req.set_limit(std::min(limit + 1, kMaxJobLimit));
  v1::ListJobsResponse r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->ListJobs(ctx.get(), req, &r);
  if (!s.ok()) return FailRpc(s, "jobs");
  const bool cut = static_cast<uint32_t>(r.jobs_size()) > limit ||
                   (limit == kMaxJobLimit && static_cast<uint32_t>(r.jobs_size()) == limit);
  int shown = 0;
  for (const auto& j : r.jobs()) {
    if (static_cast<uint32_t>(shown) == limit) break;
    shown++;
    std::printf("%8lld %-9s %-12s %s attempts=%u", (long long)j.job_id(),
                JobStateName(j.state()).c_str(), j.destination().c_str(), JobSubject(j).c_str(),
                j.attempts());
    if (!j.waiting_reason().empty())
      std::printf(" waiting: %s", PrintablePath(j.waiting_reason()).c_str());
    if (!j.last_error().empty())
      std::printf(" last error: %s", PrintablePath(j.last_error()).c_str());
    std::printf("\n");
  }
  // Notes go to stderr so scripts reading stdout see only job lines.
  if (shown == 0) std::fprintf(stderr, "shoebox: no jobs match\n");
  if (cut) {
    std::fprintf(stderr,
                 "shoebox: showing the first %d matching jobs (oldest first); more match: "
                 "give --limit N for more%s, or narrow with --state/--dest\n",
                 shown, a.all ? "" : " or --all for every one");
  }
  return 0;
}

int Prioritize(AdminClient& client, const JobArgs& a) {
  auto states = States(a);
  if (!states.ok()) return FailStatus(states.status());
  if (NoJobsNamed(a, *states)) return 2;
  v1::SetJobPriorityRequest req;
  for (auto id : a.ids) req.mutable_selector()->add_job_ids(id);
  req.mutable_selector()->set_destination(a.dest);
  for (auto s : *states) req.mutable_selector()->add_states(s);
  req.set_priority(a.priority);
  v1::JobActionResponse r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->SetJobPriority(ctx.get(), req, &r);
  if (!s.ok()) return FailRpc(s, "prioritize");
  std::printf("priority %d set on %llu jobs\n", a.priority, (unsigned long long)r.affected());
  return 0;
}

int Act(AdminClient& client, const JobArgs& a, JobAction action) {
  auto states = States(a);
  if (!states.ok()) return FailStatus(states.status());
  if (NoJobsNamed(a, *states)) return 2;
  v1::JobSelector sel;
  for (auto id : a.ids) sel.add_job_ids(id);
  sel.set_destination(a.dest);
  for (auto s : *states) sel.add_states(s);
  v1::JobActionResponse r;
  auto ctx = client.Context();
  const bool cancel = action == JobAction::kCancel;
  grpc::Status s = cancel ? client.stub()->CancelJobs(ctx.get(), sel, &r)
                          : client.stub()->RetryJobs(ctx.get(), sel, &r);
  if (!s.ok()) return FailRpc(s, cancel ? "cancel" : "retry");
  std::printf("%s %llu jobs\n", cancel ? "cancelled" : "requeued",
              (unsigned long long)r.affected());
  return 0;
}

}  // namespace

void RegisterJobCommands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<JobArgs>();
  auto* jobs = app.add_subcommand("jobs", "list jobs");
  jobs->add_option("--state", a->states, JobStateNames())->check(JobStateCheck());
  jobs->add_option("--dest", a->dest, "destination name");
  auto* limit = jobs->add_option("--limit", a->limit, "show at most this many (default 50)")
                    ->check(CLI::Range(1u, kMaxJobLimit));
  jobs->add_flag("--all", a->all, "show every matching job")->excludes(limit);
  auto* cancel =
      app.add_subcommand("cancel", "cancel jobs (by ID, or every job matching the filters)");
  auto* retry = app.add_subcommand("retry", "retry dead or failed jobs now");
  auto* prioritize = app.add_subcommand(
      "prioritize", "set the priority of unfinished jobs (higher is delivered first; default 0)");
  prioritize->add_option("--priority", a->priority, "-1000 .. 1000")->required();
  for (auto* sc : {cancel, retry, prioritize}) {
    sc->add_option("--job", a->ids, "job ID");
    sc->add_option("--state", a->states, "job state filter: " + JobStateNames())
        ->check(JobStateCheck());
    sc->add_option("--dest", a->dest, "destination filter");
  }
  ctx.AddAdminHandler(jobs, [a](CliContext&, AdminClient& client) { return ListJobs(client, *a); });
  ctx.AddAdminHandler(cancel, [a](CliContext&, AdminClient& client) {
    return Act(client, *a, JobAction::kCancel);
  });
  ctx.AddAdminHandler(
      retry, [a](CliContext&, AdminClient& client) { return Act(client, *a, JobAction::kRetry); });
  ctx.AddAdminHandler(prioritize,
                      [a](CliContext&, AdminClient& client) { return Prioritize(client, *a); });
}

}  // namespace shoebox::cli
