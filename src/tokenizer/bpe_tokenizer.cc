#include "tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <mutex>

#include "common/error.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/utf8.h"

namespace cipherlora {
namespace {

// Pre-tokens up to this many bytes are cached; longer ones are rare and cheap to recompute.
constexpr size_t kMaxCachedWordBytes = 64;
// The cache is cleared when it holds this many words: bounded memory, simple, and text repeats
// its common words often enough that they are back within a few thousand words.
constexpr size_t kMaxCachedWords = 32768;

uint64_t pair_key(int32_t left, int32_t right) {
  return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
}

// What a normal token's string stands for: its characters mapped back through the byte map. As
// HF's ByteLevel decoder does, a token with any character outside the map is taken literally.
std::string byte_decode(const std::string& token) {
  std::string bytes;
  size_t pos = 0;
  while (pos < token.size()) {
    const int b = unicode_to_byte(utf8_decode(token, &pos));
    if (b < 0) return token;
    bytes += static_cast<char>(b);
  }
  return bytes;
}

// Split regex and digit rule for a pre-tokenizer name (see TokenizerSpec::pre).
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const TokenizerSpec& spec) {
  const std::string& pre = spec.pre;
  if (pre == "smollm") return std::make_unique<PreTokenizer>(gpt2_split_pattern(), true);
  if (pre == "gpt2" || pre == "gpt-2") {
    return std::make_unique<PreTokenizer>(gpt2_split_pattern(), false);
  }
  if (pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3") {
    return std::make_unique<PreTokenizer>(llama3_split_pattern(), false);
  }
  if (pre == "regex") {
    require(!spec.pre_pattern.empty(), "tokenizer: pre-tokenizer 'regex' needs a pattern");
    return std::make_unique<PreTokenizer>(spec.pre_pattern, false);
  }
  throw Error("tokenizer: unsupported pre-tokenizer '" + pre +
              "' (supported: smollm, gpt2, llama3, regex)");
}

}  // namespace

struct BpeTokenizer::WordCache {
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<WordToken>, StringHash, std::equal_to<>> words;
};

struct BpeTokenizer::Scratch {
  struct Symbol {
    int32_t id;
    int32_t prev, next;  // neighbours in the word, -1 at the ends
    uint32_t begin;      // first byte in the word
    uint32_t len;        // bytes covered; 0 once merged into its left neighbour
  };
  struct Candidate {  // a pair (symbol at pos, its next) that a merge applies to
    int32_t rank;
    int32_t pos;
    int32_t result;
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> queue;  // binary min-heap on (rank, pos)
  std::vector<ByteRange> pieces;
  std::vector<WordToken> word_tokens;
  std::string spelled;
};

BpeTokenizer::BpeTokenizer(TokenizerSpec spec) {
  const size_t n = spec.tokens.size();
  require(n > 0, "tokenizer: the vocabulary is empty");
  require(n < size_t(INT32_MAX), "tokenizer: the vocabulary is too large");
  require(spec.token_types.empty() || spec.token_types.size() == n,
          "tokenizer: " + std::to_string(spec.token_types.size()) + " token types for " +
              std::to_string(n) + " tokens");
  const auto check_id = [n](int32_t id, const char* what) {
    require(id >= -1 && id < int32_t(n), std::string("tokenizer: ") + what + " id " +
                                             std::to_string(id) + " is outside the vocabulary");
  };
  check_id(spec.bos_id, "BOS");
  check_id(spec.eos_id, "EOS");
  check_id(spec.unk_id, "UNK");
  check_id(spec.pad_id, "PAD");
  require(!spec.add_bos || spec.bos_id >= 0, "tokenizer: add_bos is set but there is no BOS id");
  bos_id_ = spec.bos_id;
  eos_id_ = spec.eos_id;
  unk_id_ = spec.unk_id;
  pad_id_ = spec.pad_id;
  add_bos_ = spec.add_bos;
  ignore_merges_ = spec.ignore_merges;

  // A string listed twice maps to its last id, as HF's vocab dict does.
  token_to_id_.reserve(n);
  for (size_t i = 0; i < n; ++i) token_to_id_[spec.tokens[i]] = int32_t(i);

  std::vector<uint8_t> literal(n, 0);
  control_.assign(n, 0);
  for (size_t i = 0; i < spec.token_types.size(); ++i) {
    const int32_t type = spec.token_types[i];
    literal[i] = type == kTokenControl || type == kTokenUserDefined;
    control_[i] = type == kTokenControl;
  }
  for (const std::string& special : spec.special_tokens) {
    require(!special.empty(), "tokenizer: empty special token");
    const auto it = token_to_id_.find(special);
    require(it != token_to_id_.end(),
            "tokenizer: special token '" + special + "' is not in the vocabulary");
    if (std::find(special_tokens_.begin(), special_tokens_.end(), special) !=
        special_tokens_.end()) {
      continue;
    }
    special_tokens_.push_back(special);
    special_ids_.push_back(it->second);
    special_first_byte_[static_cast<unsigned char>(special[0])] = true;
    literal[it->second] = 1;
    if (spec.token_types.empty()) control_[it->second] = 1;
  }

  pieces_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    pieces_[i] = literal[i] ? spec.tokens[i] : byte_decode(spec.tokens[i]);
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = token_to_id_.find(byte_to_unicode(static_cast<unsigned char>(b)));
    byte_token_[b] = it != token_to_id_.end() ? it->second : -1;
  }

  merges_.reserve(spec.merges.size());
  std::string merged;
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const std::string_view m = spec.merges[rank];
    const size_t space = m.find(' ', 1);
    require(space != std::string::npos && space + 1 < m.size() &&
                m.find(' ', space + 1) == std::string::npos,
            "tokenizer: merge " + std::to_string(rank) + " '" + std::string(m) +
                "' is not 'left right'");
    const std::string_view left = m.substr(0, space), right = m.substr(space + 1);
    merged.assign(left);
    merged += right;
    const auto l = token_to_id_.find(left), r = token_to_id_.find(right);
    const auto result = token_to_id_.find(std::string_view(merged));
    require(l != token_to_id_.end() && r != token_to_id_.end() && result != token_to_id_.end(),
            "tokenizer: merge " + std::to_string(rank) + " '" + std::string(m) +
                "' names a token that is not in the vocabulary");
    // A pair listed twice keeps its last rank, as HF's merge map does.
    merges_[pair_key(l->second, r->second)] = Merge{int32_t(rank), result->second};
  }

  pre_ = make_pre_tokenizer(spec);
  cache_ = std::make_unique<WordCache>();
}

BpeTokenizer::~BpeTokenizer() = default;
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;

const BpeTokenizer::Merge* BpeTokenizer::find_merge(int32_t left, int32_t right) const {
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  return encode_with_offsets(text, nullptr);
}

std::vector<int32_t> BpeTokenizer::encode_with_offsets(
    std::string_view text, std::vector<std::pair<size_t, size_t>>* offsets) const {
  const size_t bad = utf8_invalid_offset(text);
  require(bad == text.size(),
          "text is not valid UTF-8 (bad byte at offset " + std::to_string(bad) + ")");
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 2);
  if (offsets) offsets->clear();
  if (add_bos_) {
    ids.push_back(bos_id_);
    if (offsets) offsets->emplace_back(0, 0);
  }
  Scratch scratch;
  // Cut out special tokens: at the leftmost position where any matches, the longest one.
  size_t segment = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!special_first_byte_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    size_t best = special_tokens_.size(), best_len = 0;
    for (size_t k = 0; k < special_tokens_.size(); ++k) {
      const std::string& s = special_tokens_[k];
      if (s.size() > best_len && text.substr(i, s.size()) == s) {
        best = k;
        best_len = s.size();
      }
    }
    if (best == special_tokens_.size()) {
      ++i;
      continue;
    }
    encode_segment(text, segment, i, &scratch, &ids, offsets);
    ids.push_back(special_ids_[best]);
    if (offsets) offsets->emplace_back(i, i + best_len);
    i += best_len;
    segment = i;
  }
  encode_segment(text, segment, text.size(), &scratch, &ids, offsets);
  return ids;
}

void BpeTokenizer::encode_segment(std::string_view text, size_t begin, size_t end, Scratch* scratch,
                                  std::vector<int32_t>* ids,
                                  std::vector<std::pair<size_t, size_t>>* offsets) const {
  if (begin == end) return;
  scratch->pieces.clear();
  pre_->split(text.substr(begin, end - begin), begin, &scratch->pieces);
  for (const ByteRange& piece : scratch->pieces) {
    scratch->word_tokens.clear();
    encode_word(text.substr(piece.first, piece.second - piece.first), scratch,
                &scratch->word_tokens);
    for (const WordToken& t : scratch->word_tokens) {
      ids->push_back(t.id);
      if (offsets) offsets->emplace_back(piece.first + t.begin, piece.first + t.end);
    }
  }
}

void BpeTokenizer::encode_word(std::string_view word, Scratch* scratch,
                               std::vector<WordToken>* out) const {
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    const auto it = cache_->words.find(word);
    if (it != cache_->words.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = out->size();
  bool whole = false;
  if (ignore_merges_) {  // HF's ignore_merges: a pre-token that is a vocab entry stays whole
    scratch->spelled.clear();
    for (const char c : word) scratch->spelled += byte_to_unicode(static_cast<unsigned char>(c));
    const auto it = token_to_id_.find(std::string_view(scratch->spelled));
    if (it != token_to_id_.end()) {
      out->push_back(WordToken{it->second, 0, uint32_t(word.size())});
      whole = true;
    }
  }
  if (!whole) merge_word(word, scratch, out);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    if (cache_->words.size() >= kMaxCachedWords) cache_->words.clear();
    cache_->words.emplace(std::string(word),
                          std::vector<WordToken>(out->begin() + first, out->end()));
  }
}

// BPE as HF tokenizers runs it: a min-heap of applicable merges ordered by (rank, position);
// popping one applies it if the pair is still there, then queues the pairs it forms with its
// neighbours. Equal ranks therefore go leftmost first.
void BpeTokenizer::merge_word(std::string_view word, Scratch* scratch,
                              std::vector<WordToken>* out) const {
  using Symbol = Scratch::Symbol;
  using Candidate = Scratch::Candidate;
  auto& symbols = scratch->symbols;
  auto& queue = scratch->queue;
  symbols.clear();
  queue.clear();
  for (size_t i = 0; i < word.size(); ++i) {
    // A byte the vocabulary lacks (SmolLM2 has no token for 0x04, 0xF1, ...) is dropped, as HF's
    // BPE does when the model has no unk_token, which byte-level models never have.
    const int32_t id = byte_token_[static_cast<unsigned char>(word[i])];
    if (id < 0) continue;
    const int32_t pos = int32_t(symbols.size());
    symbols.push_back(Symbol{id, pos - 1, pos + 1, uint32_t(i), 1});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  // Heap order: std::push_heap keeps the "largest" on top, so "less" means worse: higher rank,
  // then further right.
  const auto worse = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  const auto push = [&](int32_t pos) {
    const Symbol& s = symbols[pos];
    if (s.next < 0) return;
    if (const Merge* m = find_merge(s.id, symbols[s.next].id)) {
      queue.push_back(Candidate{m->rank, pos, m->result});
      std::push_heap(queue.begin(), queue.end(), worse);
    }
  };
  for (int32_t pos = 0; pos + 1 < int32_t(symbols.size()); ++pos) push(pos);

  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), worse);
    const Candidate top = queue.back();
    queue.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.len == 0 || left.next < 0) continue;  // merged away, or now last
    const Symbol right = symbols[left.next];
    const Merge* m = find_merge(left.id, right.id);
    if (m == nullptr || m->result != top.result) continue;  // stale: the pair has changed
    left.id = top.result;
    left.len = right.begin + right.len - left.begin;  // also spans any dropped byte between
    symbols[left.next].len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push(left.prev);
    push(top.pos);
  }
  for (int32_t pos = 0; pos >= 0; pos = symbols[pos].next) {
    const Symbol& s = symbols[pos];
    out->push_back(WordToken{s.id, s.begin, s.begin + s.len});
  }
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string text;
  for (const int32_t id : ids) {
    if (skip_special && is_control(id)) continue;
    text += token_to_piece(id);
  }
  return text;
}

std::string BpeTokenizer::token_to_piece(int32_t id) const {
  require(id >= 0 && id < vocab_size(), "tokenizer: token id " + std::to_string(id) +
                                            " is outside the vocabulary of " +
                                            std::to_string(vocab_size()));
  return pieces_[id];
}

bool BpeTokenizer::is_control(int32_t id) const {
  return id >= 0 && id < vocab_size() && control_[id];
}

std::optional<int32_t> BpeTokenizer::token_id(std::string_view token) const {
  const auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

}  // namespace cipherlora
