// Executes one change statement with full capture: before-images of the rows it will update,
// then the statement itself with RETURNING so the after-images come back in the same round trip
// (a DELETE's RETURNING gives its before-images), both streamed to sealed files in key order.
#pragma once

#include <string>

#include "targetdb/change_plan.hpp"
#include "targetdb/evidence.hpp"
#include "targetdb/image_store.hpp"
#include "targetdb/table_info.hpp"

namespace datafix::targetdb {

class Connection;

// Streams the rows of `sql` (a COPY ... TO STDOUT) into a sealed image file in key order; the row
// count goes to `count` when given. Shared by capture and revert. With `volatility`, the masked
// digest of the rows is streamed too (ImageWriter::mask), for masked_after_digest to find.
ImageFile copy_to_image(Connection& connection, ImageStore& images, const TableInfo& table,
                        const std::string& sql, const std::string& label, long long* count,
                        const std::vector<VolatileColumn>& volatility = {});

// `volatility`: the after-images' volatile columns, when known before the statement runs (the
// preview's model, the approved evidence at apply), so their masked digest is streamed.
// `observer`, a second session of the same role and settings, given only when nothing in the
// run's transaction has written yet: the before-images are then read on it, in the run's
// snapshot (SharedSnapshot), while the statement runs, rather than before it.
StatementEvidence execute_with_capture(Connection& connection, ImageStore& images,
                                       const PlannedStatement& statement, const TableInfo& table,
                                       const std::vector<VolatileColumn>& volatility = {},
                                       Connection* observer = nullptr);

}  // namespace datafix::targetdb
