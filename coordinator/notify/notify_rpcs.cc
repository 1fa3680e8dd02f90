// AdminService: notifications (issue 22, docs/notifications.md). Admin only
// (auth_rules.cc). Changes are audited with the admin identity; secrets are
// sealed here (Notifier::SealSecret) before they reach the database and are
// never returned.
#include "absl/strings/str_cat.h"
#include "coordinator/notify/notifier.h"
#include "coordinator/notify/senders.h"
#include "coordinator/notify/settings.h"
#include "coordinator/service/admin_service.h"
#include "coordinator/service/rpc_scope.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

namespace {

void AuditNotify(Coordinator* c, const AuditEntry& e) {
  if (absl::Status st = c->store().Audit(e); !st.ok()) {
    SPDLOG_ERROR("event=audit_failed action={} error=\"{}\"", e.action, std::string(st.message()));
  }
}

void ToProto(const NotifyChannelRow& c, shoebox::v1::NotifyChannel* p) {
  p->set_name(c.name);
  p->set_kind(c.kind);
  p->set_url(notify::RedactUrl(c.url));
  p->set_email_to(c.email_to);
  p->set_smtp_user(c.smtp_user);
  p->set_has_secret(!c.sealed_secret.empty());
  p->set_insecure_smtp(c.insecure_smtp);
  p->set_last_error(c.last_error);
  p->set_last_sent_unix_ms(c.last_sent_ms);
  p->set_queued_messages(c.queued);
}

absl::Status FillList(Coordinator* c, shoebox::v1::ListNotifyResponse* resp) {
  NotifyStore& store = c->notifier().store();
  ASSIGN_OR_RETURN(std::vector<NotifyChannelRow> channels, store.ListChannels());
  for (const NotifyChannelRow& ch : channels) ToProto(ch, resp->add_channels());
  ASSIGN_OR_RETURN(auto stored, store.Settings());
  for (const notify::SettingInfo& k : notify::SettingKeys()) {
    shoebox::v1::NotifySetting* s = resp->add_settings();
    s->set_key(k.key);
    auto it = stored.find(k.key);
    s->set_value(it != stored.end() ? it->second : k.default_value);
    s->set_description(k.description);
  }
  ASSIGN_OR_RETURN(std::vector<notify::AlertRecord> alerts, store.ListAlerts());
  for (const notify::AlertRecord& a : alerts) {
    if (a.cleared_ms != 0) continue;
    shoebox::v1::NotifyAlert* p = resp->add_alerts();
    p->set_key(a.key);
    p->set_kind(a.kind);
    p->set_object(a.object);
    p->set_message(a.message);
    p->set_first_seen_unix_ms(a.first_seen_ms);
    p->set_started_unix_ms(a.started_ms);
  }
  ASSIGN_OR_RETURN(std::vector<NotifyDeviceRow> devices, store.Devices());
  for (const NotifyDeviceRow& d : devices) {
    if (d.ping_url.empty()) continue;
    shoebox::v1::DevicePing* p = resp->add_pings();
    p->set_device(d.device);
    p->set_url(notify::RedactUrl(d.ping_url));
    p->set_last_ping_unix_ms(d.last_ping_ms);
    p->set_last_error(d.last_ping_error);
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status AdminServiceImpl::AddNotifyChannel(grpc::ServerContext* ctx,
                                                const shoebox::v1::AddNotifyChannelRequest* req,
                                                shoebox::v1::NotifyChannel* resp) {
  return Serve(c_, "AddNotifyChannel", ctx, [&](const Caller& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateAddNotifyChannel(*req));
    NotifyChannelRow row;
    row.name = req->name();
    row.kind = req->kind();
    row.url = req->url();
    row.email_to = req->email_to();
    row.smtp_user = req->smtp_user();
    row.insecure_smtp = req->insecure_smtp();
    row.sealed_secret = c_->notifier().SealSecret(req->name(), req->secret());
    NotifyStore& store = c_->notifier().store();
    RETURN_IF_ERROR(store.AddChannel(row));
    AuditNotify(
        c_, AuditEntry{"admin", who.name, "AddNotifyChannel", req->name(), true,
                       absl::StrCat("kind=", req->kind(), " url=", notify::RedactUrl(req->url()))});
    ASSIGN_OR_RETURN(NotifyChannelRow made, store.GetChannel(req->name()));
    ToProto(made, resp);
    c_->notifier().Wake();
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::ListNotify(grpc::ServerContext* ctx,
                                          const shoebox::v1::ListNotifyRequest*,
                                          shoebox::v1::ListNotifyResponse* resp) {
  return Serve(c_, "ListNotify", ctx,
               [&](const Caller&) -> absl::Status { return FillList(c_, resp); });
}

grpc::Status AdminServiceImpl::RemoveNotifyChannel(
    grpc::ServerContext* ctx, const shoebox::v1::RemoveNotifyChannelRequest* req,
    shoebox::v1::RemoveNotifyChannelResponse*) {
  return Serve(c_, "RemoveNotifyChannel", ctx, [&](const Caller& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateNotifyChannelName(req->name()));
    RETURN_IF_ERROR(c_->notifier().store().RemoveChannel(req->name()));
    AuditNotify(c_, AuditEntry{"admin", who.name, "RemoveNotifyChannel", req->name(), true, ""});
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::TestNotifyChannel(grpc::ServerContext* ctx,
                                                 const shoebox::v1::TestNotifyChannelRequest* req,
                                                 shoebox::v1::TestNotifyChannelResponse* resp) {
  return Serve(c_, "TestNotifyChannel", ctx, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(ValidateNotifyChannelName(req->name()));
    ASSIGN_OR_RETURN(std::string answer, c_->notifier().Test(req->name()));
    resp->set_answer(answer);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::SetNotifySetting(grpc::ServerContext* ctx,
                                                const shoebox::v1::SetNotifySettingRequest* req,
                                                shoebox::v1::ListNotifyResponse* resp) {
  return Serve(c_, "SetNotifySetting", ctx, [&](const Caller& who) -> absl::Status {
    RETURN_IF_ERROR(notify::ValidateSetting(req->key(), req->value()));
    RETURN_IF_ERROR(c_->notifier().store().SetSetting(req->key(), req->value()));
    AuditNotify(c_, AuditEntry{"admin", who.name, "SetNotifySetting", req->key(), true,
                               absl::StrCat("value=", req->value())});
    c_->notifier().Wake();
    return FillList(c_, resp);
  });
}

grpc::Status AdminServiceImpl::SetDevicePingUrl(grpc::ServerContext* ctx,
                                                const shoebox::v1::SetDevicePingUrlRequest* req,
                                                shoebox::v1::SetDevicePingUrlResponse*) {
  return Serve(c_, "SetDevicePingUrl", ctx, [&](const Caller& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateSetDevicePingUrl(*req));
    RETURN_IF_ERROR(c_->notifier().store().SetPingUrl(req->device(), req->url()));
    AuditNotify(c_, AuditEntry{"admin", who.name, "SetDevicePingUrl", req->device(), true,
                               absl::StrCat("url=", notify::RedactUrl(req->url()))});
    c_->notifier().Wake();
    return absl::OkStatus();
  });
}

}  // namespace shoebox::coordinator
