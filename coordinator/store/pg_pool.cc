// Connection pool, retries and exception mapping (libpqxx 6.4). See pg_pool.h.
#include "coordinator/store/pg_pool.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace shoebox::coordinator::pg {

namespace {
using Clock = std::chrono::steady_clock;

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}
}  // namespace

std::string FirstLine(const char* s) {
  std::string m(s);
  auto nl = m.find('\n');
  if (nl != std::string::npos) m.resize(nl);
  return m;
}

PgPool::PgPool(const StoreOptions& options, std::function<void(pqxx::connection&)> prepare)
    : options_(options), prepare_(std::move(prepare)), slots_(options.pool_size) {
  absl::MutexLock l(&mu_);
  for (size_t i = 0; i < slots_.size(); ++i) free_.push_back(i);
}

absl::Status PgPool::Connect() {
  const auto start = Clock::now();
  int attempt = 0;
  for (;;) {
    ++attempt;
    try {
      pqxx::connection c(options_.url);
      pqxx::nontransaction n(c);
      n.exec("SELECT 1");
      if (attempt > 1) SPDLOG_INFO("event=db_connected attempts={}", attempt);
      return absl::OkStatus();
    } catch (const std::exception& e) {
      const auto elapsed = MsSince(start);
      std::string msg = FirstLine(e.what());
      if (options_.connect_timeout_ms != 0 && elapsed >= options_.connect_timeout_ms) {
        return absl::UnavailableError(
            absl::StrCat("PostgreSQL did not answer for ", elapsed, " ms (", msg,
                         "); check database.url and that the server is running"));
      }
      const int delay = std::min(250 * attempt, 5000);
      SPDLOG_WARN(
          "event=db_connect_failed attempt={} error=\"{}\" action=\"retrying in {} ms; check "
          "database.url and that PostgreSQL is running\"",
          attempt, msg, delay);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
  }
}

absl::Status PgPool::Run(const char* what, TxMode mode, const TxFn& fn, bool idempotent) {
  const auto start = Clock::now();
  int attempt = 0;
  bool logged = false;
  for (;;) {
    Outcome o = RunOnce(what, mode, fn, idempotent);
    if (o.status.ok() || !o.retry) {
      if (logged && o.status.ok()) {
        SPDLOG_INFO("event=db_reconnected op=\"{}\" after_ms={}", what, MsSince(start));
      }
      return o.status;
    }
    ++attempt;
    const auto elapsed = MsSince(start);
    if (absl::IsAborted(o.status)) {
      if (attempt > 20) return o.status;
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + (attempt % 8)));
      continue;
    }
    if (elapsed > options_.unavailable_retry_ms) return o.status;
    if (!logged) {
      SPDLOG_WARN("event=db_unavailable op=\"{}\" error=\"{}\" action=retrying", what,
                  std::string(o.status.message()));
      logged = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50 * attempt, 1000)));
  }
}

PgPool::Outcome PgPool::RunOnce(const char* what, TxMode mode, const TxFn& fn, bool idempotent) {
  size_t slot = Acquire();
  Outcome o;
  bool broken = false;
  try {
    if (!slots_[slot] || !slots_[slot]->is_open()) {
      slots_[slot].reset();
      slots_[slot] = std::make_unique<pqxx::connection>(options_.url);
      if (prepare_) prepare_(*slots_[slot]);
    }
    pqxx::connection& c = *slots_[slot];
    if (mode != TxMode::kAutocommit) {
      pqxx::work w(c);
      if (mode == TxMode::kQueue) w.exec("SET LOCAL synchronous_commit = off");
      o.status = fn(w);
      if (o.status.ok()) w.commit();
      // A transaction that saw a conflict asks to be run again.
      if (absl::IsAborted(o.status)) o.retry = true;
    } else {
      pqxx::nontransaction n(c);
      o.status = fn(n);
    }
  } catch (const pqxx::in_doubt_error& e) {
    broken = true;
    o.retry = idempotent;
    o.status = absl::UnavailableError(
        absl::StrCat(what,
                     ": the database connection broke during COMMIT, the outcome is unknown; "
                     "retry the call: ",
                     e.what()));
  } catch (const pqxx::statement_completion_unknown& e) {
    broken = true;
    o.retry = idempotent;
    o.status = absl::UnavailableError(
        absl::StrCat(what, ": the outcome of the statement is unknown; retry: ", e.what()));
  } catch (const pqxx::broken_connection& e) {
    broken = true;
    o.retry = true;
    o.status = absl::UnavailableError(
        absl::StrCat(what, ": PostgreSQL is unreachable: ", FirstLine(e.what())));
  } catch (const pqxx::transaction_rollback& e) {
    o.retry = true;
    o.status = absl::AbortedError(
        absl::StrCat(what, ": transaction conflict, retry: ", FirstLine(e.what())));
  } catch (const pqxx::unique_violation& e) {
    o.status = absl::AlreadyExistsError(absl::StrCat(what, ": ", FirstLine(e.what())));
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    if (state.rfind("08", 0) == 0 || state.rfind("57", 0) == 0) {
      broken = true;
      o.retry = true;
      o.status = absl::UnavailableError(
          absl::StrCat(what, ": PostgreSQL connection lost: ", FirstLine(e.what())));
    } else if (state == "22P02" || state == "22021" || state == "23514") {
      o.status = absl::InvalidArgumentError(absl::StrCat(what, ": ", FirstLine(e.what())));
    } else {
      o.status = absl::InternalError(
          absl::StrCat(what, ": database error ", state, ": ", FirstLine(e.what())));
    }
  } catch (const std::exception& e) {
    o.status = absl::InternalError(absl::StrCat(what, ": ", FirstLine(e.what())));
  }
  if (slots_[slot] && !slots_[slot]->is_open()) broken = true;
  Release(slot, broken);
  return o;
}

size_t PgPool::Acquire() {
  absl::MutexLock l(&mu_, absl::Condition(this, &PgPool::HasFree));
  size_t s = free_.back();
  free_.pop_back();
  return s;
}

void PgPool::Release(size_t slot, bool broken) {
  if (broken && slots_[slot]) {
    try {
      slots_[slot]->disconnect();
    } catch (...) {
    }
    slots_[slot].reset();
  }
  absl::MutexLock l(&mu_);
  free_.push_back(slot);
}

}  // namespace shoebox::coordinator::pg
