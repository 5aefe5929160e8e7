// Checking a configuration against the world it describes, environment by environment, with the
// same code a step uses: discover::find_leader for pod targets, the session's guards for the
// database. One environment's failure does not stop the others from being checked.
#include "server/config_check.hpp"

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/crypto.hpp"
#include "discover/leader.hpp"

namespace datafix::server {

namespace {

using targetdb::GuardCheck;

GuardCheck passed(std::string name, std::string detail) {
    GuardCheck c;
    c.name = std::move(name);
    c.result = GuardCheck::Result::ok;
    c.detail = std::move(detail);
    return c;
}

GuardCheck failed(std::string name, const Error& e) {
    GuardCheck c;
    c.name = std::move(name);
    c.result = GuardCheck::Result::failed;
    c.detail = e.message();
    c.hint = e.hint();
    c.code = e.code();
    return c;
}

GuardCheck skipped(std::string name) {
    GuardCheck c;
    c.name = std::move(name);
    return c;
}

// The directory the server keeps images and backups in must be writable by this user (in a
// container: the volume, as the arbitrary UID the platform picked). Nothing is created here.
GuardCheck check_data_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::path at = dir;
    while (!at.empty() && !std::filesystem::exists(at, ec)) {
        at = at.parent_path();
    }
    if (::access(at.c_str(), W_OK | X_OK) != 0) {
        return failed("data_dir",
                      Error(ErrorCode::config, at.string() + " is not writable for this user",
                            "mount a writable volume there, or set [server] data_dir"));
    }
    return passed("data_dir", dir + (at == dir ? " is writable" : " can be created"));
}

CheckSection check_server(const Config& config) {
    CheckSection s{"server", {}};
    try {
        Key::load_file(config.server.key_file);
        s.checks.push_back(passed("key_file", config.server.key_file + " is readable"));
    } catch (const Error& e) {
        s.checks.push_back(failed("key_file", e));
    }
    s.checks.push_back(check_data_dir(config.server.data_dir));
    return s;
}

CheckSection check_environment(const EnvironmentConfig& environment) {
    CheckSection s{environment.target.name, {}};
    targetdb::EnvironmentTarget target = environment.target;
    std::optional<discover::ReachedLeader> leader;  // outlives the guard checks below
    if (environment.pods) {
        try {
            leader.emplace(discover::find_leader(*environment.pods));
            s.checks.push_back(
                passed("api", std::string(discover::platform_name(environment.pods->platform)) +
                                  " namespace " + environment.pods->namespace_name + " listed"));
            s.checks.push_back(passed(
                "leader_pod",
                "pod " + leader->pod().name +
                    (leader->has_forward() ? ", port-forwarded" : ", reached at its pod IP")));
            target.conninfo = leader->conninfo();
        } catch (const Error& e) {
            // The client missing, failing or out of reach: the API was not asked. A refusal
            // (another namespace, not exactly one leader) or an odd answer: it was.
            bool api_answered =
                e.code() == ErrorCode::target_refused || e.code() == ErrorCode::invalid_input;
            if (api_answered) {
                s.checks.push_back(passed("api", "answered"));
                s.checks.push_back(failed("leader_pod", e));
            } else {
                s.checks.push_back(failed("api", e));
                s.checks.push_back(skipped("leader_pod"));
            }
            for (const char* name : {"login", "leader", "pin", "role"}) {
                s.checks.push_back(skipped(name));
            }
            return s;
        }
    }
    for (auto& c : targetdb::check_guards(target)) {
        s.checks.push_back(std::move(c));
    }
    return s;
}

}  // namespace

bool CheckSection::ok() const {
    for (const auto& c : checks) {
        if (c.result != GuardCheck::Result::ok) {
            return false;
        }
    }
    return true;
}

std::vector<CheckSection> check_configuration(const Config& config) {
    std::vector<CheckSection> sections;
    sections.push_back(check_server(config));
    for (const auto& environment : config.environments) {
        sections.push_back(check_environment(environment));
    }
    return sections;
}

std::string describe(const std::vector<CheckSection>& sections) {
    std::ostringstream out;
    for (const auto& s : sections) {
        out << s.name << ": " << (s.ok() ? "ok" : "FAILED") << '\n';
        for (const auto& c : s.checks) {
            out << "  " << c.name << ": " << targetdb::guard_result_name(c.result);
            if (!c.detail.empty()) {
                out << " (" << c.detail << ")";
            }
            out << '\n';
            if (!c.hint.empty()) {
                out << "    HINT: " << c.hint << '\n';
            }
        }
    }
    return out.str();
}

nlohmann::json to_json(const std::vector<CheckSection>& sections) {
    nlohmann::json out = nlohmann::json::array();
    bool ok = true;
    for (const auto& s : sections) {
        nlohmann::json checks = nlohmann::json::array();
        for (const auto& c : s.checks) {
            nlohmann::json check = {{"name", c.name},
                                    {"result", targetdb::guard_result_name(c.result)},
                                    {"detail", c.detail}};
            if (c.result == GuardCheck::Result::failed) {
                check["hint"] = c.hint;
                check["code"] = code_name(c.code);
            }
            checks.push_back(check);
        }
        out.push_back({{"name", s.name}, {"ok", s.ok()}, {"checks", checks}});
        ok = ok && s.ok();
    }
    return {{"ok", ok}, {"sections", out}};
}

ErrorCode first_failure(const std::vector<CheckSection>& sections) {
    for (const auto& s : sections) {
        for (const auto& c : s.checks) {
            if (c.result == GuardCheck::Result::failed) {
                return c.code;
            }
        }
    }
    return ErrorCode::internal;
}

}  // namespace datafix::server
