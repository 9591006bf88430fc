// Splits text into pre-tokens, the pieces BPE merges within (never across), as Hugging Face's
// byte-level pre-tokenizers do: optionally every number character alone (HF's
// Digits(individual_digits=true), as SmolLM2 uses), then a regex split that keeps matches and the
// gaps between them (HF's Split(..., "isolated") / ByteLevel(use_regex=true)). The regex runs on
// each piece separately, so its look-ahead never sees past a digit.
//
//   PreTokenizer pre(gpt2_split_pattern(), /*split_digits=*/true);
//   std::vector<ByteRange> pieces;
//   pre.split("Hi 42", 0, &pieces);   // "Hi", " ", "4", "2" as byte ranges
//
// Patterns are given in HF's (Oniguruma) syntax and compiled with PCRE2 (UTF + UCP, JIT). Two
// differences that change ids are translated: Oniguruma's \s also matches U+0085 (NEL), PCRE2's
// does not; and PCRE2 10.42's \p{N} predates the number characters of Unicode 15-16, which HF's
// Digits knows. (Letters added after Unicode 14 are still not \p{L} here; no SmolLM2 ids change.)
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cipherlora {

using ByteRange = std::pair<size_t, size_t>;  // [begin, end) byte offsets

// GPT-2's split: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
const std::string& gpt2_split_pattern();
// Llama 3's split (also used by many later models).
const std::string& llama3_split_pattern();

// Rewrites \s, \p{N} (anywhere) and \S (outside character classes) into explicit classes with
// Oniguruma's / HF's meaning. Exposed for tests.
std::string onig_to_pcre2(std::string_view pattern);

class PreTokenizer {
 public:
  // pattern in Oniguruma syntax; throws Error when it does not compile.
  PreTokenizer(std::string_view pattern, bool split_digits);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Appends the pre-tokens of text (valid UTF-8) to *out as ranges offset by base.
  void split(std::string_view text, size_t base, std::vector<ByteRange>* out) const;

 private:
  struct Compiled;  // PCRE2 handles, kept out of this header
  std::unique_ptr<Compiled> pattern_;
  std::unique_ptr<Compiled> number_;  // \p{N}: one number character; null unless split_digits
};

}  // namespace cipherlora
