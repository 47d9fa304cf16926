#pragma once
// Forwarding header for src/store/sqlite_ledger.*, which moves to src/ledger/sqlite/ next.
#include "ledger/sqlite/schema.hpp"
