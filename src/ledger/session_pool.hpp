// Internal to the ledger: a pool of backend sessions, one per concurrent caller, so server
// threads never share a connection; the store's own locks order their writes.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "ledger/sql_session.hpp"

namespace datafix::ledger {

class SessionPool {
  public:
    using Factory = std::function<std::unique_ptr<SqlSession>()>;
    explicit SessionPool(Factory factory) : factory_(std::move(factory)) {}

    class Handle {
      public:
        Handle(SessionPool& pool, std::unique_ptr<SqlSession> session)
            : pool_(pool), session_(std::move(session)) {}
        ~Handle() { pool_.give_back(std::move(session_)); }
        Handle(const Handle&) = delete;
        Handle& operator=(const Handle&) = delete;
        SqlSession& operator*() { return *session_; }
        SqlSession* operator->() { return session_.get(); }

      private:
        SessionPool& pool_;
        std::unique_ptr<SqlSession> session_;
    };

    Handle acquire();

  private:
    void give_back(std::unique_ptr<SqlSession> session);

    Factory factory_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<SqlSession>> idle_;
};

}  // namespace datafix::ledger
