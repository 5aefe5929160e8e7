// The pre-flight report a run met, kept with the run: a sealed file next to the run's evidence
// (data_dir/request-<n>/run-<r>.preflight) holding preflight_to_json, so `datafix show --run`
// can list the findings of a preview or apply, also of one that failed.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "core/crypto.hpp"
#include "model/request_state.hpp"
#include "run/host.hpp"
#include "targetdb/session.hpp"

namespace datafix::run {

std::string preflight_path(const std::string& data_dir, model::RequestNumber number, int run);

// The kept report as JSON; null when the run has none (it never reached the database).
nlohmann::json load_preflight(const Key& key, const std::string& path);

// Saves the session's last pre-flight report for `run` when it goes out of scope, whether the
// run succeeded or threw: a failed preview's report is the one that explains it. A failure to
// save is logged, never thrown.
class KeptPreflight {
  public:
    KeptPreflight(Host& host, model::RequestNumber number, int run,
                  const targetdb::Session& session)
        : host_(host), number_(number), run_(run), session_(session) {}
    ~KeptPreflight();
    KeptPreflight(const KeptPreflight&) = delete;
    KeptPreflight& operator=(const KeptPreflight&) = delete;

    // The report so far (nothing before the session built one).
    std::optional<targetdb::PreflightReport> report() const;

  private:
    Host& host_;
    model::RequestNumber number_;
    int run_;
    const targetdb::Session& session_;
};

}  // namespace datafix::run
