// The approval covers after-images: volatility learned from its causes (one rehearsal), each
// volatile column compared by its class at apply, and a second rehearsal only where the causes
// cannot be read.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "targetdb/evidence_check.hpp"
#include "targetdb/evidence_json.hpp"
#include "targetdb/masked_digest.hpp"

#include "target_support.hpp"

namespace datafix::targetdb::test {
namespace {

// As the team configures it: the audit log is append-only (shown, counted, never compared).
EnvironmentTarget configured(const TestDatabase& db) {
    auto t = db.target();
    t.append_only_tables = {"app_public.record_version"};
    return t;
}

const VolatileColumn* find(const std::vector<VolatileColumn>& v, const std::string& column) {
    for (const auto& c : v) {
        if (c.column == column) {
            return &c;
        }
    }
    return nullptr;
}

long long last_value(const TestDatabase& db, const std::string& sequence) {
    return std::stoll(db.psql("SELECT coalesce(pg_sequence_last_value('" + sequence + "'), 0)"));
}

constexpr const char* kUpdate =
    "UPDATE app_public.application SET form_data = form_data || '{\"reviewed\": true}' "
    "WHERE intake_id = 2;";

constexpr const char* kInsert =
    "INSERT INTO app_public.application_status (application_id, status, change_reason) "
    "SELECT id, 'withdrawn', 'by request' FROM app_public.application WHERE id IN (1, 2, 3)";

TEST(Volatility, TriggerClockIsLearnedFromItsCauseAndTheApplyMatchesTheApprovedFingerprint) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(configured(db));
    auto plan = plan_for(kUpdate, {200});
    auto evidence = session.preview(plan, images.store);
    EXPECT_TRUE(evidence.after_approved);
    EXPECT_TRUE(evidence.volatility_unknown.empty())
        << "every cause is readable: " << evidence.volatility_unknown.at(0);
    const auto& s = evidence.statements.at(0);
    ASSERT_EQ(s.volatility.size(), 1u);
    EXPECT_EQ(s.volatility[0].column, "updated_at");
    EXPECT_EQ(s.volatility[0].volatility, VolatilityClass::clock);
    EXPECT_EQ(s.volatility[0].type, "timestamp with time zone");
    EXPECT_NE(s.volatility[0].cause.find("trigger _100_timestamps"), std::string::npos)
        << s.volatility[0].cause;
    EXPECT_EQ(s.volatile_columns, std::vector<std::string>{"updated_at"});
    EXPECT_NE(s.after_masked, s.after.digest) << "updated_at is masked in what is approved";
    EXPECT_EQ(to_json(evidence_from_json(to_json(evidence))), to_json(evidence));

    auto outcome = session.apply(plan, evidence, images.store, kNoHook);
    EXPECT_EQ(outcome.status, OutcomeStatus::committed);
    EXPECT_EQ(outcome.applied.fingerprint, evidence.fingerprint)
        << "the apply saw what the pair approved, so it names the same fingerprint";
}

TEST(Volatility, AnInsertDrawsEachIdentityValueOnceInThePreview) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(configured(db));
    auto plan = plan_for(kInsert, {3});
    auto drawn = last_value(db, "app_public.application_status_id_seq");
    auto evidence = session.preview(plan, images.store);
    EXPECT_EQ(last_value(db, "app_public.application_status_id_seq"), drawn + 3)
        << "one rehearsal: three rows draw three values, not six";
    EXPECT_TRUE(evidence.volatility_unknown.empty());
    const auto& s = evidence.statements.at(0);
    const auto* id = find(s.volatility, "id");
    ASSERT_NE(id, nullptr);
    EXPECT_EQ(id->volatility, VolatilityClass::sequence);
    EXPECT_EQ(id->sequence, "app_public.application_status_id_seq");
    ASSERT_NE(find(s.volatility, "created_at"), nullptr);
    EXPECT_EQ(find(s.volatility, "created_at")->volatility, VolatilityClass::clock);
    EXPECT_EQ(find(s.volatility, "application_id"), nullptr);
    EXPECT_EQ(find(s.volatility, "status"), nullptr);
    // The archive trigger stamps the previous status rows: learned from the UPDATE in its body.
    const auto* statuses = changes_of(evidence, "app_public.application_status");
    ASSERT_NE(statuses, nullptr);
    ASSERT_NE(find(statuses->volatility, "archived_at"), nullptr);
    EXPECT_EQ(find(statuses->volatility, "archived_at")->volatility, VolatilityClass::clock);

    auto outcome = session.apply(plan, evidence, images.store, kNoHook);
    EXPECT_EQ(outcome.status, OutcomeStatus::committed);
    EXPECT_EQ(outcome.applied.fingerprint, evidence.fingerprint);
    EXPECT_EQ(last_value(db, "app_public.application_status_id_seq"), drawn + 6);
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.application_status "
                      "WHERE status = 'withdrawn' AND change_reason = 'by request'"),
              "3");
}

// The masked digests are streamed while the images are written; each must be the digest read
// back from the sealed image, for a stable key (the UPDATE: rows in key order) and a drawn one
// (the INSERT: sorted row digests), in the preview and at apply.
void expect_streamed_equals_reread(const ImageStore& store, const ImageFile& after,
                                   const std::vector<std::string>& columns,
                                   const std::vector<std::string>& key_columns,
                                   const std::vector<VolatileColumn>& volatility,
                                   const std::string& what) {
    auto streamed = store.streamed_masked_digest(
        after.path, MaskedDigest::signature(columns, key_columns, volatility));
    ASSERT_TRUE(streamed.has_value()) << what << ": the masked digest was streamed";
    EXPECT_EQ(*streamed, reread_masked_after_digest(store, after, columns, key_columns, volatility))
        << what;
    EXPECT_EQ(masked_after_digest(store, after, columns, key_columns, volatility), *streamed)
        << what;
    EXPECT_NE(*streamed, after.digest) << what << ": a volatile column is masked";
}

void expect_streamed_digests(const ImageStore& store, const Evidence& approved,
                             const Evidence& images_of, const std::string& run) {
    std::size_t checked = 0;
    for (std::size_t i = 0; i < approved.statements.size(); ++i) {
        const auto& a = approved.statements[i];
        const auto& s = images_of.statements.at(i);
        expect_streamed_equals_reread(store, s.after, s.columns, s.key_columns, a.volatility,
                                      run + " statement " + std::to_string(a.index));
        EXPECT_EQ(
            reread_masked_after_digest(store, s.after, s.columns, s.key_columns, a.volatility),
            a.after_masked);
        ++checked;
    }
    for (const auto& c : images_of.closure) {
        const auto* a = changes_of(approved, c.qualified());
        ASSERT_NE(a, nullptr) << c.qualified();
        if (c.count_only || a->volatility.empty()) {
            continue;
        }
        expect_streamed_equals_reread(store, c.after, c.columns, c.key_columns, a->volatility,
                                      run + " " + c.qualified());
        if (!a->append_only) {
            EXPECT_EQ(
                reread_masked_after_digest(store, c.after, c.columns, c.key_columns, a->volatility),
                a->after_masked)
                << run + " " + c.qualified();
        }
        ++checked;
    }
    EXPECT_GE(checked, 2u) << run << ": a statement and a closure table with volatile columns";
}

TEST(Volatility, MaskedDigestsStreamedDuringTheCaptureEqualTheImagesReadAgain) {
    for (const auto& [text, rows] :
         std::vector<std::pair<std::string, long long>>{{kUpdate, 200}, {kInsert, 3}}) {
        SCOPED_TRACE(text);
        TestDatabase db(dev());
        TempImages images;
        auto session = Session::open(configured(db));
        auto plan = plan_for(text, {rows});
        auto evidence = session.preview(plan, images.store);
        ASSERT_TRUE(evidence.volatility_unknown.empty());
        expect_streamed_digests(images.store, evidence, evidence, "preview");
        auto outcome = session.apply(plan, evidence, images.store, kNoHook);
        ASSERT_EQ(outcome.status, OutcomeStatus::committed);
        EXPECT_EQ(outcome.applied.fingerprint, evidence.fingerprint);
        expect_streamed_digests(images.store, evidence, outcome.applied, "apply");
    }
}

TEST(Volatility, AMaskedDigestAskedForOtherColumnsIsReadFromTheImage) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(configured(db));
    auto evidence = session.preview(plan_for(kUpdate, {200}), images.store);
    const auto& s = evidence.statements.at(0);
    // Streamed for updated_at only: masking form_data as well is another digest, read again.
    auto wider = s.volatility;
    VolatileColumn form;
    form.column = "form_data";
    form.volatility = VolatilityClass::observed;
    wider.push_back(form);
    auto masked = masked_after_digest(images.store, s.after, s.columns, s.key_columns, wider);
    EXPECT_EQ(masked,
              reread_masked_after_digest(images.store, s.after, s.columns, s.key_columns, wider));
    EXPECT_NE(masked, s.after_masked);
}

TEST(Volatility, TwoPreviewsOfTheSameResultShareAFingerprintAndAnotherResultDoesNot) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(configured(db));
    // The statement reads intake 4's id: the after-images depend on a table it does not write.
    auto plan = plan_for(
        "UPDATE app_public.application a SET intake_id = i.id FROM app_public.intake i "
        "WHERE i.intake_number = 4 AND a.id IN (1, 2, 3)",
        {3});
    auto first = session.preview(plan, images.store);
    auto again = session.preview(plan, images.store);
    EXPECT_EQ(first.fingerprint, again.fingerprint)
        << "only updated_at differs, and it is compared by its class";
    db.psql(
        "UPDATE app_public.intake SET intake_number = 40 WHERE intake_number = 4; "
        "UPDATE app_public.intake SET intake_number = 4 WHERE intake_number = 5");
    auto changed = session.preview(plan, images.store);
    EXPECT_EQ(changed.statements.at(0).before.digest, first.statements.at(0).before.digest)
        << "the same rows, as they were";
    EXPECT_NE(changed.fingerprint, first.fingerprint)
        << "the rows would get other values: an approval of the first does not cover this one";
}

TEST(Volatility, AClockColumnFilledFromElsewhereAtApplyIsRefused) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(configured(db));
    auto plan = plan_for(kUpdate, {200});
    auto evidence = session.preview(plan, images.store);
    // After the approval the trigger stamps a fixed time instead of the clock.
    db.psql(
        "CREATE OR REPLACE FUNCTION app_public.update_timestamps() RETURNS trigger "
        "LANGUAGE plpgsql AS $fn$ BEGIN NEW.updated_at := '2001-02-03 04:05:06+00'; "
        "NEW.updated_by := (SELECT id FROM app_public.app_user "
        "WHERE sub = current_setting('jwt.claims.sub', true)::uuid); RETURN NEW; END $fn$");
    auto before = db.state();
    auto message = expect_error(ErrorCode::count_mismatch,
                                [&] { session.apply(plan, evidence, images.store, kNoHook); });
    EXPECT_NE(message.find("app_public.application.updated_at holds a time that is not within "
                           "this apply"),
              std::string::npos)
        << message;
    EXPECT_EQ(message.find("2001"), std::string::npos) << "no values in messages";
    EXPECT_EQ(db.state(), before) << "the apply rolled back";
}

TEST(Volatility, ASequenceColumnFilledFromAnotherSequenceAtApplyIsRefused) {
    TestDatabase db(dev());
    TempImages images;
    db.psql(
        "SET ROLE app_owner; CREATE TABLE app_public.ticket (id serial PRIMARY KEY, note text); "
        "CREATE SEQUENCE app_public.other_seq;");
    auto session = Session::open(configured(db));
    auto plan = plan_for("INSERT INTO app_public.ticket (note) VALUES ('first'), ('second')", {2});
    auto evidence = session.preview(plan, images.store);
    const auto* id = find(evidence.statements.at(0).volatility, "id");
    ASSERT_NE(id, nullptr);
    EXPECT_EQ(id->volatility, VolatilityClass::sequence);
    EXPECT_EQ(id->sequence, "app_public.ticket_id_seq");
    db.psql("ALTER TABLE app_public.ticket ALTER id SET DEFAULT nextval('app_public.other_seq')");
    auto message = expect_error(ErrorCode::count_mismatch,
                                [&] { session.apply(plan, evidence, images.store, kNoHook); });
    EXPECT_NE(message.find("2 value(s) of app_public.ticket.id did not come from "
                           "app_public.ticket_id_seq during this apply"),
              std::string::npos)
        << message;
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.ticket"), "0");
}

TEST(Volatility, WhereCausesCannotBeReadASecondRehearsalTellsAndThePairIsTold) {
    // Without the append-only declaration, the audit log's rows are compared; its trigger copies
    // the whole NEW row (to_jsonb(NEW)), whose updated_at varies.
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(db.target());
    auto plan = plan_for(kUpdate, {200});
    auto evidence = session.preview(plan, images.store);
    ASSERT_FALSE(evidence.volatility_unknown.empty());
    EXPECT_NE(evidence.volatility_unknown[0].find(
                  "app_public.record_version.record: trigger _500_audit on "
                  "app_public.application copies the whole row of app_public.application"),
              std::string::npos)
        << evidence.volatility_unknown[0];
    const auto* log = changes_of(evidence, "app_public.record_version");
    ASSERT_NE(log, nullptr);
    ASSERT_NE(find(log->volatility, "record"), nullptr);
    EXPECT_EQ(find(log->volatility, "record")->volatility, VolatilityClass::observed);
    EXPECT_EQ(find(log->volatility, "changed_at")->volatility, VolatilityClass::clock);
    EXPECT_EQ(find(log->volatility, "id")->volatility, VolatilityClass::sequence);
    auto outcome = session.apply(plan, evidence, images.store, kNoHook);
    EXPECT_EQ(outcome.status, OutcomeStatus::committed);
}

}  // namespace
}  // namespace datafix::targetdb::test
