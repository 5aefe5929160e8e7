// A request walked through the runbook with fabricated people and a fixed clock: each step is
// decided by workflow::decide and, when allowed, becomes the state of the next step.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "workflow/decide.hpp"
#include "workflow/revision_hash.hpp"

namespace datafix::workflow::testing {

using namespace std::chrono_literals;

inline model::Person person(model::UserId id, const std::string& name, model::Role role) {
    return model::Person{id, name, name + "@example.com", role, true};
}

class Scenario {
  public:
    model::Person po = person(1, "olivia.po", model::Role::product_owner);
    model::Person driver = person(2, "dana.dev", model::Role::developer);
    model::Person pair = person(3, "pat.dev", model::Role::developer);
    model::Person other_dev = person(4, "omar.dev", model::Role::developer);
    model::Person admin = person(5, "ada.admin", model::Role::admin);
    model::Person other_po = person(6, "paula.po", model::Role::product_owner);

    WorkflowConfig config = WorkflowConfig::standard();
    model::RequestState state;
    model::Time now = model::from_millis(1'700'000'000'000);

    Scenario() {
        state.request.number = 7;
        state.request.title = "fix a misspelled organisation name";
        state.request.reason = "the applicant asked by email";
        state.request.requested_by = po.id;
        state.request.requested_date = "2024-05-01";
        state.request.ticket = "https://tickets.example.com/7";
        state.request.created_by = po.id;
        state.request.created_at = now;
    }

    void advance(std::chrono::milliseconds d) { now += d; }

    // Decides and, when allowed, adopts the new state.
    Decision act(const model::Person& who, const Action& action) {
        Decision decision = decide(state, action, who, now, config);
        if (decision.allowed()) {
            state = decision.state;
        }
        return decision;
    }

    // Asserts the step is allowed.
    Decision ok(const model::Person& who, const Action& action) {
        Decision decision = act(who, action);
        EXPECT_TRUE(decision.allowed())
            << action_name(action) << " refused: " << decision.refusal->rule << ": "
            << decision.refusal->message;
        return decision;
    }

    // Asserts the step is refused by `rule` and that the state did not change.
    void refused(const model::Person& who, const Action& action, const std::string& rule) {
        const model::RequestState before = state;
        Decision decision = decide(state, action, who, now, config);
        ASSERT_FALSE(decision.allowed()) << action_name(action) << " was allowed";
        EXPECT_EQ(decision.refusal->rule, rule) << decision.refusal->message;
        EXPECT_FALSE(decision.refusal->message.empty());
        EXPECT_TRUE(decision.events.empty());
        EXPECT_TRUE(decision.state == before);
    }

    static AttachRevision change(const std::string& sql =
                                     "UPDATE app_public.intake SET "
                                     "name = 'Intake 2' WHERE id = 4") {
        AttachRevision a;
        a.change_sql = sql;
        a.verify_sql = "SELECT name FROM app_public.intake WHERE id = 4";
        a.statements.push_back(model::StatementInfo{
            "UPDATE app_public.intake SET name = $1 WHERE id = $2", "fp-stmt", "h-stmt", 1});
        return a;
    }

    std::string revision() const { return state.current_revision()->hash; }

    void claim_and_pair() {
        ok(driver, ClaimRequest{});
        ok(pair, JoinPair{});
    }

    // Preview -> approve -> apply in `env`; returns the evidence fingerprint.
    std::string promote(const std::string& env) {
        const std::string fingerprint = "evidence-" + env + "-" + std::to_string(++evidence_);
        int run = *ok(driver, StartPreview{env}).run;
        ok(driver, FinishRun{run, RunOutcome::succeeded, {1}, fingerprint});
        ok(pair, ApproveEvidence{env, revision(), fingerprint});
        int apply = *ok(driver, StartApply{env, fingerprint}).run;
        ok(driver, RecordInFlight{apply, 1234, 4321});
        ok(driver, FinishRun{apply, RunOutcome::succeeded, {1}});
        return fingerprint;
    }

    std::string preview(const std::string& env) {
        const std::string fingerprint = "evidence-" + env + "-" + std::to_string(++evidence_);
        int run = *ok(driver, StartPreview{env}).run;
        ok(driver, FinishRun{run, RunOutcome::succeeded, {1}, fingerprint});
        return fingerprint;
    }

    // A new revision after applies: attached with the reverts first, then each environment that
    // holds the earlier one put back, latest first, with the pair's approval.
    void revise(const std::string& sql) {
        const std::string held = revision();
        AttachRevision next = change(sql);
        next.revert_first = true;
        ok(driver, next);
        for (auto env = config.environments.rbegin(); env != config.environments.rend(); ++env) {
            bool holds = false;
            for (const model::Run& run : state.runs) {
                holds = holds || (run.environment == env->name && run.revision_hash == held &&
                                  run.kind == model::RunKind::apply);
            }
            if (!holds || env->production) {
                continue;
            }
            ok(pair, ApproveEmergencyRevert{env->name, held});
            int run = *ok(driver, StartRevert{env->name}).run;
            ok(driver, FinishRun{run, RunOutcome::succeeded, {1}});
        }
    }

    // Everything up to a done request.
    void run_to_done() {
        claim_and_pair();
        ok(driver, change());
        promote("dev");
        promote("test");
        ok(po, ApproveProduction{revision()});
        promote("prod");
    }

  private:
    int evidence_ = 0;
};

}  // namespace datafix::workflow::testing
