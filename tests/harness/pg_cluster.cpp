// Throwaway PostgreSQL 15 clusters (see pg_cluster.hpp). A watchdog process per cluster stops and
// removes it if the test process dies without running destructors (a crash, a ctest timeout).
#include "harness/pg_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "harness/process.hpp"

namespace datafix::testing {

namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin/";

std::string make_root(const std::string& name) {
    std::string tmpl = "/tmp/datafix-pg-" + name + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error("cannot create a directory for cluster " + name);
    }
    std::filesystem::permissions(tmpl, std::filesystem::perms(0755));
    if (::geteuid() == 0) {
        const passwd* pw = ::getpwnam(PgCluster::os_user().c_str());
        if (pw == nullptr || ::chown(tmpl.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
            throw std::runtime_error("cannot give " + tmpl + " to OS user " + PgCluster::os_user());
        }
    }
    return tmpl;
}

int free_port(const std::string& address = "127.0.0.1") {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
        throw std::runtime_error("not an IPv4 address: " + address);
    }
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw std::runtime_error("cannot find a free port on " + address);
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

void check(const ProcessResult& r, const std::string& what) {
    if (r.status != 0) {
        throw std::runtime_error(what + " failed (exit " + std::to_string(r.status) +
                                 "): " + r.err + r.out);
    }
}

void append_settings(const std::string& data_dir, const std::string& socket_dir, int port,
                     const std::string& address) {
    std::ofstream conf(data_dir + "/postgresql.conf", std::ios::app);
    conf << "\n# datafix test harness\n"
         << "port = " << port << "\n"
         << "unix_socket_directories = '" << socket_dir << "'\n"
         << "listen_addresses = '" << address << "'\n"
         << "fsync = off\n"
         << "full_page_writes = off\n"
         << "max_connections = 120\n"
         << "shared_buffers = 256MB\n"
         << "max_wal_size = 4GB\n"
         << "log_min_messages = warning\n";
    if (address != "127.0.0.1") {
        // A client of another loopback address connects from that address.
        std::ofstream hba(data_dir + "/pg_hba.conf", std::ios::app);
        hba << "host all all 127.0.0.0/8 scram-sha-256\n";
    }
}

// Starts `sh` reading a pipe; when the pipe closes (this process ended, however it ended) and the
// cluster directory still exists, it stops the server and removes the directory.
void start_watchdog(const std::string& root, const std::string& data_dir) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    std::string stop = kBin + "pg_ctl -D '" + data_dir + "' -m immediate stop";
    if (::geteuid() == 0) {
        stop = "runuser -u " + PgCluster::os_user() + " -- " + stop;
    }
    const std::string script = "while read -r _; do :; done; if [ -d '" + root + "' ]; then " +
                               stop + " >/dev/null 2>&1; rm -rf '" + root + "'; fi";
    pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
        ::setsid();
        ::dup2(fds[0], 0);
        int devnull = ::open("/dev/null", O_WRONLY);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
        ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(fds[0]);
    // The write end stays open (close-on-exec) for the life of this process on purpose.
}

}  // namespace

std::string PgCluster::os_user() {
    if (::geteuid() != 0) {
        const passwd* pw = ::getpwuid(::geteuid());
        return pw != nullptr ? pw->pw_name : "";
    }
    return "postgres";
}

std::unique_ptr<PgCluster> PgCluster::create(const std::string& name, const Listen& listen) {
    std::unique_ptr<PgCluster> c(new PgCluster());
    c->name_ = name;
    c->root_dir_ = make_root(name);
    c->data_dir_ = c->root_dir_ + "/data";
    c->socket_dir_ = c->root_dir_;
    start_watchdog(c->root_dir_, c->data_dir_);

    const std::string pwfile = c->root_dir_ + "/pwfile";
    {
        std::ofstream pw(pwfile);
        pw << "dfsuper-test-password\n";
    }
    if (::geteuid() == 0) {
        const passwd* pw = ::getpwnam(os_user().c_str());
        if (pw == nullptr || ::chown(pwfile.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
            throw std::runtime_error("cannot chown " + pwfile);
        }
    }
    check(run_process(
              as_user(os_user(), {kBin + "initdb", "-D", c->data_dir_, "-U", kSuperuser,
                                  "--auth-local=trust", "--auth-host=scram-sha-256",
                                  "--pwfile=" + pwfile, "-E", "UTF8", "--no-locale", "--no-sync"})),
          "initdb for cluster " + name);
    c->address_ = listen.address;
    c->port_ = listen.port != 0 ? listen.port : free_port(listen.address);
    append_settings(c->data_dir_, c->socket_dir_, c->port_, c->address_);
    c->start();
    return c;
}

std::unique_ptr<PgCluster> PgCluster::create_replica(const std::string& name,
                                                     const Listen& listen) {
    std::unique_ptr<PgCluster> r(new PgCluster());
    r->name_ = name;
    r->root_dir_ = make_root(name);
    r->data_dir_ = r->root_dir_ + "/data";
    r->socket_dir_ = r->root_dir_;
    start_watchdog(r->root_dir_, r->data_dir_);
    check(
        run_process(as_user(os_user(), {kBin + "pg_basebackup", "-h", socket_dir_, "-p",
                                        std::to_string(port_), "-U", kSuperuser, "-D", r->data_dir_,
                                        "-R", "-X", "stream", "-c", "fast", "--no-sync"})),
        "pg_basebackup of " + name_ + " for replica " + name);
    r->address_ = listen.address;
    r->port_ = listen.port != 0 ? listen.port : free_port(listen.address);
    append_settings(r->data_dir_, r->socket_dir_, r->port_, r->address_);
    r->start();
    // Caught up: the replica is in recovery and has replayed the primary's current WAL position.
    std::string lsn = psql("SELECT pg_current_wal_lsn()", "postgres");
    lsn.erase(lsn.find_last_not_of(" \n") + 1);
    for (int i = 0; i < 200; ++i) {
        if (r->psql(
                "SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn",
                "postgres") == "t\n") {
            return r;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("replica " + name + " did not catch up with " + name_);
}

PgCluster::~PgCluster() {
    try {
        if (running_) {
            run_process(as_user(
                os_user(), {kBin + "pg_ctl", "-D", data_dir_, "-m", "immediate", "-w", "stop"}));
        }
        std::error_code ec;
        std::filesystem::remove_all(root_dir_, ec);
    } catch (...) {
        // Destructors never throw; the watchdog removes what is left.
    }
}

void PgCluster::start() {
    check(run_process(as_user(os_user(), {kBin + "pg_ctl", "-D", data_dir_, "-l",
                                          root_dir_ + "/server.log", "-w", "-t", "60", "start"})),
          "starting cluster " + name_);
    running_ = true;
    wait_ready();
}

void PgCluster::stop() {
    check(run_process(
              as_user(os_user(), {kBin + "pg_ctl", "-D", data_dir_, "-m", "fast", "-w", "stop"})),
          "stopping cluster " + name_);
    running_ = false;
}

void PgCluster::stop_immediate() {
    check(run_process(as_user(os_user(),
                              {kBin + "pg_ctl", "-D", data_dir_, "-m", "immediate", "-w", "stop"})),
          "stopping cluster " + name_ + " immediately");
    running_ = false;
}

void PgCluster::promote() {
    check(run_process(as_user(os_user(), {kBin + "pg_ctl", "-D", data_dir_, "-w", "promote"})),
          "promoting cluster " + name_);
    for (int i = 0; i < 200; ++i) {
        if (psql("SELECT pg_is_in_recovery()", "postgres") == "f\n") {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("cluster " + name_ + " is still in recovery after promote");
}

void PgCluster::wait_ready() const {
    for (int i = 0; i < 200; ++i) {
        auto r = run_process(
            {kBin + "pg_isready", "-q", "-h", socket_dir_, "-p", std::to_string(port_)});
        if (r.status == 0) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("cluster " + name_ + " did not become ready");
}

std::string PgCluster::conninfo(const std::string& dbname, const std::string& user) const {
    return "host=" + socket_dir_ + " port=" + std::to_string(port_) + " dbname=" + dbname +
           " user=" + user;
}

std::string PgCluster::system_identifier() const {
    std::string id = psql("SELECT system_identifier FROM pg_control_system()", "postgres");
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) {
        id.pop_back();
    }
    return id;
}

std::string PgCluster::psql(const std::string& sql, const std::string& dbname,
                            const std::string& user) const {
    auto r = run_process({"psql", "-X", "-v", "ON_ERROR_STOP=1", "-Atq", "-h", socket_dir_, "-p",
                          std::to_string(port_), "-U", user, "-d", dbname, "-f", "-"},
                         sql);
    check(r, "psql on " + name_);
    return r.out;
}

std::string PgCluster::psql_file(const std::string& path, const std::string& dbname,
                                 const std::string& user) const {
    auto r = run_process({"psql", "-X", "-v", "ON_ERROR_STOP=1", "-Atq", "-h", socket_dir_, "-p",
                          std::to_string(port_), "-U", user, "-d", dbname, "-f", path});
    check(r, "psql -f " + path + " on " + name_);
    return r.out;
}

std::string PgCluster::create_database(const std::string& name, const std::string& tmpl,
                                       const std::string& user) const {
    psql("CREATE DATABASE \"" + name + "\" TEMPLATE \"" + tmpl + "\"", "postgres");
    return conninfo(name, user);
}

void load_sample_schema(const PgCluster& cluster) {
    cluster.psql("CREATE DATABASE app", "postgres");
    cluster.psql_file(std::string(DATAFIX_SOURCE_DIR) + "/testdata/sample_app/schema.sql");
}

void generate_sample_rows(const PgCluster& cluster, long applications) {
    auto r =
        run_process({"psql", "-X", "-v", "ON_ERROR_STOP=1", "-Atq", "-v",
                     "applications=" + std::to_string(applications), "-h", cluster.socket_dir(),
                     "-p", std::to_string(cluster.port()), "-U", PgCluster::kSuperuser, "-d", "app",
                     "-f", std::string(DATAFIX_SOURCE_DIR) + "/testdata/sample_app/generate.sql"});
    check(r, "generating " + std::to_string(applications) + " applications on " + cluster.name());
}

std::unique_ptr<PgCluster> create_backup_cluster(const std::string& name, long applications) {
    std::unique_ptr<PgCluster> cluster = PgCluster::create(name);
    load_sample_schema(*cluster);
    generate_sample_rows(*cluster, applications);
    cluster->psql("CREATE ROLE datafix_backup LOGIN BYPASSRLS IN ROLE pg_read_all_data",
                  "postgres");
    return cluster;
}

SampleClusters& SampleClusters::get() {
    static SampleClusters clusters;
    return clusters;
}

SampleClusters::SampleClusters() {
    dev_ = PgCluster::create("dev");
    test_ = PgCluster::create("test");
    prod_ = PgCluster::create("prod");
    for (PgCluster* c : {dev_.get(), test_.get(), prod_.get()}) {
        load_sample_schema(*c);
        generate_sample_rows(*c, 1000);
    }
    prod_replica_ = prod_->create_replica("prod-replica");
}

}  // namespace datafix::testing
