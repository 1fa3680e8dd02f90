// JobQueue's logic against in-memory stores: registration, lease batches,
// hung-up workers, repair needs, failures. Lease SQL (concurrency limits,
// auth pauses, priorities) is tested against PostgreSQL in tests/.
#include "coordinator/queue.h"

#include <gtest/gtest.h>

#include <string>

#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {
namespace {

namespace pb = shoebox::v1;

class JobQueueTest : public ::testing::Test {
 protected:
  JobQueueTest() : queue_(&store_, &verify_, Limits()) {}

  void Register(const std::string& worker) {
    pb::RegisterWorkerRequest req;
    req.add_kinds("local");
    ASSERT_TRUE(queue_.Register(worker, req).ok());
  }

  int64_t AddDelivery(const std::string& destination = "nas") {
    LeasedJob j;
    j.kind = JobKind::kDeliver;
    j.destination.id = 7;
    j.destination.name = destination;
    j.file.version_id = 100;
    j.file.path = "a.txt";
    return store_.AddJob(j);
  }

  pb::LeaseJobsResponse Lease(const std::string& worker, uint32_t max_jobs) {
    pb::LeaseJobsRequest req;
    req.set_max_jobs(max_jobs);
    absl::StatusOr<pb::LeaseJobsResponse> r = queue_.Lease(worker, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : pb::LeaseJobsResponse();
  }

  FakeQueueStore store_;
  FakeVerifyStore verify_;
  JobQueue queue_;
};

TEST_F(JobQueueTest, LeaseBeforeRegisterIsFailedPrecondition) {
  pb::LeaseJobsRequest req;
  EXPECT_TRUE(absl::IsFailedPrecondition(queue_.Lease("w1", req).status()));
}

TEST_F(JobQueueTest, RegisterRejectsEmptyKinds) {
  pb::RegisterWorkerRequest req;
  EXPECT_TRUE(absl::IsInvalidArgument(queue_.Register("w1", req).status()));
}

TEST_F(JobQueueTest, LeaseReturnsJobsWithDestinationAndFile) {
  Register("w1");
  const int64_t id = AddDelivery();
  pb::LeaseJobsResponse r = Lease("w1", 4);
  ASSERT_EQ(r.jobs_size(), 1);
  EXPECT_EQ(r.jobs(0).job_id(), id);
  EXPECT_EQ(r.jobs(0).kind(), pb::JOB_KIND_DELIVER);
  EXPECT_EQ(r.jobs(0).destination().name(), "nas");
  EXPECT_EQ(r.jobs(0).file().path(), "a.txt");
  EXPECT_FALSE(r.jobs(0).lease_token().empty());
  EXPECT_EQ(store_.Job(id).state, JobState::kLeased);
}

TEST_F(JobQueueTest, LeaseBatchIsClampedToAtLeastOne) {
  Register("w1");
  AddDelivery();
  AddDelivery();
  EXPECT_EQ(Lease("w1", 0).jobs_size(), 1);
}

TEST_F(JobQueueTest, EmptyQueueReturnsNoJobsWithoutWaiting) {
  Register("w1");
  EXPECT_EQ(Lease("w1", 8).jobs_size(), 0);
}

TEST_F(JobQueueTest, JobsLeasedAsTheWorkerHangsUpGoBackUncounted) {
  Register("w1");
  const int64_t id = AddDelivery();
  pb::LeaseJobsRequest req;
  req.set_max_jobs(1);
  int calls = 0;
  // Not gone before the lease, gone right after it.
  absl::StatusOr<pb::LeaseJobsResponse> r = queue_.Lease("w1", req, [&] { return ++calls > 1; });
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
  EXPECT_EQ(store_.Job(id).state, JobState::kQueued);
  EXPECT_EQ(store_.Job(id).attempts, 0u);
}

TEST_F(JobQueueTest, VerifyJobsLearnTheirDamagedChunks) {
  Register("w1");
  LeasedJob j;
  j.kind = JobKind::kVerify;
  j.destination.name = "nas";
  j.file.version_id = 5;
  j.file.chunks = {ChunkRef{std::string(32, 'a'), 10}, ChunkRef{std::string(32, 'b'), 10}};
  store_.AddJob(j);
  ASSERT_TRUE(verify_.RecordDamage(std::string(32, 'b'), "DATA_LOSS").ok());
  pb::LeaseJobsResponse r = Lease("w1", 1);
  ASSERT_EQ(r.jobs_size(), 1);
  ASSERT_EQ(r.jobs(0).repair_chunk_ids_size(), 1);
  EXPECT_EQ(r.jobs(0).repair_chunk_ids(0), std::string(32, 'b'));
}

TEST_F(JobQueueTest, CompleteWithTheLeaseMarksDone) {
  Register("w1");
  const int64_t id = AddDelivery();
  pb::LeaseJobsResponse r = Lease("w1", 1);
  pb::CompleteJobRequest done;
  done.set_job_id(id);
  done.set_lease_token(r.jobs(0).lease_token());
  done.set_remote_ref("nas:/a.txt");
  done.set_remote_size(5);
  ASSERT_TRUE(queue_.Complete("w1", done).ok());
  EXPECT_EQ(store_.Job(id).state, JobState::kDone);
  EXPECT_EQ(store_.Job(id).completion.remote_ref, "nas:/a.txt");
  EXPECT_EQ(store_.Job(id).completion.remote_size, 5u);
}

TEST_F(JobQueueTest, CompleteWithAnotherTokenIsFailedPrecondition) {
  Register("w1");
  const int64_t id = AddDelivery();
  Lease("w1", 1);
  pb::CompleteJobRequest done;
  done.set_job_id(id);
  done.set_lease_token("forged-token");
  EXPECT_TRUE(absl::IsFailedPrecondition(queue_.Complete("w1", done)));
}

TEST_F(JobQueueTest, RetryableFailureWaitsAndPermanentOneIsDead) {
  Register("w1");
  const int64_t a = AddDelivery();
  const int64_t b = AddDelivery();
  pb::LeaseJobsResponse r = Lease("w1", 2);
  ASSERT_EQ(r.jobs_size(), 2);
  pb::FailJobRequest fail;
  fail.set_job_id(a);
  fail.set_lease_token(r.jobs(0).lease_token());
  fail.set_retryable(true);
  fail.set_error("timeout");
  absl::StatusOr<pb::FailJobResponse> fa = queue_.Fail("w1", fail);
  ASSERT_TRUE(fa.ok()) << fa.status();
  EXPECT_EQ(fa->state(), pb::JOB_STATE_RETRY_WAIT);
  EXPECT_GT(fa->next_attempt_unix_ms(), 0);
  fail.set_job_id(b);
  fail.set_lease_token(r.jobs(1).lease_token());
  fail.set_retryable(false);
  absl::StatusOr<pb::FailJobResponse> fb = queue_.Fail("w1", fail);
  ASSERT_TRUE(fb.ok()) << fb.status();
  EXPECT_EQ(fb->state(), pb::JOB_STATE_DEAD);
  EXPECT_EQ(store_.Job(b).last_error, "timeout (permanent)");
}

// A service that throttles (429 + Retry-After) for longer than a job has
// attempts must not dead-letter it: throttled attempts are not counted.
TEST_F(JobQueueTest, ThrottledFailuresWaitAsToldAndAreNeverCounted) {
  Register("w1");
  const int64_t id = AddDelivery();
  int64_t now = 1'000'000;
  for (int i = 0; i < 20; ++i) {
    pb::LeaseJobsResponse r = Lease("w1", 1);
    ASSERT_EQ(r.jobs_size(), 1) << "round " << i;
    pb::FailJobRequest fail;
    fail.set_job_id(id);
    fail.set_lease_token(r.jobs(0).lease_token());
    fail.set_retryable(true);
    fail.set_throttled(true);
    fail.set_retry_after_ms(30000);
    fail.set_error("HTTP 429 too_many_requests");
    absl::StatusOr<pb::FailJobResponse> f = queue_.Fail("w1", fail);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->state(), pb::JOB_STATE_RETRY_WAIT) << "round " << i;
    EXPECT_EQ(f->next_attempt_unix_ms(), now + 30000) << "waits as the service asked";
    now += 30000;
    store_.SetNowMs(now);
    ASSERT_TRUE(store_.Sweep(8).ok());  // due again
  }
  // An ordinary retryable failure still counts.
  pb::LeaseJobsResponse r = Lease("w1", 1);
  ASSERT_EQ(r.jobs_size(), 1);
  EXPECT_LE(r.jobs(0).attempt(), 1u);
}

TEST_F(JobQueueTest, RenewWithoutTokenIsInvalidArgument) {
  pb::RenewLeaseRequest req;
  req.set_job_id(1);
  EXPECT_TRUE(absl::IsInvalidArgument(queue_.Renew("w1", req).status()));
}

TEST_F(JobQueueTest, RenewOfCancelledJobSaysCancelled) {
  Register("w1");
  const int64_t id = AddDelivery();
  pb::LeaseJobsResponse r = Lease("w1", 1);
  JobSelection sel;
  sel.job_ids = {id};
  ASSERT_TRUE(store_.CancelJobs(sel).ok());
  pb::RenewLeaseRequest req;
  req.set_job_id(id);
  req.set_lease_token(r.jobs(0).lease_token());
  absl::StatusOr<pb::RenewLeaseResponse> renewed = queue_.Renew("w1", req);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_TRUE(renewed->cancelled());
}

TEST_F(JobQueueTest, SweepReturnsExpiredLeases) {
  Register("w1");
  const int64_t id = AddDelivery();
  Lease("w1", 1);
  store_.SetNowMs(1'000'000 + Limits().lease_ms + 1);
  absl::StatusOr<SweepResult> s = queue_.Sweep(/*force=*/true);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->requeued, 1u);
  EXPECT_EQ(store_.Job(id).state, JobState::kQueued);
}

// Issue 18 (a clock that jumps): a wall clock stepped back 1 h used to
// skip every unforced sweep for an hour (now - last < interval), so leases
// of a dead worker were not requeued.
absl::Time queue_clock = absl::FromUnixSeconds(1'800'000'000);
absl::Time QueueClock() { return queue_clock; }

TEST(JobQueueClockTest, SweepsGoOnAfterTheClockSteppedBack) {
  FakeQueueStore store;
  FakeVerifyStore verify;
  JobQueue queue(&store, &verify, Limits(), QueueClock);
  pb::RegisterWorkerRequest reg;
  reg.add_kinds("local");
  ASSERT_TRUE(queue.Register("w1", reg).ok());
  int64_t pg_now = 1'000'000;  // PostgreSQL's clock, for lease deadlines
  store.SetNowMs(pg_now);
  auto expire_one = [&] {
    LeasedJob j;
    j.kind = JobKind::kDeliver;
    j.destination.id = 7;
    j.destination.name = "nas";
    j.file.version_id = 100;
    j.file.path = "a.txt";
    const int64_t id = store.AddJob(j);
    pb::LeaseJobsRequest req;
    req.set_max_jobs(1);
    absl::StatusOr<pb::LeaseJobsResponse> r = queue.Lease("w1", req);
    EXPECT_TRUE(r.ok() && r->jobs_size() == 1);
    pg_now += Limits().lease_ms + 1;
    store.SetNowMs(pg_now);
    return id;
  };
  const int64_t first = expire_one();
  queue_clock += absl::Seconds(1);
  absl::StatusOr<SweepResult> s = queue.Sweep(/*force=*/false);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->requeued, 1u);
  EXPECT_EQ(store.Job(first).state, JobState::kQueued);

  const int64_t second = expire_one();
  queue_clock -= absl::Hours(1);
  s = queue.Sweep(/*force=*/false);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->requeued, 1u) << "swept although the clock is an hour behind the last sweep";
  EXPECT_EQ(store.Job(second).state, JobState::kQueued);
  queue_clock += absl::Milliseconds(10);
  s = queue.Sweep(/*force=*/false);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->requeued, 0u);
  EXPECT_EQ(s->dead, 0u) << "and the interval counts from the new time";
}

}  // namespace
}  // namespace shoebox::coordinator
