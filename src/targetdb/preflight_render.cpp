// Text rendering of the pre-flight report. Order: what runs (statements), what it meets (tables),
// what to do about it (findings), so the findings are the last thing on screen.
#include "targetdb/preflight_render.hpp"

#include <sstream>

namespace datafix::targetdb {

namespace {

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) {
            out += separator;
        }
        out += p;
    }
    return out;
}

std::string grant_text(const PrivilegeFact& p) {
    std::string out(privilege_name(p.privilege));
    out += p.grant == Grant::table          ? " yes"
           : p.grant == Grant::some_columns ? " some columns"
                                            : " NO";
    if (p.required) {
        out += " (needed)";
    } else if (p.conditional) {
        out += " (needed if the MERGE does it)";
    }
    return out;
}

void render_statement(std::ostringstream& out, const StatementReport& s) {
    out << "statement " << s.index << ": " << s.normalized << "\n";
    out << "  declared: "
        << (s.declared ? std::to_string(*s.declared) + " rows" : std::string("no count"));
    if (s.estimated) {
        out << "; planner estimate: " << *s.estimated << " rows";
        if (s.estimate_far) {
            out << " (FAR from the declared count)";
        }
    } else if (!s.estimate_unavailable.empty()) {
        out << "; no estimate: " << s.estimate_unavailable;
    }
    out << "\n  locks: " << s.table_lock << " on " << s.table << "; rows: " << s.row_locks << "\n";
}

void render_row_security(std::ostringstream& out, const TableReport& t, const std::string& role) {
    const auto& r = t.row_security;
    if (!r.enabled) {
        out << "  row-level security: off\n";
        return;
    }
    out << "  row-level security: on" << (r.forced ? ", FORCED" : "");
    if (r.role_bypasses) {
        out << "; role " << role << " has BYPASSRLS: policies do not apply";
    } else if (r.role_is_owner && !r.forced) {
        out << "; role " << role << " owns the table: policies do not apply";
    } else if (r.role_is_owner) {
        out << "; FORCE applies the policies to the owner role " << role << " too";
    }
    out << "\n";
    for (const auto& p : r.policies) {
        out << "    policy " << p.name << " FOR " << policy_command_name(p.command) << " "
            << (p.permissive ? "permissive" : "restrictive") << " TO " << join(p.roles, ", ")
            << (p.applies_to_role ? " (applies to " + role + ")" : std::string()) << "\n";
    }
    for (const auto& c : r.commands) {
        out << "    " << policy_command_name(c.command) << ": ";
        if (!r.applies) {
            out << "not filtered\n";
        } else if (c.denied) {
            out << "NO policy lets " << role << " " << policy_command_name(c.command)
                << ": every row is hidden\n";
        } else {
            out << "rows allowed by " << join(c.permissive, ", ");
            if (!c.restrictive.empty()) {
                out << ", restricted by " << join(c.restrictive, ", ");
            }
            out << "\n";
        }
    }
}

std::string trigger_text(const TriggerFact& t) {
    std::string timing = t.timing == TriggerTiming::before  ? "BEFORE"
                         : t.timing == TriggerTiming::after ? "AFTER"
                                                            : "INSTEAD OF";
    std::string out = t.name + " " + timing + " " + join(t.events, " OR ") +
                      (t.level == TriggerLevel::row ? " FOR EACH ROW" : " FOR EACH STATEMENT") +
                      " -> " + t.function;
    if (!t.writes.empty()) {
        out += "; writes " + join(t.writes, ", ");
    }
    if (t.may_raise) {
        out += "; can raise an error";
    }
    if (t.may_skip_row) {
        out += "; can skip rows (returns NULL)";
    }
    if (t.enabled == TriggerEnabled::disabled) {
        out += " (disabled)";
    } else if (t.enabled == TriggerEnabled::replica) {
        out += " (replica only)";
    }
    return out;
}

void render_table(std::ostringstream& out, const TableReport& t, const std::string& role) {
    if (!t.found) {
        out << "table " << t.qualified << ": NOT FOUND\n";
        return;
    }
    std::vector<std::string> statements;
    for (int i : t.statements) {
        statements.push_back(std::to_string(i));
    }
    out << "table " << t.qualified << " (owner " << t.owner << "), written by statement "
        << join(statements, ", ") << "\n";
    std::vector<std::string> grants;
    for (const auto& p : t.privileges.privileges) {
        grants.push_back(grant_text(p));
    }
    out << "  privileges of " << role << ": " << join(grants, ", ")
        << (t.privileges.schema_usage ? "" : "; NO USAGE on schema " + t.schema) << "\n";
    render_row_security(out, t, role);
    std::vector<std::string> firing, quiet;
    for (const auto& trig : t.triggers) {
        (trig.fires ? firing : quiet).push_back(trigger_text(trig));
    }
    out << "  triggers that fire:" << (firing.empty() ? " none" : "") << "\n";
    for (const auto& f : firing) {
        out << "    " << f << "\n";
    }
    if (!quiet.empty()) {
        out << "  triggers that do not fire for this change: " << quiet.size() << "\n";
    }
    for (const auto& r : t.references) {
        if (r.writes) {
            out << "  cascades into " << r.table << " (foreign key " << r.constraint << ")\n";
        }
    }
    if (t.lock_holders.empty()) {
        out << "  other sessions' locks: none that matter\n";
    }
    for (const auto& h : t.lock_holders) {
        out << "  lock: " << (h.pid ? "pid " + std::to_string(*h.pid) : std::string("prepared"))
            << " " << (h.user.empty() ? std::string("?") : h.user);
        if (!h.application_name.empty()) {
            out << " '" << h.application_name << "'";
        }
        out << (h.granted ? " holds " : " waits for ") << h.mode;
        if (h.details_visible) {
            out << " since " << h.xact_start << " (" << h.state << ")";
        } else {
            out << " (since when is hidden from " << role << "; GRANT pg_read_all_stats TO " << role
                << " to see it)";
        }
        out << (h.conflicts ? " -- a run would WAIT" : " -- may hold row locks") << "\n";
    }
}

}  // namespace

std::string render_preflight(const PreflightReport& report) {
    std::ostringstream out;
    out << "pre-flight on " << report.environment << " (system identifier "
        << report.system_identifier << ", PostgreSQL " << report.server_version << ") as role "
        << report.role << " (login " << report.login << "), " << report.generated_at
        << "; nothing was written\n";
    for (const auto& s : report.statements) {
        render_statement(out, s);
    }
    for (const auto& t : report.tables) {
        render_table(out, t, report.role);
    }
    for (const auto& f : report.functions) {
        out << "function " << f.signature;
        if (!f.language.empty()) {
            out << " (" << f.language << ", " << f.volatility
                << (f.security_definer ? ", SECURITY DEFINER as " + f.owner : std::string()) << ")";
        }
        out << ", called by " << join(f.called_by, ", ") << ": "
            << (f.vouched ? "vouched for" : "REFUSED: it " + f.refusal) << "\n";
        for (const auto& w : f.write_commands) {
            out << "  writes " << w.table << " (" << w.command << ")\n";
        }
    }
    if (report.findings.empty()) {
        out << "findings: none\n";
        return out.str();
    }
    out << "findings:\n";
    for (const auto& f : report.findings) {
        out << "  " << (f.severity == Severity::blocker ? "BLOCKER" : "warning") << ": "
            << f.message << "\n    HINT: " << f.hint << "\n";
    }
    return out.str();
}

}  // namespace datafix::targetdb
