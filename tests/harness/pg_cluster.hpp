// Throwaway PostgreSQL 15 clusters for tests and benchmarks: initdb as a non-root OS user, unix
// sockets in a temporary directory, stopped and removed when the object goes away (also when a
// test fails). Nothing here is mocked: these are Debian's postgresql-15 binaries.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace datafix::testing {

// Where a cluster listens on TCP: a loopback address (127.0.0.0/8), and a port (0: a free one on
// that address). Two clusters on different loopback addresses may share a port, as two pods do.
struct Listen {
    std::string address = "127.0.0.1";
    int port = 0;
};

class PgCluster {
  public:
    // initdb + start. `name` appears in the directory name and in error messages.
    static std::unique_ptr<PgCluster> create(const std::string& name, const Listen& listen = {});
    ~PgCluster();  // stops the server and removes its directory; never throws

    PgCluster(const PgCluster&) = delete;
    PgCluster& operator=(const PgCluster&) = delete;

    // A streaming replica of this cluster (pg_basebackup -R), started and caught up.
    std::unique_ptr<PgCluster> create_replica(const std::string& name, const Listen& listen = {});

    const std::string& name() const { return name_; }
    const std::string& socket_dir() const { return socket_dir_; }
    const std::string& data_dir() const { return data_dir_; }
    int port() const { return port_; }
    const std::string& address() const { return address_; }  // the TCP listen address

    // libpq conninfo over the unix socket, e.g. "host=/tmp/x port=54xx dbname=app user=dfsuper".
    std::string conninfo(const std::string& dbname = "app",
                         const std::string& user = kSuperuser) const;
    // pg_control's system_identifier, as text.
    std::string system_identifier() const;

    // Runs SQL through psql (-X -v ON_ERROR_STOP=1 -Atq) as `user`; returns stdout. Throws
    // std::runtime_error with psql's stderr on failure.
    std::string psql(const std::string& sql, const std::string& dbname = "app",
                     const std::string& user = kSuperuser) const;
    // Same, for a file.
    std::string psql_file(const std::string& path, const std::string& dbname = "app",
                          const std::string& user = kSuperuser) const;

    // CREATE DATABASE `name` TEMPLATE `tmpl`: a private copy of the sample data for one test.
    // Returns the conninfo for it (as `user`).
    std::string create_database(const std::string& name, const std::string& tmpl = "app",
                                const std::string& user = kSuperuser) const;

    void stop();  // pg_ctl stop -m fast
    // pg_ctl stop -m immediate: no shutdown checkpoint, as after a crash; start() recovers.
    void stop_immediate();
    void start();    // pg_ctl start (after stop)
    void promote();  // pg_ctl promote, waits until out of recovery
    bool running() const { return running_; }

    // The OS user the server runs as ("postgres" when the tests run as root).
    static std::string os_user();

    static constexpr const char* kSuperuser = "dfsuper";

  private:
    PgCluster() = default;
    void wait_ready() const;

    std::string name_;
    std::string root_dir_;
    std::string data_dir_;
    std::string socket_dir_;
    int port_ = 0;
    std::string address_ = "127.0.0.1";
    bool running_ = false;
};

// The sample application schema (app_public: app_user, intake, application, application_status,
// status_type, record_version) with its roles:
//   app_owner      NOLOGIN, owns the schema objects; datafix SET ROLEs to it
//   datafix_login  LOGIN (password "datafix-test-password"), member of app_owner
//   app_web        LOGIN, the application's own role
//   dfsuper        the superuser
// Loads testdata/sample_app/schema.sql into database `app` (created if missing).
void load_sample_schema(const PgCluster& cluster);
// Fills the sample schema with fabricated rows: `applications` applications, with users, intakes
// and status history in proportion (testdata/sample_app/generate.sql).
void generate_sample_rows(const PgCluster& cluster, long applications);
// A cluster with the sample schema, `applications` fabricated applications and the backup login
// `datafix_backup`: it reads everything and bypasses row-level security, since the application
// forces row-level security even on its owner and pg_dump refuses to dump a filtered table.
std::unique_ptr<PgCluster> create_backup_cluster(const std::string& name, long applications);

// dev, test and prod (three separate clusters, so three system identifiers) plus a streaming
// replica of prod, each with the sample schema and a small fabricated data set. Started once per
// test process on first use and stopped at exit.
class SampleClusters {
  public:
    static SampleClusters& get();
    PgCluster& dev() { return *dev_; }
    PgCluster& test() { return *test_; }
    PgCluster& prod() { return *prod_; }
    PgCluster& prod_replica() { return *prod_replica_; }

  private:
    SampleClusters();
    std::unique_ptr<PgCluster> dev_, test_, prod_, prod_replica_;
};

}  // namespace datafix::testing
