// Storage backends by database_url scheme. Adding a backend is one entry in kBackends (and its
// files under src/ledger/<backend>/); nothing else names a scheme.
#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

#include "ledger/sqlite/sqlite_storage.hpp"
#include "llmgate/storage.hpp"

namespace llmgate {

namespace {

const std::array kBackends = {
    StorageBackend{
        "sqlite", {"sqlite"}, store::open_sqlite_storage, store::open_sqlite_keys, store::open_sqlite_models},
};

// Schemes users write that no backend takes yet, with what to do instead.
struct Planned {
  const char* scheme;
  const char* message;
};
constexpr Planned kPlanned[] = {
    {"postgresql", "PostgreSQL is not supported yet; use sqlite:///path"},
    {"postgres", "PostgreSQL is not supported yet; use sqlite:///path"},
};

// "" for "" and plain paths, else the lower-cased part before "://".
std::string scheme_of(std::string_view url) {
  const auto p = url.find("://");
  if (p == std::string_view::npos) return {};
  std::string s(url.substr(0, p));
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const StorageBackend& backend_or_throw(const LedgerSettings& s) {
  std::string error;
  const StorageBackend* b = find_storage_backend(s.database_url, error);
  if (!b) throw std::runtime_error("general_settings.database_url: " + error);
  return *b;
}

}  // namespace

const StorageBackend* find_storage_backend(std::string_view database_url, std::string& error) {
  const std::string scheme = scheme_of(database_url);
  if (scheme.empty()) return &kBackends.front();  // a plain path: SQLite, the default
  for (const auto& b : kBackends)
    if (std::find(b.schemes.begin(), b.schemes.end(), scheme) != b.schemes.end()) return &b;
  for (const auto& p : kPlanned)
    if (scheme == p.scheme) {
      error = p.message;
      return nullptr;
    }
  error = "unsupported database URL scheme '" + scheme +
          "://'; use sqlite:///relative/path or sqlite:////absolute/path";
  return nullptr;
}

std::unique_ptr<Storage> open_storage(const LedgerSettings& s) { return backend_or_throw(s).open(s); }

std::shared_ptr<KeyRepository> open_key_repository(const LedgerSettings& s) { return backend_or_throw(s).open_keys(s); }

std::shared_ptr<ModelRepository> open_model_repository(const LedgerSettings& s) {
  return backend_or_throw(s).open_models(s);
}

}  // namespace llmgate
