// A request's conversation in the ledger: comments round-trip in order, their text is sealed at
// rest like the reason (SQLite and PostgreSQL), and a written comment is never changed.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

namespace {

const std::string kSecret = "comment-canary-4c1d";

Comment comment(int number, CommentKind kind, UserId author, const std::string& text) {
    Comment c;
    c.number = number;
    c.kind = kind;
    c.text = text;
    c.author = author;
    c.at = at(number);
    c.revision = 1;
    c.after_run = 2;
    return c;
}

}  // namespace

TEST_P(LedgerTest, CommentsRoundTripSealedAndImmutable) {
    new_request();
    ledger->transact(1, [&](RequestState& s) {
        s.comments.push_back(comment(1, CommentKind::changes_requested, po.person.id,
                                     "please name the application, " + kSecret));
        return Mutation{true, {}};
    });
    ledger->transact(1, [&](RequestState& s) {
        s.comments.push_back(comment(2, CommentKind::comment, dev.person.id, "done"));
        return Mutation{true, {}};
    });
    auto loaded = ledger->load(1);
    ASSERT_EQ(loaded->comments.size(), 2u);
    EXPECT_EQ(loaded->comments[0], comment(1, CommentKind::changes_requested, po.person.id,
                                           "please name the application, " + kSecret));
    EXPECT_EQ(loaded->comments[1].kind, CommentKind::comment);
    EXPECT_EQ(loaded->comments[1].author, dev.person.id);

    EXPECT_THROW(ledger->transact(1,
                                  [&](RequestState& s) {
                                      s.comments[0].text = "rewritten";
                                      return Mutation{true, {}};
                                  }),
                 datafix::Error);
    EXPECT_EQ(ledger->load(1)->comments[0].text, "please name the application, " + kSecret);

    if (GetParam() == Backend::sqlite) {
        EXPECT_EQ(raw_exec("PRAGMA wal_checkpoint(TRUNCATE)"), "");
    }
    ledger.reset();
    EXPECT_EQ(stored_bytes().find(kSecret), std::string::npos);
}

}  // namespace datafix::ledger::testing
