// The SQL guard out of the server's process. Change and verify text arrives from the network, and
// the parser library underneath the guard can crash on hostile input (a stack overflow): the
// server therefore analyses uploaded text in a child, `datafix guard-worker` (its own binary,
// re-executed through core/process with a deadline, an output cap and a smaller stack than any
// server thread), and a crash or timeout of that child becomes a refusal of the change, never a
// crash of the server. Text the worker accepted is analysed again in-process later (executor,
// notifications) on threads with a larger stack.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "sql/analysis.hpp"

namespace datafix::server {

// sql::analyze in a worker process. Throws what sql::analyze throws (Error(invalid_input) for
// unparsable text), Error(refused) when the worker crashed, ran out of time or answered nonsense.
sql::Analysis analyze_in_worker(std::string_view text, sql::FileRole role,
                                const std::string& file_name);

// The worker's side (`datafix guard-worker --role change|verify --file NAME`): reads the text on
// `in`, writes the analysis or the guard's error as JSON on `out`. Returns the exit status.
int run_guard_worker(const std::string& role, const std::string& file_name, std::istream& in,
                     std::ostream& out);

}  // namespace datafix::server
