// Runtime models: /model/info, /model/new, /model/update, /model/delete through the route
// handlers, validated by the config loader, persisted in the database and merged into the
// config snapshot; credentials never come back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>

#include "llmgate/app.hpp"
#include "llmgate/model_store.hpp"

namespace llmgate {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kFileSecret = "sk-file-secret-123456";
constexpr const char* kRuntimeSecret = "sk-runtime-secret-abcdef";
constexpr const char* kNewSecret = "sk-rotated-secret-zyxwvu";

constexpr const char* kConfig = R"yaml(
general_settings:
  store_model_in_db: true
llmgate_settings:
  upstream_allowlist: [10.0.0.0/8]
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:9/v1
      api_key: sk-file-secret-123456
    model_info:
      id: file-gpt4o
  - model_name: fake
    litellm_params:
      model: mock/fake
)yaml";

class ModelAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("llmgate-models-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    file_config_ = load_config_string(kConfig, "config.yaml");
    file_config_.ledger.database_path = (dir_ / "llmgate.db").string();
    app_.set_config(merge_db_models(file_config_, file_config_.ledger.database_path));
    register_model_routes(routes_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  HttpResponse call(const std::string& method, const std::string& target, const std::string& body) {
    HttpRequest req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = parse_query(std::string_view(target).substr(q + 1));
    req.body = body;
    for (auto& r : routes_)
      if (r.method == method && r.path == req.path) {
        EXPECT_TRUE(r.needs_master_key);
        HttpResponse resp = r.handler(req, app_);
        for (const char* s : {kFileSecret, kRuntimeSecret, kNewSecret})
          EXPECT_EQ(resp.body.find(s), std::string::npos) << target << " leaks a credential";
        return resp;
      }
    ADD_FAILURE() << "no route " << method << " " << req.path;
    return {};
  }
  json call_json(const std::string& method, const std::string& target, const json& body, int expect_status = 200) {
    HttpResponse r = call(method, target, body.is_null() ? std::string() : body.dump());
    EXPECT_EQ(r.status, expect_status) << target << " -> " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  std::string error_message(const json& j) { return j["error"]["message"].get<std::string>(); }
  const Deployment* deployment(const std::string& id) {
    snapshot_ = app_.config();
    for (const auto& d : snapshot_->deployments)
      if (d.id == id) return &d;
    return nullptr;
  }
  json new_llama() {
    return {{"model_name", "llama"},
            {"litellm_params",
             {{"model", "hosted_vllm/llama-3.1-8b"},
              {"api_base", "http://10.0.0.5:8000/v1/"},
              {"api_key", kRuntimeSecret},
              {"rpm", 60}}},
            {"model_info", {{"id", "llama-1"}, {"team", "research"}}}};
  }

  fs::path dir_;
  Config file_config_;
  std::shared_ptr<const Config> snapshot_;
  std::vector<Route> routes_;
  App app_;
};

TEST_F(ModelAdminTest, InfoListsFileModelsWithoutCredentials) {
  for (const char* path : {"/model/info", "/v2/model/info"}) {
    json j = call_json("GET", path, nullptr);
    ASSERT_EQ(j["data"].size(), 2u);
    const json& m = j["data"][0];
    EXPECT_EQ(m["model_name"], "gpt-4o");
    EXPECT_EQ(m["litellm_params"]["model"], "openai/gpt-4o");
    EXPECT_EQ(m["litellm_params"]["api_base"], "http://127.0.0.1:9/v1");
    EXPECT_EQ(m["litellm_params"]["api_key"], "****");
    EXPECT_EQ(m["model_info"]["id"], "file-gpt4o");
    EXPECT_EQ(m["model_info"]["db_model"], false);
    EXPECT_EQ(j["data"][1]["litellm_params"]["model"], "mock/fake");
    EXPECT_FALSE(j["data"][1]["litellm_params"].contains("api_key"));
  }
  json one = call_json("GET", "/model/info?litellm_model_id=file-gpt4o", nullptr);
  ASSERT_EQ(one["data"].size(), 1u);
}

TEST_F(ModelAdminTest, NewModelIsValidatedStoredAndPublished) {
  json r = call_json("POST", "/model/new", new_llama());
  EXPECT_EQ(r["model_name"], "llama");
  EXPECT_EQ(r["litellm_params"]["api_key"], "****");
  EXPECT_EQ(r["litellm_params"]["api_base"], "http://10.0.0.5:8000/v1");
  EXPECT_EQ(r["model_info"]["id"], "llama-1");
  EXPECT_EQ(r["model_info"]["db_model"], true);
  EXPECT_EQ(r["model_info"]["team"], "research");

  // Workers see it on their next request: the snapshot now routes "llama".
  auto cfg = app_.config();
  auto ds = cfg->find("llama");
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0]->provider, ProviderKind::hosted_vllm);
  EXPECT_EQ(ds[0]->upstream_model, "llama-3.1-8b");
  EXPECT_EQ(ds[0]->url.host, "10.0.0.5");
  EXPECT_EQ(ds[0]->api_key.reveal(), kRuntimeSecret);
  EXPECT_EQ(ds[0]->rpm, 60);
  EXPECT_EQ(cfg->find("gpt-4o").size(), 1u);  // file models untouched

  json info = call_json("GET", "/model/info", nullptr);
  ASSERT_EQ(info["data"].size(), 3u);
  EXPECT_EQ(info["data"][2]["model_info"]["db_model"], true);

  // Without model_info.id the gateway assigns a UUID.
  json body = new_llama();
  body.erase("model_info");
  json r2 = call_json("POST", "/model/new", body);
  const std::string id = r2["model_info"]["id"];
  EXPECT_EQ(id.size(), 36u);
  EXPECT_NE(deployment(id), nullptr);
  EXPECT_EQ(app_.config()->find("llama").size(), 2u);
}

TEST_F(ModelAdminTest, CredentialInModelInfoIsShownMasked) {
  // model_info is returned as given, so a key put there by mistake is masked (call() checks
  // that no answer holds it) and the answer's warnings name it.
  json b = new_llama();
  b["model_info"]["api_key"] = kNewSecret;
  json r = call_json("POST", "/model/new", b);
  EXPECT_EQ(r["model_info"]["api_key"].get<std::string>().substr(4), "****");
  EXPECT_EQ(r["model_info"]["team"], "research");
  ASSERT_EQ(r["warnings"].size(), 1u) << r["warnings"];
  EXPECT_NE(r["warnings"][0].get<std::string>().find("model_info.api_key: looks like a credential"), std::string::npos)
      << r["warnings"];
  json info = call_json("GET", "/model/info?litellm_model_id=llama-1", nullptr);
  ASSERT_EQ(info["data"].size(), 1u);
  EXPECT_EQ(info["data"][0]["model_info"]["api_key"], r["model_info"]["api_key"]);
}

TEST_F(ModelAdminTest, NewModelRejectsWhatTheConfigFileWouldReject) {
  auto expect_rejected = [&](json body, const std::string& needle) {
    json e = call_json("POST", "/model/new", body, 400);
    EXPECT_NE(error_message(e).find(needle), std::string::npos) << error_message(e);
    EXPECT_EQ(app_.config()->deployments.size(), 2u);  // nothing published
  };
  json b = new_llama();
  b["litellm_params"]["api_base"] = "ftp://10.0.0.5/v1";
  expect_rejected(b, "api_base");
  b = new_llama();
  b["litellm_params"].erase("api_base");
  expect_rejected(b, "api_base");  // hosted_vllm needs one
  b = new_llama();
  b["litellm_params"]["model"] = "bedrock/claude";
  expect_rejected(b, "not supported");
  b = new_llama();
  b["litellm_params"]["timeout"] = -5;
  expect_rejected(b, "timeout");
  b = new_llama();
  b["litellm_params"]["api_base"] = "os.environ/HOME";
  expect_rejected(b, "environment");
  b = new_llama();
  b["litellm_params"]["mock_response"] = "${HOME}";
  expect_rejected(b, "environment");
  b = new_llama();
  b.erase("model_name");
  expect_rejected(b, "model_name");
  b = new_llama();
  b["litellm_params"] = "openai/gpt-4o";
  expect_rejected(b, "litellm_params");
  b = new_llama();
  b["model_info"]["id"] = "file-gpt4o";
  expect_rejected(b, "already exists");
  EXPECT_EQ(call("POST", "/model/new", "not json").status, 400);

  call_json("POST", "/model/new", new_llama());
  json e = call_json("POST", "/model/new", new_llama(), 400);  // same id twice
  EXPECT_NE(error_message(e).find("already exists"), std::string::npos);
}

TEST_F(ModelAdminTest, UpdateMergesParamsAndKeepsWriteOnlyCredentials) {
  call_json("POST", "/model/new", new_llama());
  // What /model/info shows ("****") sent back means: keep the stored key.
  json u = call_json(
      "POST", "/model/update",
      {{"model_info", {{"id", "llama-1"}}},
       {"litellm_params", {{"api_base", "https://vllm.internal:8443/v1"}, {"api_key", "****"}, {"rpm", nullptr}}}});
  EXPECT_EQ(u["litellm_params"]["api_base"], "https://vllm.internal:8443/v1");
  const Deployment* d = deployment("llama-1");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->url.host, "vllm.internal");
  EXPECT_TRUE(d->url.tls);
  EXPECT_EQ(d->api_key.reveal(), kRuntimeSecret);
  EXPECT_EQ(d->rpm, 0);  // null removed it
  EXPECT_EQ(d->model_info.value("team", ""), "research");

  // A new credential replaces the old one; renaming moves the deployment to another alias.
  call_json("POST", "/model/update",
            {{"model_name", "llama-big"},
             {"litellm_params", {{"api_key", kNewSecret}}},
             {"model_info", {{"id", "llama-1"}, {"team", nullptr}}}});
  d = deployment("llama-1");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->model_name, "llama-big");
  EXPECT_EQ(d->api_key.reveal(), kNewSecret);
  EXPECT_FALSE(d->model_info.contains("team"));
  EXPECT_TRUE(app_.config()->find("llama").empty());

  // An invalid update changes nothing.
  json e = call_json("POST", "/model/update",
                     {{"model_info", {{"id", "llama-1"}}}, {"litellm_params", {{"api_base", "not a url"}}}}, 400);
  EXPECT_NE(error_message(e).find("api_base"), std::string::npos);
  EXPECT_EQ(deployment("llama-1")->url.host, "vllm.internal");
  e = call_json("POST", "/model/update",
                {{"model_info", {{"id", "llama-1"}}}, {"litellm_params", {{"api_base", "os.environ/HOME"}}}}, 400);

  // Config-file models are read-only here; unknown ids are 404.
  e = call_json("POST", "/model/update", {{"model_info", {{"id", "file-gpt4o"}}}, {"litellm_params", {{"rpm", 5}}}},
                400);
  EXPECT_NE(error_message(e).find("config file"), std::string::npos);
  call_json("POST", "/model/update", {{"model_info", {{"id", "nope"}}}}, 404);
  call_json("POST", "/model/update", {{"litellm_params", {{"rpm", 5}}}}, 400);
}

TEST_F(ModelAdminTest, DeleteRemovesRuntimeModelsOnly) {
  call_json("POST", "/model/new", new_llama());
  json e = call_json("POST", "/model/delete", {{"id", "file-gpt4o"}}, 400);
  EXPECT_NE(error_message(e).find("config file"), std::string::npos);
  EXPECT_NE(deployment("file-gpt4o"), nullptr);
  call_json("POST", "/model/delete", {{"id", "missing"}}, 404);
  call_json("POST", "/model/delete", json::object(), 400);

  json d = call_json("POST", "/model/delete", {{"id", "llama-1"}});
  EXPECT_NE(d["message"].get<std::string>().find("llama-1"), std::string::npos);
  EXPECT_EQ(deployment("llama-1"), nullptr);
  EXPECT_TRUE(app_.config()->find("llama").empty());
  // And it stays deleted after a restart.
  auto fresh = merge_db_models(file_config_, file_config_.ledger.database_path);
  EXPECT_TRUE(fresh->find("llama").empty());
}

TEST_F(ModelAdminTest, RuntimeModelsSurviveRestart) {
  call_json("POST", "/model/new", new_llama());
  call_json("POST", "/model/update", {{"model_info", {{"id", "llama-1"}}}, {"litellm_params", {{"rpm", 99}}}});
  // A restart: the file config is loaded again and the stored models are merged in.
  Config reloaded = load_config_string(kConfig, "config.yaml");
  reloaded.ledger.database_path = file_config_.ledger.database_path;
  auto cfg = merge_db_models(reloaded, reloaded.ledger.database_path);
  ASSERT_EQ(cfg->deployments.size(), 3u);
  const Deployment& d = cfg->deployments[2];
  EXPECT_EQ(d.id, "llama-1");
  EXPECT_EQ(d.rpm, 99);
  EXPECT_EQ(d.api_key.reveal(), kRuntimeSecret);
  EXPECT_EQ(d.model_info["db_model"], true);
  // Merging the merged snapshot again does not duplicate anything.
  auto again = merge_db_models(*cfg, reloaded.ledger.database_path);
  EXPECT_EQ(again->deployments.size(), 3u);
}

TEST_F(ModelAdminTest, BrokenStoredRowIsSkippedWithAWarning) {
  call_json("POST", "/model/new", new_llama());
  {
    SQLite::Database db(file_config_.ledger.database_path, SQLite::OPEN_READWRITE);
    db.exec(
        "INSERT INTO llmgate_models (id, model_name, body, created_us, updated_us) VALUES "
        "('bad', 'x', '{\"model_name\":\"x\",\"litellm_params\":{\"model\":\"hosted_vllm/x\","
        "\"api_base\":\"http://h/v1\",\"api_key\":\"os.environ/LLMGATE_TEST_UNSET_VAR\"},"
        "\"model_info\":{\"id\":\"bad\"}}', 9e18, 9e18)");
  }
  ::unsetenv("LLMGATE_TEST_UNSET_VAR");
  auto cfg = merge_db_models(file_config_, file_config_.ledger.database_path);
  EXPECT_EQ(cfg->deployments.size(), 3u);  // file models + llama-1, not "bad"
  bool warned = false;
  for (const auto& w : cfg->warnings)
    warned = warned || (w.find("'bad'") != std::string::npos && w.find("LLMGATE_TEST_UNSET_VAR") != std::string::npos);
  EXPECT_TRUE(warned);
}

TEST_F(ModelAdminTest, InternalApiBasesAreRefusedUnlessAllowlisted) {
  // The fixture's config allowlists 10.0.0.0/8 only.
  for (const char* base : {"http://169.254.169.254/v1", "http://[fd00:ec2::254]/v1", "http://127.1/v1",
                           "http://0x7f000001/v1", "http://2130706433/v1", "http://[::ffff:127.0.0.1]/v1",
                           "http://localhost:11434", "http://192.168.1.5/v1", "http://0.0.0.0/v1"}) {
    json b = new_llama();
    b["litellm_params"]["api_base"] = base;
    json e = call_json("POST", "/model/new", b, 400);
    EXPECT_EQ(e["error"]["type"], "invalid_request_error") << base;
    EXPECT_EQ(e["error"]["param"], "litellm_params.api_base") << base;
    EXPECT_NE(error_message(e).find("upstream_allowlist"), std::string::npos) << error_message(e);
    EXPECT_EQ(app_.config()->deployments.size(), 2u) << base;  // nothing published
  }
  // Ollama's default api_base is localhost.
  call_json("POST", "/model/new", {{"model_name", "o"}, {"litellm_params", {{"model", "ollama/llama3"}}}}, 400);

  call_json("POST", "/model/new", new_llama());  // 10.0.0.5: allowlisted
  const Deployment* d = deployment("llama-1");
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->from_api);
  EXPECT_EQ(d->upstream_allowlist, app_.config()->server.upstream_allowlist);
  EXPECT_FALSE(deployment("file-gpt4o")->from_api);
  json e = call_json("POST", "/model/update",
                     {{"model_info", {{"id", "llama-1"}}}, {"litellm_params", {{"api_base", "http://127.1/v1"}}}}, 400);
  EXPECT_EQ(e["error"]["param"], "litellm_params.api_base");
  EXPECT_EQ(deployment("llama-1")->url.host, "10.0.0.5");

  // A stored row the policy refuses (written before it, or allowlisted then) still loads, with a
  // warning: its connections are refused.
  {
    SQLite::Database db(file_config_.ledger.database_path, SQLite::OPEN_READWRITE);
    db.exec(
        "INSERT INTO llmgate_models (id, model_name, body, created_us, updated_us) VALUES "
        "('old', 'old', '{\"model_name\":\"old\",\"litellm_params\":{\"model\":\"openai/x\","
        "\"api_base\":\"http://169.254.169.254/v1\"},\"model_info\":{\"id\":\"old\"}}', 9e18, 9e18)");
  }
  auto cfg = merge_db_models(file_config_, file_config_.ledger.database_path);
  bool warned = false;
  for (const auto& w : cfg->warnings) warned = warned || w.find("cloud metadata") != std::string::npos;
  EXPECT_TRUE(warned);
  ASSERT_EQ(cfg->find("old").size(), 1u);
  EXPECT_TRUE(cfg->find("old")[0]->from_api);
}

TEST_F(ModelAdminTest, AzureNamesInTheUrlAreValidated) {
  json b = {{"model_name", "az"},
            {"litellm_params", {{"model", "azure/#@evil/"}, {"api_base", "https://x.openai.azure.com"}}}};
  for (const char* name :
       {"azure/#@evil/", "azure/a#b", "azure/a@b", "azure/a/b", "azure/a?b", "azure/..", "azure/a..b"}) {
    b["litellm_params"]["model"] = name;
    json e = call_json("POST", "/model/new", b, 400);
    EXPECT_NE(error_message(e).find("litellm_params.model"), std::string::npos) << error_message(e);
  }
  b["litellm_params"]["model"] = "azure/gpt-4o_prod.2";
  b["litellm_params"]["api_version"] = "2024-10-21?x=#";
  json e = call_json("POST", "/model/new", b, 400);
  EXPECT_NE(error_message(e).find("api_version"), std::string::npos) << error_message(e);
  b["litellm_params"]["api_version"] = "2024-10-21";
  call_json("POST", "/model/new", b);
}

TEST_F(ModelAdminTest, CredentialMayComeFromTheEnvironment) {
  ::setenv("LLMGATE_TEST_MODEL_KEY", kNewSecret, 1);
  json b = new_llama();
  b["litellm_params"]["api_key"] = "os.environ/LLMGATE_TEST_MODEL_KEY";
  call_json("POST", "/model/new", b);
  EXPECT_EQ(deployment("llama-1")->api_key.reveal(), kNewSecret);
  ::unsetenv("LLMGATE_TEST_MODEL_KEY");
}

TEST_F(ModelAdminTest, RuntimeModelsNeedStoreModelInDb) {
  call_json("POST", "/model/new", new_llama());
  Config off = file_config_;
  off.store_model_in_db = false;
  // Stored models are not loaded, and the operator is told why.
  auto cfg = merge_db_models(off, off.ledger.database_path);
  EXPECT_TRUE(cfg->find("llama").empty());
  bool warned = false;
  for (const auto& w : cfg->warnings) warned = warned || w.find("store_model_in_db") != std::string::npos;
  EXPECT_TRUE(warned);
  // The change endpoints refuse with a message naming the setting; /model/info still works.
  app_.set_config(cfg);
  for (const auto& [path, body] :
       std::vector<std::pair<std::string, json>>{{"/model/new", new_llama()},
                                                 {"/model/update", {{"model_info", {{"id", "llama-1"}}}}},
                                                 {"/model/delete", {{"id", "llama-1"}}}}) {
    json e = call_json("POST", path, body, 400);
    EXPECT_NE(error_message(e).find("store_model_in_db"), std::string::npos) << path;
  }
  EXPECT_EQ(call_json("GET", "/model/info", nullptr)["data"].size(), 2u);
}

}  // namespace
}  // namespace llmgate
