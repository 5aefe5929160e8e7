// The ledger stores the model's types (src/model/) and speaks of them by their own names.
#pragma once

#include "model/audit.hpp"
#include "model/person.hpp"
#include "model/request_state.hpp"
#include "model/time.hpp"

namespace datafix::ledger {

using model::Approval;
using model::approval_kind_name;
using model::ApprovalKind;
using model::AuditAnchor;
using model::AuditCheck;
using model::AuditEntry;
using model::AuditEvent;
using model::AuditQuery;
using model::Backup;
using model::ChangeRequest;
using model::Claim;
using model::Comment;
using model::comment_kind_name;
using model::CommentKind;
using model::from_millis;
using model::IssuedToken;
using model::kDefaultTokenLifetime;
using model::NewPerson;
using model::Pair;
using model::parse_approval_kind;
using model::parse_comment_kind;
using model::parse_role;
using model::parse_run_kind;
using model::parse_run_state;
using model::parse_status;
using model::parse_token_scope;
using model::Participants;
using model::Person;
using model::RequestNumber;
using model::RequestState;
using model::RequestStatus;
using model::Revision;
using model::Role;
using model::role_name;
using model::Run;
using model::run_kind_name;
using model::run_state_name;
using model::RunKind;
using model::RunState;
using model::StatementInfo;
using model::status_name;
using model::Time;
using model::to_millis;
using model::token_scope_name;
using model::TokenOptions;
using model::TokenScope;
using model::UserId;
using model::wall_clock_now;

}  // namespace datafix::ledger
