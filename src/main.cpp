// datafix: guarded, four-eyes data changes on PostgreSQL. The entry point only hands over to cli/.
#include "cli/app.hpp"

int main(int argc, char** argv) { return datafix::cli::run(argc, argv); }
