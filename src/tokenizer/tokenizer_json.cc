#include "tokenizer/tokenizer_json.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "tokenizer/pretokenizer.h"

namespace cipherlora {
namespace {

using nlohmann::json;

json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot open " + path);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
}

std::string type_of(const json& j) {
  return j.is_object() ? j.value("type", "") : "";
}

// ByteLevel pre-tokenizer with add_prefix_space off and the given use_regex.
bool is_byte_level(const json& j, bool use_regex) {
  return type_of(j) == "ByteLevel" && !j.value("add_prefix_space", false) &&
         j.value("use_regex", true) == use_regex;
}

// Fills spec.pre / spec.pre_pattern from the pre_tokenizer object.
void read_pre_tokenizer(const json& pre, const std::string& path, TokenizerSpec* spec) {
  const auto unsupported = [&]() {
    return Error(path + ": pre_tokenizer " + pre.dump().substr(0, 200) +
                 " is not supported (expected ByteLevel, Digits + ByteLevel, or a regex Split + "
                 "ByteLevel, without add_prefix_space)");
  };
  if (is_byte_level(pre, true)) {
    spec->pre = "gpt2";
    return;
  }
  if (type_of(pre) != "Sequence" || !pre.contains("pretokenizers")) throw unsupported();
  const json& seq = pre["pretokenizers"];
  if (seq.size() != 2) throw unsupported();
  if (type_of(seq[0]) == "Digits" && seq[0].value("individual_digits", false) &&
      is_byte_level(seq[1], true)) {
    spec->pre = "smollm";
    return;
  }
  const json& split = seq[0];
  if (type_of(split) == "Split" && split.contains("pattern") && split["pattern"].is_object() &&
      split["pattern"].contains("Regex") && split.value("behavior", "") == "Isolated" &&
      !split.value("invert", false) && is_byte_level(seq[1], false)) {
    const std::string pattern = split["pattern"]["Regex"].get<std::string>();
    if (pattern == llama3_split_pattern()) {
      spec->pre = "llama3";
    } else {
      spec->pre = "regex";
      spec->pre_pattern = pattern;
    }
    return;
  }
  throw unsupported();
}

// A token named in tokenizer_config.json: a string, {"content": ...}, or null.
std::string config_token(const json& config, const char* key) {
  if (!config.contains(key)) return "";
  const json& t = config[key];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content")) return t["content"].get<std::string>();
  return "";
}

int32_t id_of(const TokenizerSpec& spec, const std::string& token) {
  if (token.empty()) return -1;
  for (size_t i = 0; i < spec.tokens.size(); ++i) {
    if (spec.tokens[i] == token) return int32_t(i);
  }
  return -1;
}

}  // namespace

TokenizerSpec spec_from_tokenizer_json(const std::string& path) {
  const json j = read_json(path);
  require(j.is_object() && j.contains("model") && j["model"].is_object(),
          path + ": no \"model\" object");
  const json& model = j["model"];
  const std::string model_type = model.value("type", "");
  require(model_type == "BPE" || (model_type.empty() && model.contains("merges")),
          path + ": model type '" + model_type + "' is not supported (only byte-level BPE)");
  require(!model.value("byte_fallback", false),
          path + ": BPE with byte_fallback (SentencePiece style) is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    require(!model.contains(key) || model[key].is_null() || model[key] == "",
            path + ": BPE " + key + " is not supported");
  }
  require(!j.contains("normalizer") || j["normalizer"].is_null(),
          path + ": normalizer " + (j.contains("normalizer") ? j["normalizer"].dump() : "") +
              " is not supported");
  require(model.contains("vocab") && model["vocab"].is_object(), path + ": model has no vocab");

  TokenizerSpec spec;
  spec.ignore_merges = model.value("ignore_merges", false);

  // Vocab and added tokens by id; ids no entry names stay as unused placeholders.
  std::vector<std::pair<int64_t, std::string>> entries;
  for (const auto& [token, id] : model["vocab"].items())
    entries.emplace_back(id.get<int64_t>(), token);
  struct Added {
    int64_t id;
    std::string content;
    bool special;
  };
  std::vector<Added> added;
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const json& t : j["added_tokens"]) {
      added.push_back({t.at("id").get<int64_t>(), t.at("content").get<std::string>(),
                       t.value("special", false)});
    }
  }
  int64_t max_id = -1;
  for (const auto& e : entries) max_id = std::max(max_id, e.first);
  for (const Added& a : added) max_id = std::max(max_id, a.id);
  require(max_id >= 0 && max_id < (int64_t(1) << 30), path + ": vocabulary ids out of range");
  for (const auto& e : entries) require(e.first >= 0, path + ": negative token id");
  spec.tokens.assign(size_t(max_id + 1), "");
  spec.token_types.assign(size_t(max_id + 1), kTokenUnused);
  for (const auto& [id, token] : entries) {
    spec.tokens[id] = token;
    spec.token_types[id] = kTokenNormal;
  }
  for (const Added& a : added) {
    require(a.id >= 0 && !a.content.empty(), path + ": bad added token");
    spec.tokens[a.id] = a.content;
    spec.token_types[a.id] = a.special ? kTokenControl : kTokenUserDefined;
    spec.special_tokens.push_back(a.content);
  }
  for (size_t i = 0; i < spec.tokens.size(); ++i) {
    if (spec.token_types[i] == kTokenUnused) spec.tokens[i] = "<unused_" + std::to_string(i) + ">";
  }

  if (model.contains("merges")) {
    for (const json& m : model["merges"]) {
      if (m.is_string()) {
        spec.merges.push_back(m.get<std::string>());
      } else {
        require(m.is_array() && m.size() == 2, path + ": a merge is neither \"a b\" nor [a, b]");
        spec.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      }
    }
  }

  require(j.contains("pre_tokenizer") && !j["pre_tokenizer"].is_null(),
          path + ": no pre_tokenizer (a byte-level BPE needs ByteLevel)");
  read_pre_tokenizer(j["pre_tokenizer"], path, &spec);

  // BOS from a TemplateProcessing post-processor that starts with a special token (Llama 3).
  bool template_bos = false;
  if (j.contains("post_processor") && type_of(j["post_processor"]) == "TemplateProcessing") {
    const json& single = j["post_processor"].value("single", json::array());
    if (!single.empty() && single[0].contains("SpecialToken")) {
      const int32_t id = id_of(spec, single[0]["SpecialToken"].value("id", ""));
      if (id >= 0) {
        template_bos = true;
        spec.bos_id = id;
      }
    }
  }
  spec.add_bos = template_bos;

  const std::filesystem::path config_path =
      std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    const json config = read_json(config_path.string());
    const auto set_id = [&](const char* key, int32_t* id) {
      const std::string token = config_token(config, key);
      if (token.empty()) return;
      *id = id_of(spec, token);
      require(*id >= 0,
              config_path.string() + ": " + key + " '" + token + "' is not in the vocabulary");
    };
    set_id("bos_token", &spec.bos_id);
    set_id("eos_token", &spec.eos_id);
    set_id("unk_token", &spec.unk_id);
    set_id("pad_token", &spec.pad_id);
    if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) {
      spec.add_bos = config["add_bos_token"].get<bool>();  // the config wins over the template
    }
    if (config.contains("chat_template")) {
      const json& t = config["chat_template"];
      if (t.is_string()) {
        spec.chat_template = t.get<std::string>();
      } else if (t.is_array()) {  // named templates: take "default"
        for (const json& named : t) {
          if (named.value("name", "") == "default")
            spec.chat_template = named.value("template", "");
        }
      }
    }
  }
  // transformers 5 saves the template in a file of its own.
  const std::filesystem::path jinja_path =
      std::filesystem::path(path).parent_path() / "chat_template.jinja";
  if (spec.chat_template.empty() && std::filesystem::exists(jinja_path)) {
    std::ifstream in(jinja_path, std::ios::binary);
    spec.chat_template.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return spec;
}

}  // namespace cipherlora
