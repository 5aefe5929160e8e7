// datafix: guarded, four-eyes data changes on PostgreSQL. The entry point only hands over to cli/.
#include <sys/stat.h>

#include "cli/app.hpp"

int main(int argc, char** argv) {
    // Every file datafix creates (the ledger and its -wal/-shm, logs, images, backups, the CLI's
    // token) is its owner's alone, whatever the caller's umask.
    ::umask(077);
    return datafix::cli::run(argc, argv);
}
