// Request, evidence and image-diff views for human output.
#include "cli/request_view.hpp"

#include "cli/preflight_view.hpp"

#include <algorithm>
#include <iostream>
#include <map>

namespace datafix::cli {

namespace {

std::string cell_text(const nlohmann::json& v) {
    if (v.is_null()) {
        return "NULL";
    }
    std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    if (s.size() > 80) {
        s = s.substr(0, 77) + "...";
    }
    return s;
}

std::string stage_colored(const std::string& stage, const Style& style) {
    if (stage == "applied") {
        return style.green(stage);
    }
    if (stage == "in_doubt") {
        return style.red(stage);
    }
    if (stage == "approved" || stage == "previewed" || stage == "ready") {
        return style.yellow(stage);
    }
    return stage;
}

// The key of an image row, as text, from the key columns' positions.
std::string row_key(const nlohmann::json& row, const std::vector<std::size_t>& positions) {
    std::string key;
    for (std::size_t p : positions) {
        if (!key.empty()) {
            key += ", ";
        }
        key += p < row.size() ? cell_text(row[p]) : "?";
    }
    return key;
}

}  // namespace

std::string next_step_owner(const nlohmann::json& next) {
    const std::string owner = next.value("owner", "");
    const nlohmann::json& person = next.contains("person") ? next["person"] : nlohmann::json();
    const std::string name = person.is_object() ? person.value("name", "") : "";
    if (owner == "developer") {
        return "any developer";
    }
    if (owner == "nobody") {
        return "-";
    }
    if (owner == "running") {
        return name.empty() ? "the server" : "the server (started by " + name + ")";
    }
    std::string role = owner == "product_owner" ? "product owner" : owner;
    return name.empty() ? "the " + role : name + " (" + role + ")";
}

void print_consequences(const nlohmann::json& c, const Style& style) {
    if (!c.is_object()) {
        return;
    }
    if (c.contains("voided") && !c["voided"].empty()) {
        std::cout << "  voided " << c["voided"].size() << " approval"
                  << (c["voided"].size() == 1 ? "" : "s") << ":\n";
        for (const auto& a : c["voided"]) {
            std::cout << "    " << text(a["kind"])
                      << (a.value("environment", "").empty() ? "" : " in " + text(a["environment"]))
                      << " of revision " << text(a["revision"]) << " by "
                      << person_text(a["approved_by"]) << "\n";
        }
    } else {
        std::cout << "  no approval voided\n";
    }
    if (c.contains("held") && !c["held"].empty()) {
        std::string names;
        for (const auto& h : c["held"]) {
            names += (names.empty() ? "" : ", ") + text(h["environment"]) + " (revision " +
                     text(h["revision"]) + ")";
        }
        std::cout << "  " << style.yellow("data still changed in ") << names << "\n";
    } else {
        std::cout << "  no environment holds the change\n";
    }
}

void print_request(const nlohmann::json& s, const Style& style) {
    std::cout << style.bold("Request #" + text(s["number"]) + "  " + text(s["title"])) << "  ["
              << text(s["status"]) << "]\n";
    std::cout << "  reason        "
              << (s.contains("reason_private") ? std::string("(only for the request's people)")
                                               : text(s["reason"]))
              << "\n";
    std::cout << "  requested by  " << person_text(s["requested_by"]) << "  for "
              << text(s["requested_date"]) << "\n";
    if (!s.value("ticket", "").empty()) {
        std::cout << "  ticket        " << text(s["ticket"]) << "\n";
    }
    if (s.contains("next") && s["next"].is_object()) {
        std::cout << "  next step     " << text(s["next"]["what"]) << "  ("
                  << next_step_owner(s["next"]) << ")\n";
    }
    if (s["claim"].is_object()) {
        const auto& c = s["claim"];
        std::cout << "  driver        " << person_text(c["driver"])
                  << (c.value("active", false)
                          ? "  (lease until " + text(c["lease_expires_at"]) + ")"
                          : style.dim("  (lease ended " + text(c["lease_expires_at"]) + ")"))
                  << "\n";
    } else {
        std::cout << "  driver        " << style.dim("nobody (datafix claim)") << "\n";
    }
    std::cout << "  pair          "
              << (s["pair"].is_object() ? person_text(s["pair"]["pair"])
                                        : style.dim("nobody (datafix pair)"))
              << "\n";
    if (s["revision"].is_object()) {
        const auto& r = s["revision"];
        std::cout << "  revision      " << text(r["number"]) << "  sha256 " << text(r["hash"])
                  << "\n";
        int i = 1;
        for (const auto& st : r["statements"]) {
            std::cout << "    " << i++ << ". " << text(st["normalized"]) << "   "
                      << style.dim("expect " + text(st["expected_rows"]) + " rows") << "\n";
        }
    } else {
        std::cout << "  revision      " << style.dim("none yet (datafix change)") << "\n";
    }
    const auto& progress = s["progress"];
    std::cout << "  product owner "
              << (progress.value("product_owner_approved", false) ? style.green("approved prod")
                                                                  : std::string("not approved"))
              << "\n\n";
    Table envs({"ENVIRONMENT", "STAGE", "PREVIEW RUN", "EVIDENCE", "APPLY RUN"});
    for (const auto& e : progress["environments"]) {
        envs.add({text(e["name"]), stage_colored(text(e["stage"]), style),
                  e.value("preview_run", 0) ? text(e["preview_run"]) : "-",
                  short_hash(e.value("fingerprint", "")),
                  e.value("apply_run", 0) ? text(e["apply_run"]) : "-"});
    }
    envs.print(std::cout, style, "  ");
    if (!s["runs"].empty()) {
        std::cout << "\n";
        Table runs({"RUN", "ENV", "KIND", "STATE", "REV", "COUNTS", "FINGERPRINT", "BY"});
        for (const auto& r : s["runs"]) {
            std::string state = text(r["state"]);
            if (r.contains("failure")) {
                state += " (" + text(r["failure"]) + ")";
            }
            runs.add({text(r["number"]), text(r["environment"]), text(r["kind"]), state,
                      text(r["revision"]), r["counts"].dump(), short_hash(text(r["fingerprint"])),
                      r["started_by"].value("name", "-")});
        }
        runs.print(std::cout, style, "  ");
    }
    if (!s["approvals"].empty()) {
        std::cout << "\n";
        Table approvals({"APPROVAL", "KIND", "ENV", "REV", "EVIDENCE", "BY", "VOIDED"});
        for (const auto& a : s["approvals"]) {
            approvals.add({text(a["number"]), text(a["kind"]), text(a["environment"]),
                           text(a["revision"]), short_hash(text(a["fingerprint"])),
                           a["approved_by"].value("name", "-"),
                           a.value("voided", false) ? "voided" : ""});
        }
        approvals.print(std::cout, style, "  ");
    }
    if (s.contains("backups") && !s["backups"].empty()) {
        std::cout << "\n";
        Table backups({"BACKUP", "ENV", "REV", "VERIFIED", "TAKEN", "BYTES", "SHA256", "WHERE"});
        for (const auto& b : s["backups"]) {
            backups.add({text(b["number"]), text(b["environment"]), text(b["revision"]),
                         b.value("verified", false) ? "yes" : style.red("no"), text(b["taken_at"]),
                         text(b["size_bytes"]), short_hash(text(b["sha256"])),
                         text(b["location"])});
        }
        backups.print(std::cout, style, "  ");
    }
    if (s.contains("undelivered") && !s["undelivered"].empty()) {
        std::cout << "\n  " << style.yellow("undelivered notifications") << "\n";
        Table pending({"EVENT", "CHANNEL", "RECIPIENT", "ATTEMPTS", "LAST ERROR", "NEXT ATTEMPT"});
        for (const auto& n : s["undelivered"]) {
            // Only admins are given delivery errors; others see that a message waits.
            std::string error = n.contains("last_error") && n["last_error"].is_string()
                                    ? n["last_error"].get<std::string>()
                                    : std::string();
            if (error.size() > 60) {
                error = error.substr(0, 57) + "...";
            }
            pending.add({text(n["event"]), text(n["channel"]),
                         n.value("recipient", "").empty() ? "-" : text(n["recipient"]),
                         text(n["attempts"]), error.empty() ? "retrying" : error,
                         text(n["next_attempt_at"])});
        }
        pending.print(std::cout, style, "  ");
    }
}

void print_evidence(const nlohmann::json& e, const Style& style) {
    std::cout << "  evidence " << style.bold(text(e["fingerprint"])) << " on "
              << text(e["environment"]) << " (system " << text(e["system_identifier"]) << ")\n";
    // With the write closure below, what else a statement writes is listed there, by cause.
    const bool closure = e.contains("closure");
    Table t =
        closure ? Table({"#", "TABLE", "EXPECTED", "ACTUAL"})
                : Table({"#", "TABLE", "EXPECTED", "ACTUAL", "BEFORE", "AFTER", "INDIRECT WRITES"});
    for (const auto& s : e["statements"]) {
        if (closure) {
            t.add({text(s["index"]), text(s["table"]), text(s["expected_rows"]),
                   text(s["actual_rows"])});
            continue;
        }
        std::string indirect;
        for (const auto& w : s["indirect_writes"]) {
            indirect += (indirect.empty() ? "" : ", ") + text(w);
        }
        t.add({text(s["index"]), text(s["table"]), text(s["expected_rows"]), text(s["actual_rows"]),
               text(s["before_rows"]), text(s["after_rows"]), indirect.empty() ? "-" : indirect});
    }
    t.print(std::cout, style, "  ");
    if (e.contains("closure")) {
        // Every table the change writes, by cause: the pair approves these rows too.
        std::cout << "  write closure (every row the change writes, by table and cause):\n";
        Table c({"TABLE", "INSERTED", "UPDATED", "DELETED", "WRITTEN BY"});
        for (const auto& w : e["closure"]) {
            std::string causes;
            for (const auto& cause : w["causes"]) {
                causes += (causes.empty() ? "" : "; ") + text(cause);
            }
            std::string table = text(w["table"]);
            if (w.value("append_only", false)) {
                table += " (append-only, never reverted)";
            } else if (w.value("indirect", false)) {
                table += " (indirect)";
            }
            c.add({table, text(w["inserted"]), text(w["updated"]), text(w["deleted"]), causes});
        }
        c.print(std::cout, style, "  ");
        if (e.value("revert_exact", true)) {
            std::cout << "  revert: exact\n";
        } else {
            std::cout << "  " << style.bold("revert: this change cannot be reverted exactly")
                      << ":\n";
            for (const auto& h : e["revert_hazards"]) {
                std::cout << "    - " << text(h) << "\n";
            }
        }
    }
    // What may differ at apply, and how it is compared: the approval covers everything else.
    std::vector<std::string> varying;
    auto note_varying = [&](const nlohmann::json& list, const std::string& table) {
        for (const auto& v : list) {
            varying.push_back(table + "." + text(v["column"]) + " (" + text(v["class"]) + ": " +
                              text(v["cause"]) + ")");
        }
    };
    for (const auto& s : e.value("statements", nlohmann::json::array())) {
        note_varying(s.value("volatility", nlohmann::json::array()), text(s["table"]));
    }
    for (const auto& c : e.value("closure", nlohmann::json::array())) {
        if (!c.value("append_only", false)) {
            note_varying(c.value("volatility", nlohmann::json::array()), text(c["table"]));
        }
    }
    std::sort(varying.begin(), varying.end());
    varying.erase(std::unique(varying.begin(), varying.end()), varying.end());
    if (e.value("after_approved", false)) {
        std::cout << "  may differ at apply (compared by class):"
                  << (varying.empty() ? " nothing" : "") << "\n";
        for (const auto& v : varying) {
            std::cout << "    - " << v << "\n";
        }
        for (const auto& u : e.value("volatility_unknown", nlohmann::json::array())) {
            std::cout << "  " << style.bold("rehearsed twice: ") << text(u) << "\n";
        }
    }
    if (e.value("superuser_login", false)) {
        std::cout << "  " << style.bold("warning: this run logged in as a superuser")
                  << " (allow_superuser_login)\n";
    }
    std::cout << "  verify queries: " << text(e["verify_queries"]) << "\n";
}

void print_run_result(const std::string& kind, const std::string& request,
                      const std::string& environment, const nlohmann::json& result,
                      const Style& style) {
    // An answer names only what it has (no xid before an outcome): a missing field reads "-".
    auto field = [&result](const char* name) {
        return result.contains(name) ? result[name] : nlohmann::json();
    };
    if (kind == "preview") {
        std::cout << style.green("✓ ") << "preview of request #" << request << " on " << environment
                  << " (run " << text(field("run")) << "): rolled back, nothing changed\n";
        print_evidence(result["evidence"], style);
        if (result.contains("preflight")) {
            print_preflight_findings(result["preflight"], style);
        }
        return;
    }
    if (kind == "apply") {
        std::cout << style.green("✓ ") << "applied request #" << request << " on " << environment
                  << ": " << text(field("status")) << " (run " << text(field("run")) << ", xid "
                  << text(field("xid")) << ")\n";
    } else {
        std::cout << style.green("✓ ") << "reverted request #" << request << " on " << environment
                  << ": " << text(field("status")) << " (run " << text(field("run")) << ")\n";
    }
    if (result.contains("evidence")) {
        print_evidence(result["evidence"], style);
    }
}

std::string describe_event(const nlohmann::json& e, const Style& style) {
    std::string type = e.value("type", "");
    if (type == "watching") {
        return "watching request #" + text(e["request"]) + " (" + text(e["status"]) + ", version " +
               text(e["version"]) + ")";
    }
    if (type == "step") {
        std::string line = style.bold(e.value("step", "")) + " by " + e["actor"].value("name", "?");
        for (const auto& a : e["audit"]) {
            line += "\n    " + text(a["action"]);
            if (!a.value("environment", "").empty()) {
                line += " on " + text(a["environment"]);
            }
            if (!a.value("evidence_fingerprint", "").empty()) {
                line += "  evidence " + short_hash(text(a["evidence_fingerprint"]));
            }
            if (!a.value("detail", "").empty()) {
                line += "  " + style.dim(text(a["detail"]));
            }
        }
        return line;
    }
    if (type == "run.started") {
        return style.yellow("run " + text(e["run"]) + " started: " + text(e["kind"]) + " on " +
                            text(e["environment"]));
    }
    if (type == "run.finished") {
        std::string line = style.green("run " + text(e["run"]) + " finished: " + text(e["status"]));
        if (e.contains("evidence")) {
            for (const auto& s : e["evidence"]["statements"]) {
                line += "\n    statement " + text(s["index"]) + " on " + text(s["table"]) + ": " +
                        text(s["actual_rows"]) + " rows (expected " + text(s["expected_rows"]) +
                        ")";
            }
            line += "\n    evidence " + text(e["evidence"]["fingerprint"]);
        }
        return line;
    }
    if (type == "run.failed") {
        return style.red("run " + text(e["run"]) + " failed: " + text(e["error"]) +
                         " (rolled back, nothing changed)");
    }
    return type;
}

namespace {

// One table's before/after rows, matched by key, changed columns only.
void print_image_rows(const nlohmann::json& s, const std::string& heading, const Style& style) {
    std::vector<std::string> columns = s["columns"].get<std::vector<std::string>>();
    std::vector<std::size_t> key_positions;
    for (const auto& k : s["key_columns"]) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            if (columns[i] == k.get<std::string>()) {
                key_positions.push_back(i);
            }
        }
    }
    // Rows are named by the table's display key ([display_keys] in datafix.toml), such as an
    // application number, else by their key columns.
    std::vector<std::size_t> label_positions;
    for (const auto& k : s.value("display_key", s["key_columns"])) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            if (columns[i] == k.get<std::string>()) {
                label_positions.push_back(i);
            }
        }
    }
    auto label = [&](const nlohmann::json& row) {
        std::string out;
        for (std::size_t i : label_positions) {
            out += (out.empty() ? "" : ", ") + columns[i] + " " +
                   (i < row.size() ? cell_text(row[i]) : std::string("-"));
        }
        return out;
    };
    std::cout << style.bold(heading) << "\n";
    std::map<std::string, nlohmann::json> before;
    std::map<std::string, nlohmann::json> after;
    for (const auto& row : s["before"]) {
        before[row_key(row, key_positions)] = row;
    }
    for (const auto& row : s["after"]) {
        after[row_key(row, key_positions)] = row;
    }
    std::map<std::string, int> keys;
    for (const auto& [k, v] : before) {
        keys[k] = 1;
    }
    for (const auto& [k, v] : after) {
        keys[k] = 1;
    }
    for (const auto& [key, unused] : keys) {
        auto b = before.find(key);
        auto a = after.find(key);
        std::cout << "    " << label(a != after.end() ? a->second : b->second);
        if (b == before.end()) {
            std::cout << "  " << style.green("inserted") << "\n";
        } else if (a == after.end()) {
            std::cout << "  " << style.red("deleted") << "\n";
        } else {
            std::cout << "\n";
        }
        for (std::size_t i = 0; i < columns.size(); ++i) {
            bool has_b = b != before.end() && i < b->second.size();
            bool has_a = a != after.end() && i < a->second.size();
            if (has_b && has_a && b->second[i] == a->second[i]) {
                continue;
            }
            if (has_b) {
                std::cout << "      "
                          << style.red("- " + columns[i] + ": " + cell_text(b->second[i])) << "\n";
            }
            if (has_a) {
                std::cout << "      "
                          << style.green("+ " + columns[i] + ": " + cell_text(a->second[i]))
                          << "\n";
            }
        }
    }
    if (s.value("truncated", false)) {
        std::cout << style.dim("    (more rows not shown; counts and digests cover them)\n");
    }
}

}  // namespace

void print_images(const nlohmann::json& body, const Style& style) {
    if (body.contains("summary") && !body["summary"]["sentences"].empty()) {
        std::cout << style.bold("  what changes") << "\n";
        for (const auto& sentence : body["summary"]["sentences"]) {
            const std::string line = "    " + text(sentence["text"]);
            // Columns triggers maintain (updated_at, updated_by) and tables only triggers write
            // are shown, quietly: they are not the change people asked for.
            std::cout << (sentence.value("quiet", false) ? style.dim(line + " (by triggers)")
                                                         : line)
                      << "\n";
        }
    }
    for (const auto& s : body["images"]) {
        print_image_rows(s, "  statement " + text(s["index"]) + " on " + text(s["table"]), style);
    }
    if (body.contains("closure")) {
        for (const auto& c : body["closure"]) {
            std::string causes;
            for (const auto& cause : c["causes"]) {
                causes += (causes.empty() ? "" : "; ") + text(cause);
            }
            std::string label = c.value("append_only", false) ? " (append-only)"
                                : c.value("indirect", false)  ? " (indirect)"
                                                              : "";
            print_image_rows(c, "  " + text(c["table"]) + label + ", written by " + causes, style);
        }
    }
    if (body.contains("verify") && body["verify"].is_object()) {
        for (const auto& v : body["verify"]["verify"]) {
            std::cout << style.bold("  verify query " + text(v["index"])) << "\n";
            Table t(v["columns"].get<std::vector<std::string>>());
            for (const auto& row : v["rows"]) {
                std::vector<std::string> cells;
                for (const auto& c : row) {
                    cells.push_back(cell_text(c));
                }
                t.add(cells);
            }
            t.print(std::cout, style, "    ");
        }
    }
}

void print_guard_details(const nlohmann::json& details, const Style& style) {
    if (!details.is_object() || !details.contains("statements")) {
        return;
    }
    for (const auto& s : details["statements"]) {
        const auto& verdict = s["verdict"];
        if (verdict.value("allowed", true)) {
            continue;
        }
        std::cerr << "  " << style.red("refused") << " statement " << text(s["index"]) << " ("
                  << text(s.value("normalized", nlohmann::json()))
                  << "): " << text(verdict.value("reason", nlohmann::json())) << "\n";
    }
}

}  // namespace datafix::cli
