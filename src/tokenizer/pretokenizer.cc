#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/error.h"
#include "tokenizer/utf8.h"

namespace cipherlora {

const std::string& gpt2_split_pattern() {
  static const std::string p =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
  return p;
}

const std::string& llama3_split_pattern() {
  static const std::string p =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  return p;
}

std::string onig_to_pcre2(std::string_view pattern) {
  // Oniguruma's Unicode \s: TAB..CR, space, NEL and the separators (Zs, Zl, Zp).
  const std::string space_members = R"(\t-\r\x{20}\x{85}\p{Z})";
  // \p{N} plus the number characters Unicode 15.0-16.0 added (Garay, Kawi, Kaktovik, outlined
  // digits, ...): PCRE2 10.42 knows Unicode 14, HF (Rust's char::is_numeric) knows them.
  const std::string number_members =
      R"(\p{N}\x{10D40}-\x{10D49}\x{116D0}-\x{116E3}\x{11BF0}-\x{11BF9}\x{11DE0}-\x{11DE9})"
      R"(\x{11F50}-\x{11F59}\x{16130}-\x{16139}\x{16D70}-\x{16D79}\x{16FF4}-\x{16FF6})"
      R"(\x{1CCF0}-\x{1CCF9}\x{1D2C0}-\x{1D2D3}\x{1E4F0}-\x{1E4F9}\x{1E5F1}-\x{1E5FA})";
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (pattern.substr(i, 5) == R"(\p{N})") {
      out += in_class ? number_members : "[" + number_members + "]";
      i += 4;
      continue;
    }
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's') {
        out += in_class ? space_members : "[" + space_members + "]";
      } else if (e == 'S' && !in_class) {
        out += "[^" + space_members + "]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class)
      in_class = true;
    else if (c == ']' && in_class)
      in_class = false;
    out += c;
  }
  return out;
}

struct PreTokenizer::Compiled {
  pcre2_code* code = nullptr;

  explicit Compiled(const std::string& pcre2_pattern) {
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre2_pattern.data()), pcre2_pattern.size(),
                         PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof message);
      throw Error("pre-tokenizer regex does not compile at offset " + std::to_string(error_offset) +
                  ": " + reinterpret_cast<char*>(message) + " (pattern: " + pcre2_pattern + ")");
    }
    // JIT is only a speed-up: without it (no JIT support on this CPU) matching still works.
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  }
  ~Compiled() { pcre2_code_free(code); }

  // Finds the first match in subject[0, size) at or after start; false when there is none.
  bool find(const char* subject, size_t size, size_t start, pcre2_match_data* md,
            ByteRange* match) const {
    const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject), size, start,
                               PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      throw Error(std::string("pre-tokenizer regex failed: ") + reinterpret_cast<char*>(message));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    *match = {ov[0], ov[1]};
    return true;
  }

  // Regex split with HF's "isolated" behaviour: matches and the gaps between them are pieces.
  void split_isolated(const char* subject, size_t size, size_t base, pcre2_match_data* md,
                      std::vector<ByteRange>* out) const {
    size_t gap = 0, at = 0;
    ByteRange m;
    while (at <= size && find(subject, size, at, md, &m)) {
      if (m.first == m.second) {  // an empty match splits nothing; look again one character on
        if (m.first >= size) break;
        at = m.first + utf8_sequence_length(static_cast<unsigned char>(subject[m.first]));
        continue;
      }
      if (m.first > gap) out->emplace_back(base + gap, base + m.first);
      out->emplace_back(base + m.first, base + m.second);
      gap = at = m.second;
    }
    if (gap < size) out->emplace_back(base + gap, base + size);
  }
};

PreTokenizer::PreTokenizer(std::string_view pattern, bool split_digits)
    : pattern_(std::make_unique<Compiled>(onig_to_pcre2(pattern))),
      number_(split_digits ? std::make_unique<Compiled>(onig_to_pcre2(R"(\p{N})")) : nullptr) {}

PreTokenizer::~PreTokenizer() = default;

void PreTokenizer::split(std::string_view text, size_t base, std::vector<ByteRange>* out) const {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(pattern_->code, nullptr);
  require(md != nullptr, "pre-tokenizer: out of memory");
  try {
    if (!number_) {
      pattern_->split_isolated(text.data(), text.size(), base, md, out);
    } else {
      // Every number character is a piece of its own; the regex splits what lies between.
      size_t at = 0;
      ByteRange digit;
      while (at < text.size() && number_->find(text.data(), text.size(), at, md, &digit)) {
        if (digit.first > at) {
          pattern_->split_isolated(text.data() + at, digit.first - at, base + at, md, out);
        }
        out->emplace_back(base + digit.first, base + digit.second);
        at = digit.second;
      }
      if (at < text.size()) {
        pattern_->split_isolated(text.data() + at, text.size() - at, base + at, md, out);
      }
    }
  } catch (...) {
    pcre2_match_data_free(md);
    throw;
  }
  pcre2_match_data_free(md);
}

}  // namespace cipherlora
