#include "workers/destination.h"

#include "absl/strings/str_cat.h"
#include "common/crypto/sealbox.h"
#include "common/destination_kinds.h"
#include "common/status.h"

namespace shoebox::worker {

absl::StatusOr<CredentialOpener> MakeSealBoxOpener(const std::string& pool_key_file) {
  ASSIGN_OR_RETURN(SealKeyPair kp, LoadSealKeyPair(pool_key_file));
  return CredentialOpener(
      [kp](const std::string& sealed, const std::string& dest) -> absl::StatusOr<nlohmann::json> {
        ASSIGN_OR_RETURN(std::string plain, OpenSealedBox(kp, sealed, dest));
        nlohmann::json j = nlohmann::json::parse(plain, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_object()) {
          return absl::InvalidArgumentError(
              absl::StrCat("credentials of destination '", dest,
                           "' are not a JSON object; seal them again with `shoebox dest`"));
        }
        return j;
      });
}

absl::StatusOr<std::unique_ptr<Connector>> OpenDestination(const v1::Destination& d,
                                                           const CredentialOpener& open_credentials,
                                                           const ConnectorEnvironment& env) {
  nlohmann::json settings = nlohmann::json::object();
  if (!d.settings_json().empty()) {
    settings = nlohmann::json::parse(d.settings_json(), nullptr, false);
    if (settings.is_discarded() || !settings.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("destination '", d.name(),
                       "': settings are not a JSON object; fix them with `shoebox dest`"));
    }
  }
  nlohmann::json creds = nlohmann::json::object();
  if (!d.sealed_credentials().empty()) {
    if (!open_credentials) {
      return absl::FailedPreconditionError(absl::StrCat(
          "destination '", d.name(),
          "' has sealed credentials but this worker has no pool key; set pool_key_file"));
    }
    ASSIGN_OR_RETURN(creds, open_credentials(d.sealed_credentials(), d.name()));
  }
  ConnectorEnvironment named_env = env;
  named_env.destination_name = d.name();
  // Issue 20: the album directory (the coordinator's catalog, under the
  // job's lease) goes to photo services only; other kinds have no albums.
  const KindSpec* spec = FindDestinationKind(d.kind());
  if (spec == nullptr || !spec->albums) named_env.albums = nullptr;
  absl::StatusOr<std::unique_ptr<Connector>> c =
      MakeConnector(d.kind(), settings, creds, named_env);
  if (!c.ok()) return Annotate(c.status(), absl::StrCat("destination '", d.name(), "'"));
  return c;
}

}  // namespace shoebox::worker
