// cpp-httplib as the server uses it: every server file includes it through here, so the settings
// below are the same in each translation unit. The default listen backlog (5) drops connections
// when dozens of clients connect at once.
#pragma once

#ifndef CPPHTTPLIB_LISTEN_BACKLOG
#define CPPHTTPLIB_LISTEN_BACKLOG 512
#endif
#include <httplib.h>
