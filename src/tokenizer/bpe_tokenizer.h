// Byte-level BPE tokenizer (GPT-2 family, SmolLM2, Llama 3) giving the same ids as Hugging Face
// tokenizers for any valid UTF-8 text. Encoding runs in three steps, as HF does:
//   1. special tokens (spec.special_tokens) are cut out of the text literally, leftmost then
//   longest;
//   2. the rest is pre-tokenized (PreTokenizer: digits alone for SmolLM2, then a regex);
//   3. each pre-token's bytes, spelled with GPT-2's byte map, are merged by BPE: repeatedly the
//      pair of lowest merge rank, the leftmost among equal ranks.
//
//   BpeTokenizer tok(spec_from_tokenizer_json("tokenizer.json"));
//   std::vector<int32_t> ids = tok.encode("<|im_start|>user\nHi!<|im_end|>\n");
//   std::string text = tok.decode(ids);                // the same text back
//   std::string visible = tok.decode(ids, /*skip_special=*/true);  // "user\nHi!\n"
//
// Invalid UTF-8 input throws Error("text is not valid UTF-8 ..."): HF only ever sees valid strings.
// A byte whose one-character token is not in the vocabulary is dropped, as HF does (SmolLM2 lacks
// 0x04, 0x06, 0x13, 0x14, 0x16, 0x1D, 0xF1, 0xF2 and the bytes UTF-8 never uses).
// decode() returns the raw bytes of the tokens (which may end inside a UTF-8 sequence), not HF's
// lossy replacement with U+FFFD. Thread-safe: encode() may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer_spec.h"

namespace cipherlora {

class BpeTokenizer {
 public:
  // Validates the spec (merge parts and results in the vocab, ids in range, special tokens in the
  // vocab) and builds the lookup tables; throws Error naming the first problem.
  explicit BpeTokenizer(TokenizerSpec spec);
  ~BpeTokenizer();
  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;

  // Token ids of text, with BOS first when the spec says add_bos.
  std::vector<int32_t> encode(std::string_view text) const;
  // Same, and (*offsets)[i] = byte range [begin, end) of token i in text: a special token its
  // literal span, a BOS [0, 0). Ranges are increasing and do not overlap; only dropped bytes fall
  // outside them (or inside a token merged across one). offsets may be null.
  std::vector<int32_t> encode_with_offsets(std::string_view text,
                                           std::vector<std::pair<size_t, size_t>>* offsets) const;

  // Concatenated bytes of the tokens; skip_special leaves out control tokens (type 3, or every
  // special token when the spec has no token types). Throws Error on an id out of range.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;
  // The bytes one token stands for: byte-decoded for normal tokens, the literal text for special
  // and user-defined ones.
  std::string token_to_piece(int32_t id) const;

  int32_t vocab_size() const { return static_cast<int32_t>(pieces_.size()); }
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t unk_id() const { return unk_id_; }
  bool is_control(int32_t id) const;
  // Id of an exact vocab string, e.g. "<|im_end|>" or "Ġhello".
  std::optional<int32_t> token_id(std::string_view token) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t result;  // id of the merged token
  };
  struct WordToken {  // one token of a pre-token; [begin, end) bytes within the pre-token
    int32_t id;
    uint32_t begin, end;
  };
  struct WordCache;  // bounded cache of recent pre-tokens -> tokens, behind a mutex
  struct Scratch;    // per-call working buffers

  void encode_segment(std::string_view text, size_t begin, size_t end, Scratch* scratch,
                      std::vector<int32_t>* ids,
                      std::vector<std::pair<size_t, size_t>>* offsets) const;
  // Appends the tokens of one pre-token.
  void encode_word(std::string_view word, Scratch* scratch, std::vector<WordToken>* out) const;
  void merge_word(std::string_view word, Scratch* scratch, std::vector<WordToken>* out) const;
  const Merge* find_merge(int32_t left, int32_t right) const;

  struct StringHash {  // lets the maps be searched with a string_view, no std::string built
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> token_to_id_;
  std::unordered_map<uint64_t, Merge> merges_;  // (left << 32 | right) -> merge
  std::vector<std::string> pieces_;             // id -> decoded bytes
  std::vector<uint8_t> control_;                // id -> skipped by decode(skip_special)
  int32_t byte_token_[256];  // byte -> id of its one-character token; -1: not in the vocab
  std::vector<std::string> special_tokens_;  // literal texts, matched leftmost-longest
  std::vector<int32_t> special_ids_;
  bool special_first_byte_[256] = {};  // bytes that can start a special token
  std::unique_ptr<PreTokenizer> pre_;
  std::unique_ptr<WordCache> cache_;
  bool ignore_merges_ = false;
  bool add_bos_ = false;
  int32_t bos_id_ = -1, eos_id_ = -1, unk_id_ = -1, pad_id_ = -1;
};

}  // namespace cipherlora
