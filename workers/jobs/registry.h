// Which handler runs which job kind.
#pragma once

#include <map>
#include <memory>

#include "shoebox/v1/worker.pb.h"
#include "workers/jobs/job_handler.h"

namespace shoebox::worker {

class JobHandlerRegistry {
 public:
  // Makes `handler` run the jobs of `kind`, replacing any handler before it.
  void Add(v1::JobKind kind, std::unique_ptr<JobHandler> handler);
  // The handler of `kind`; null when this worker runs no such jobs. The
  // handler lives as long as the registry.
  JobHandler* Find(v1::JobKind kind) const;

 private:
  std::map<v1::JobKind, std::unique_ptr<JobHandler>> handlers_;
};

// Every job kind this worker version runs. A new kind is one JobHandler
// class in a file of its own under workers/jobs/ and one Add line in
// registry.cc.
JobHandlerRegistry BuiltInJobHandlers();

}  // namespace shoebox::worker
