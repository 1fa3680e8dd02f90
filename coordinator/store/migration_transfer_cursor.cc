// Migration 20 (issue 21, slice 3; docs/transfers.md): photo services as
// transfer sources.
//   transfer_listing.albums      the album titles an item is in at the
//                                source (a Flickr photo in two photosets:
//                                two), each followed by a NUL byte (titles
//                                hold none; ReportListing refuses them); a
//                                change of membership alone is a change and
//                                fetches the item again.
//   transfer_listing.capture_ns  the capture time the source reports (0
//                                unknown).
//   transfers.list_cursor        the source's own change cursor after the
//                                last listing (Flickr: the newest upload
//                                time), saved in the transaction that saves
//                                the listing, so a kill loses and repeats
//                                nothing ("" none: a full listing).
#include "coordinator/store/migrations.h"

namespace shoebox::coordinator {

const char* TransferCursorMigrationSql() {
  return R"sql(
ALTER TABLE transfer_listing ADD COLUMN albums bytea NOT NULL DEFAULT '';
ALTER TABLE transfer_listing ADD COLUMN capture_ns bigint NOT NULL DEFAULT 0;
ALTER TABLE transfers ADD COLUMN list_cursor text NOT NULL DEFAULT '';
)sql";
}

}  // namespace shoebox::coordinator
