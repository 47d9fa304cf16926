#pragma once
// Forwarding header: the SQLite ledger lives in src/ledger/sqlite/.
#include "ledger/sqlite/sqlite_ledger.hpp"
