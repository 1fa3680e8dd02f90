#include "cli/context.h"

namespace shoebox::cli {

absl::StatusOr<AdminClient*> CliContext::Admin() {
  if (admin_ == nullptr) admin_ = std::make_unique<AdminClient>(options_);
  if (!admin_->status().ok()) return admin_->status();
  return admin_.get();
}

void CliContext::AddHandler(const CLI::App* command, Handler handler) {
  handlers_.push_back(Entry{command, std::move(handler)});
}

void CliContext::AddAdminHandler(const CLI::App* command, AdminHandler handler) {
  AddHandler(command, [handler = std::move(handler)](CliContext& ctx) {
    absl::StatusOr<AdminClient*> client = ctx.Admin();
    if (!client.ok()) return FailStatus(client.status());
    return handler(ctx, **client);
  });
}

std::vector<const CLI::App*> CliContext::HandledCommands() const {
  std::vector<const CLI::App*> out;
  for (const Entry& e : handlers_) out.push_back(e.command);
  return out;
}

int CliContext::RunParsed() {
  for (const Entry& e : handlers_) {
    if (e.command->parsed()) return e.handler(*this);
  }
  return 2;
}

}  // namespace shoebox::cli
