// Executes one change statement with full capture: before-images of the rows it will update or
// delete, then the statement itself with RETURNING so the after-images come back in the same
// round trip, both streamed to sealed files in key order.
#pragma once

#include "target/change_plan.hpp"
#include "target/evidence.hpp"
#include "target/image_store.hpp"
#include "target/table_info.hpp"

namespace datafix::target {

class Connection;

StatementEvidence execute_with_capture(Connection& connection, ImageStore& images,
                                       const PlannedStatement& statement, const TableInfo& table);

}  // namespace datafix::target
