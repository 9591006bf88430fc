#include "data/jsonl_dataset.h"

#include <algorithm>
#include <fstream>

#include "common/error.h"
#include "tokenizer/chat_template.h"

namespace cipherlora {
namespace {

const std::string& string_field(const nlohmann::json& r, const char* key) {
  const nlohmann::json& v = r.at(key);
  require(v.is_string(), std::string("field \"") + key + "\" must be a string");
  return v.get_ref<const std::string&>();
}

// Tokens of `text` with their byte spans; target where the token's span overlaps a target span.
Example encode_spans(const BpeTokenizer& tok, const std::string& text,
                     const std::vector<std::pair<size_t, size_t>>& target_spans) {
  Example ex;
  std::vector<std::pair<size_t, size_t>> offsets;
  ex.tokens = tok.encode_with_offsets(text, &offsets);
  ex.is_target.assign(ex.tokens.size(), 0);
  for (size_t i = 0; i < ex.tokens.size(); ++i)
    for (const auto& [a, b] : target_spans)
      if (offsets[i].first < b && offsets[i].second > a) ex.is_target[i] = 1;
  return ex;
}

void append_eos(Example& ex, const BpeTokenizer& tok) {
  require(tok.eos_id() >= 0, "the tokenizer has no EOS token to end examples with");
  if (!ex.tokens.empty() && ex.tokens.back() == tok.eos_id()) {
    ex.is_target.back() = 1;
    return;
  }
  ex.tokens.push_back(tok.eos_id());
  ex.is_target.push_back(1);
}

}  // namespace

int64_t Example::n_targets(int64_t max_len) const {
  const int64_t n = std::min<int64_t>(max_len, static_cast<int64_t>(tokens.size()));
  int64_t count = 0;
  for (int64_t i = 1; i < n; ++i) count += is_target[i];
  return count;
}

Example encode_record(const nlohmann::json& r, const BpeTokenizer& tok, const DatasetOptions& opt) {
  require(r.is_object(), "expected a JSON object");
  Example ex;
  if (r.contains("messages")) {
    const nlohmann::json& msgs = r["messages"];
    require(msgs.is_array() && !msgs.empty(), "\"messages\" must be a non-empty array");
    std::vector<ChatMessage> chat;
    for (const nlohmann::json& m : msgs) {
      require(m.is_object() && m.contains("role") && m.contains("content"),
              "each message needs \"role\" and \"content\"");
      ChatMessage cm{string_field(m, "role"), string_field(m, "content")};
      require(cm.role == "system" || cm.role == "user" || cm.role == "assistant",
              "unknown message role '" + cm.role + "' (expected system, user or assistant)");
      chat.push_back(std::move(cm));
    }
    RenderedChat rc = render_chatml(chat, /*add_generation_prompt=*/false, opt.default_system);
    // An assistant turn's target: its content and the <|im_end|> that closes it.
    static const std::string kEnd = "<|im_end|>";
    std::vector<std::pair<size_t, size_t>> spans;
    for (size_t i = 0; i < chat.size(); ++i)
      if (chat[i].role == "assistant")
        spans.push_back({rc.content_spans[i].first, rc.content_spans[i].second + kEnd.size()});
    require(!spans.empty(), "the conversation has no assistant turn to train on");
    ex = encode_spans(tok, rc.text, spans);
  } else if (r.contains("prompt") || r.contains("completion")) {
    require(r.contains("prompt") && r.contains("completion"),
            "a prompt/completion record needs both \"prompt\" and \"completion\"");
    const std::string& prompt = string_field(r, "prompt");
    const std::string text = prompt + string_field(r, "completion");
    ex = encode_spans(tok, text, {{prompt.size(), text.size()}});
    if (opt.append_eos) append_eos(ex, tok);
  } else if (r.contains("text")) {
    const std::string& text = string_field(r, "text");
    ex = encode_spans(tok, text, {{0, text.size()}});
    if (opt.append_eos) append_eos(ex, tok);
  } else {
    throw Error("expected a \"text\", \"prompt\"+\"completion\" or \"messages\" record");
  }
  require(ex.tokens.size() >= 2 && ex.n_targets(static_cast<int64_t>(ex.tokens.size())) > 0,
          "the record has no tokens to predict");
  return ex;
}

std::vector<Example> load_jsonl(const std::string& path, const BpeTokenizer& tok,
                                const DatasetOptions& opt) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "data file " + path + ": cannot open");
  std::vector<Example> out;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    require(!record.is_discarded(), path + " line " + std::to_string(n) + ": not valid JSON");
    try {
      out.push_back(encode_record(record, tok, opt));
    } catch (const Error& e) {
      throw Error(path + " line " + std::to_string(n) + ": " + e.what());
    }
    out.back().line = n;
  }
  require(!in.bad(), "data file " + path + ": read error");
  require(!out.empty(), "data file " + path + " holds no examples");
  return out;
}

TokenBatch make_batch(const std::vector<const Example*>& examples, int64_t max_len,
                      int32_t pad_id) {
  require(!examples.empty() && max_len >= 2, "make_batch: no examples or max_len < 2");
  TokenBatch b;
  b.B = static_cast<int64_t>(examples.size());
  for (const Example* e : examples)
    b.T = std::max(b.T, std::min<int64_t>(max_len, static_cast<int64_t>(e->tokens.size())));
  b.tokens.assign(b.B * b.T, pad_id < 0 ? 0 : pad_id);
  b.targets.assign(b.B * b.T, kIgnoreTarget);
  for (int64_t i = 0; i < b.B; ++i) {
    const Example& e = *examples[i];
    const int64_t n = std::min<int64_t>(b.T, static_cast<int64_t>(e.tokens.size()));
    std::copy(e.tokens.begin(), e.tokens.begin() + n, b.tokens.begin() + i * b.T);
    for (int64_t t = 0; t + 1 < n; ++t)
      if (e.is_target[t + 1]) b.targets[i * b.T + t] = e.tokens[t + 1];
  }
  return b;
}

}  // namespace cipherlora
