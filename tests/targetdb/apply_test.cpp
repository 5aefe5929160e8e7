// Preview and apply on a real cluster: UPDATE, DELETE, INSERT ... SELECT, the trigger-set
// columns, declared counts, and rows changed between the preview and the apply.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "targetdb/evidence_json.hpp"
#include "targetdb/image_store.hpp"

#include "target_support.hpp"

namespace datafix::targetdb::test {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

bool mentions(const std::vector<std::string>& v, const std::string& s) {
    return std::any_of(v.begin(), v.end(),
                       [&](const std::string& x) { return x.find(s) != std::string::npos; });
}

constexpr const char* kUpdate =
    "UPDATE app_public.application SET form_data = form_data || '{\"reviewed\": true}' "
    "WHERE intake_id = 2;";

TEST(Apply, UpdatePreviewRollsBackThenApplyCommitsWithTheJwtSubject) {
    TestDatabase db(dev());
    TempImages images;
    auto before = db.state();
    auto session = Session::open(db.target());
    auto plan = plan_for(kUpdate, {200},
                         "SELECT count(*) FROM app_public.application "
                         "WHERE form_data ? 'reviewed';");
    auto evidence = session.preview(plan, images.store);
    EXPECT_EQ(db.state(), before) << "a preview must leave the database as it was";

    ASSERT_EQ(evidence.statements.size(), 1u);
    const auto& s = evidence.statements[0];
    EXPECT_EQ(s.actual_rows, 200);
    EXPECT_EQ(s.before.rows, 200);
    EXPECT_EQ(s.after.rows, 200);
    EXPECT_EQ(s.key_columns, std::vector<std::string>{"id"});
    // now() differs between two transactions: updated_at is volatile, nothing else is.
    EXPECT_EQ(s.volatile_columns, std::vector<std::string>{"updated_at"});
    EXPECT_TRUE(mentions(s.indirect_writes, "trigger _500_audit on app_public.application"));
    EXPECT_TRUE(mentions(s.indirect_writes, "on app_public.application_status: ON DELETE CASCADE"));
    ASSERT_EQ(evidence.verify.size(), 1u);
    EXPECT_EQ(evidence.verify[0].rows.at(0).at(0).value_or(""), "200");
    EXPECT_EQ(evidence.fingerprint.size(), 64u);
    EXPECT_EQ(evidence.system_identifier, dev().system_identifier());
    // The ledger stores the evidence as JSON; it must come back identical.
    EXPECT_EQ(to_json(evidence_from_json(to_json(evidence))), to_json(evidence));

    std::string handed_xid;
    int handed_pid = 0;
    auto outcome = session.apply(
        plan, evidence, images.store, [&](const std::string& xid, int pid, const Evidence&) {
            handed_xid = xid;
            handed_pid = pid;
            // Before COMMIT: another session must not see the change yet.
            EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.application "
                              "WHERE form_data ? 'reviewed'"),
                      "0");
        });
    EXPECT_EQ(outcome.status, OutcomeStatus::committed);
    EXPECT_EQ(outcome.xid, handed_xid);
    EXPECT_EQ(outcome.backend_pid, handed_pid);
    EXPECT_EQ(outcome.resolved_by, "commit acknowledged");
    EXPECT_GT(outcome.transaction_time.count(), 0);
    EXPECT_EQ(outcome.applied.statements.at(0).before.digest, s.before.digest);
    EXPECT_EQ(db.psql("SELECT pg_xact_status('" + outcome.xid + "'::xid8)"), "committed");
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.application "
                      "WHERE form_data ? 'reviewed' AND intake_id = 2 "
                      "AND updated_by = 1"),
              "200")
        << "the trigger must attribute the change to jwt.claims.sub's user";
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.record_version "
                      "WHERE op = 'UPDATE' AND db_user = 'app_owner'"),
              "200");
}

TEST(Apply, DeleteCapturesTheDeletedRowsAsBeforeImages) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(db.target());
    auto plan =
        plan_for("DELETE FROM app_public.application_status WHERE application_id <= 10", {10});
    auto evidence = session.preview(plan, images.store);
    EXPECT_EQ(evidence.statements.at(0).before.rows, 10);
    EXPECT_EQ(evidence.statements.at(0).after.rows, 0);
    auto outcome = session.apply(plan, evidence, images.store, kNoHook);
    EXPECT_EQ(outcome.status, OutcomeStatus::committed);
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.application_status"), "990");
}

TEST(Apply, InsertSelectToleratesNewIdentityValues) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(db.target());
    auto plan = plan_for(
        "INSERT INTO app_public.application_status (application_id, status, change_reason) "
        "SELECT id, 'received', 'bulk receipt' FROM app_public.application WHERE intake_id = 3",
        {200});
    auto evidence = session.preview(plan, images.store);
    const auto& s = evidence.statements.at(0);
    EXPECT_EQ(s.before.rows, 0);
    EXPECT_EQ(s.after.rows, 200);
    // The second rehearsal drew new identity values and ran at another now().
    EXPECT_TRUE(contains(s.volatile_columns, "id"));
    EXPECT_TRUE(contains(s.volatile_columns, "created_at"));
    EXPECT_FALSE(contains(s.volatile_columns, "application_id"));
    auto outcome = session.apply(plan, evidence, images.store, kNoHook);
    EXPECT_EQ(outcome.status, OutcomeStatus::committed);
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.application_status "
                      "WHERE status = 'received' AND created_by = 1"),
              "200");
}

TEST(Apply, RowCountMismatchRollsBackWithBothNumbers) {
    TestDatabase db(dev());
    TempImages images;
    auto before = db.state();
    auto session = Session::open(db.target());
    auto plan = plan_for(kUpdate, {199});
    auto message =
        expect_error(ErrorCode::count_mismatch, [&] { session.preview(plan, images.store); });
    EXPECT_NE(message.find("statement 1 (app_public.application) changed 200 rows; the request "
                           "declares 199"),
              std::string::npos)
        << message;
    EXPECT_EQ(db.state(), before);
    EXPECT_EQ(images.files(), 0u) << "a refused run leaves no image files";
}

TEST(Apply, RowChangedBetweenPreviewAndApplyIsNamedAndNothingCommits) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(db.target());
    auto plan = plan_for(kUpdate, {200});
    auto evidence = session.preview(plan, images.store);
    // The statement's before- and after-images, and those of its write closure: the updated
    // applications (the statement's own files: it alone writes that table) and the audit rows
    // their trigger wrote.
    ASSERT_EQ(evidence.closure.size(), 2u);
    EXPECT_EQ(evidence.closure[0].before.path, evidence.statements[0].before.path);
    EXPECT_EQ(evidence.closure[0].after.path, evidence.statements[0].after.path);
    EXPECT_EQ(images.files(), 4u) << "the preview keeps its before- and after-images";
    // Someone else edits one of the rows (id 6 is in intake 2: 1 + 6 % 5).
    db.psql(
        "UPDATE app_public.application SET form_data = form_data || '{\"note\": \"x\"}' "
        "WHERE id = 6");
    auto changed = db.state();
    auto message = expect_error(ErrorCode::count_mismatch,
                                [&] { session.apply(plan, evidence, images.store, kNoHook); });
    EXPECT_NE(message.find("(id)=(6) changed since the preview"), std::string::npos) << message;
    EXPECT_EQ(message.find("Fabricated"), std::string::npos) << "no row values in messages";
    EXPECT_EQ(db.state(), changed) << "the apply must have rolled back";
    EXPECT_EQ(images.files(), 4u) << "the refused apply removed its own images";
}

TEST(Apply, ResultThatWouldDifferIsRefused) {
    // The before-images are the same, but a table the statement reads changed: the after-images
    // differ outside the volatile columns.
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(db.target());
    auto plan = plan_for(
        "UPDATE app_public.application a SET intake_id = i.id FROM app_public.intake i "
        "WHERE i.intake_number = 4 AND a.id IN (1, 2, 3)",
        {3});
    auto evidence = session.preview(plan, images.store);
    db.psql(
        "UPDATE app_public.intake SET intake_number = 40 WHERE intake_number = 4; "
        "UPDATE app_public.intake SET intake_number = 4 WHERE intake_number = 5");
    auto changed = db.state();
    auto message = expect_error(ErrorCode::count_mismatch,
                                [&] { session.apply(plan, evidence, images.store, kNoHook); });
    EXPECT_NE(message.find("(id)=(1) would get other values in intake_id"), std::string::npos)
        << message;
    EXPECT_EQ(db.state(), changed);
}

TEST(Apply, EvidenceFromAnotherChangeIsRefused) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(db.target());
    auto evidence = session.preview(plan_for(kUpdate, {200}), images.store);
    auto other = plan_for("DELETE FROM app_public.application_status WHERE id = 1", {1});
    auto message = expect_error(ErrorCode::count_mismatch,
                                [&] { session.apply(other, evidence, images.store, kNoHook); });
    EXPECT_NE(message.find("approved evidence is for another change"), std::string::npos);
    auto edited = evidence;
    edited.statements.at(0).actual_rows = 201;
    auto tampered = expect_error(ErrorCode::count_mismatch, [&] {
        session.apply(plan_for(kUpdate, {200}), edited, images.store, kNoHook);
    });
    EXPECT_NE(tampered.find("does not match its fingerprint"), std::string::npos) << tampered;
}

TEST(Apply, ATableWithoutAKeyIsRefusedForCapture) {
    TestDatabase db(dev());
    db.psql(
        "CREATE TABLE app_public.loose (note text); ALTER TABLE app_public.loose OWNER TO "
        "app_owner; INSERT INTO app_public.loose VALUES ('a')");
    TempImages images;
    auto session = Session::open(db.target());
    auto message = expect_error(ErrorCode::target_refused, [&] {
        session.preview(plan_for("UPDATE app_public.loose SET note = 'b' WHERE note = 'a'", {1}),
                        images.store);
    });
    EXPECT_NE(message.find("app_public.loose has no primary key and no unique not-null key"),
              std::string::npos)
        << message;
}

std::vector<std::string> image_rows(const TempImages& images, const ImageFile& file) {
    std::vector<std::string> rows;
    ImageReader reader(images.store, file);
    std::string row;
    while (reader.next(row)) {
        rows.push_back(row);
    }
    return rows;
}

bool has(const std::string& row, const std::string& text) {
    return row.find(text) != std::string::npos;
}

// The first statement's before-images are read by a second session in the run's snapshot, beside
// the statement; a later statement's are read in the run's transaction, the only one that sees
// what the earlier statements wrote.
TEST(Apply, EachStatementsBeforeImagesAreTheRowsAsThatStatementFoundThem) {
    TestDatabase db(dev());
    TempImages images;
    auto before = db.state();
    auto session = Session::open(db.target());
    auto plan = plan_for(
        "UPDATE app_public.application SET form_data = form_data || '{\"step\": \"first\"}' "
        "WHERE id = 5;\n"
        "UPDATE app_public.application SET form_data = form_data || '{\"step\": \"second\"}' "
        "WHERE id IN (5, 6);",
        {1, 2});
    auto evidence = session.preview(plan, images.store);
    EXPECT_EQ(db.state(), before);
    ASSERT_EQ(evidence.statements.size(), 2u);

    auto first_before = image_rows(images, evidence.statements[0].before);
    ASSERT_EQ(first_before.size(), 1u);
    EXPECT_TRUE(has(first_before[0], "5\tAPP-")) << "the row the first statement found";
    EXPECT_FALSE(has(first_before[0], "\"step\""));
    auto second_before = image_rows(images, evidence.statements[1].before);
    ASSERT_EQ(second_before.size(), 2u);
    EXPECT_TRUE(has(second_before[0], "\"step\": \"first\""))
        << "row 5 as the second statement found it, after the first wrote it";
    EXPECT_FALSE(has(second_before[1], "\"step\""));
    for (const auto& row : image_rows(images, evidence.statements[1].after)) {
        EXPECT_TRUE(has(row, "\"step\": \"second\""));
    }

    auto outcome = session.apply(plan, evidence, images.store, kNoHook);
    EXPECT_EQ(outcome.status, OutcomeStatus::committed);
    EXPECT_EQ(outcome.applied.statements.at(0).before.digest, evidence.statements[0].before.digest);
    // Row 5's updated_at, which the first statement's trigger set, differs from the preview's;
    // the apply compares it as the volatile column it is.
    auto applied_before = image_rows(images, outcome.applied.statements.at(1).before);
    ASSERT_EQ(applied_before.size(), 2u);
    EXPECT_TRUE(has(applied_before[0], "\"step\": \"first\""));
    EXPECT_EQ(applied_before[1], second_before[1]) << "a row no statement wrote before is the same";
    EXPECT_EQ(db.psql("SELECT string_agg(form_data->>'step', ',' ORDER BY id) "
                      "FROM app_public.application WHERE id IN (5, 6)"),
              "second,second");
}

// Masking the volatile columns of a later statement's before-images tolerates nothing else: a row
// changed since the preview in another column is still named and nothing commits.
TEST(Apply, ALaterStatementsRowChangedSinceThePreviewIsStillRefused) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(db.target());
    auto plan = plan_for(
        "UPDATE app_public.application SET form_data = form_data || '{\"step\": \"first\"}' "
        "WHERE id = 5;\n"
        "UPDATE app_public.application SET form_data = form_data || '{\"step\": \"second\"}' "
        "WHERE id IN (5, 6);",
        {1, 2});
    auto evidence = session.preview(plan, images.store);
    db.psql("UPDATE app_public.application SET application_number = 'APP-CHANGED' WHERE id = 6");
    auto before = db.state();
    auto message = expect_error(ErrorCode::count_mismatch,
                                [&] { session.apply(plan, evidence, images.store, kNoHook); });
    EXPECT_TRUE(has(message, "statement 2")) << message;
    EXPECT_TRUE(has(message, "(id)=(6)")) << message;
    EXPECT_FALSE(has(message, "APP-CHANGED")) << "no row value in an error";
    EXPECT_EQ(db.state(), before);
}

// A statement that fails while its before-images are being read on the second session: the run
// is refused with the database's reason, nothing changed, no image file is left, and the
// session (both its connections) serves the next change.
TEST(Apply, AStatementRefusedByATriggerLeavesNothingAndTheSessionServesTheNext) {
    TestDatabase db(dev());
    TempImages images;
    db.psql("UPDATE app_public.application SET archived_at = now() WHERE id = 7");
    auto before = db.state();
    auto session = Session::open(db.target());
    auto refused =
        plan_for("UPDATE app_public.application SET form_data = '{}' WHERE id IN (7, 8);", {2});
    auto message =
        expect_error(ErrorCode::database, [&] { session.preview(refused, images.store); });
    EXPECT_TRUE(has(message, "23514")) << message;
    EXPECT_EQ(db.state(), before);
    EXPECT_EQ(images.files(), 0u);

    auto next = plan_for("UPDATE app_public.application SET form_data = '{}' WHERE id = 8;", {1});
    auto evidence = session.preview(next, images.store);
    EXPECT_EQ(evidence.statements.at(0).before.rows, 1);
    EXPECT_EQ(session.apply(next, evidence, images.store, kNoHook).status,
              OutcomeStatus::committed);
    EXPECT_EQ(db.psql("SELECT form_data::text FROM app_public.application WHERE id = 8"), "{}");
}

TEST(Apply, MergeIsCapturedFromItsMatchedRowsAndThisTransactionsRows) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(db.target());
    auto plan = plan_for(
        "MERGE INTO app_public.application_status s "
        "USING (SELECT id FROM app_public.application WHERE id <= 5) a "
        "ON s.application_id = a.id "
        "WHEN MATCHED THEN UPDATE SET change_reason = 'merged'",
        {5});
    auto evidence = session.preview(plan, images.store);
    EXPECT_EQ(evidence.statements.at(0).before.rows, 5);
    EXPECT_EQ(evidence.statements.at(0).after.rows, 5);
    auto outcome = session.apply(plan, evidence, images.store, kNoHook);
    EXPECT_EQ(outcome.status, OutcomeStatus::committed);
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.application_status "
                      "WHERE change_reason = 'merged'"),
              "5");
}

TEST(Apply, VerifyQueriesCannotWrite) {
    // The SQL guard admits only SELECT to a verify file; a SELECT can still call a function that
    // writes. The server refuses it: verify runs in a READ ONLY subtransaction.
    TestDatabase db(dev());
    TempImages images;
    auto before = db.state();
    auto session = Session::open(db.target());
    auto plan = plan_for(kUpdate, {200});
    plan.verify.push_back(
        VerifyQuery{1, "SELECT nextval('app_public.record_version_id_seq'::regclass)"});
    auto message = expect_error(ErrorCode::database, [&] { session.preview(plan, images.store); });
    EXPECT_NE(message.find("read-only transaction"), std::string::npos) << message;
    EXPECT_EQ(db.state(), before);
}

TEST(Apply, LeavingTheRoleIsAnEscapeAndRollsBack) {
    // The SQL guard refuses set_config('role', ...); this plan is built by hand to show that the
    // executor's own check stops it too.
    TestDatabase db(dev());
    TempImages images;
    auto before = db.state();
    auto session = Session::open(db.target());
    ChangePlan plan;
    plan.sha256 = "hand-built";
    PlannedStatement s;
    s.index = 1;
    s.kind = StatementKind::update;
    s.text =
        "UPDATE app_public.application a SET form_data = form_data || "
        "jsonb_build_object('r', set_config('role', 'none', false)) WHERE a.id = 1";
    s.capture = CapturePlan{"app_public", "application", "a",
                            "SELECT a.* FROM app_public.application a WHERE a.id = 1",
                            s.text + " RETURNING a.*"};
    plan.statements.push_back(s);
    auto message = expect_error(ErrorCode::escape, [&] { session.preview(plan, images.store); });
    EXPECT_NE(message.find("the session left role app_owner (current_user is datafix_login)"),
              std::string::npos)
        << message;
    EXPECT_EQ(db.state(), before);
}

}  // namespace
}  // namespace datafix::targetdb::test
