// ChatML prompts exactly as SmolLM2-Instruct's chat template renders them (Hugging Face
// apply_chat_template(messages, tokenize=False, add_generation_prompt=...)):
//
//   <|im_start|>system\n{default system prompt}<|im_end|>\n   only if the first message is not
//   "system"
//   <|im_start|>{role}\n{content}<|im_end|>\n                 for each message
//   <|im_start|>assistant\n                                    if add_generation_prompt
//
// with, for each message, the byte span of its content in the text, so a trainer can put the loss
// on assistant content only.
//
//   std::string system = chatml_default_system(gguf_chat_template).value_or("");
//   RenderedChat chat = render_chatml({{"user", "Hi"}, {"assistant", "Hello!"}}, false, system);
//   auto [begin, end] = chat.content_spans[1];   // chat.text.substr(begin, end - begin) ==
//   "Hello!"
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cipherlora {

struct ChatMessage {
  std::string role, content;
};

struct RenderedChat {
  std::string text;
  std::vector<std::pair<size_t, size_t>> content_spans;  // one [begin, end) per message
};

// default_system: the system prompt inserted when the first message is not "system"; "" = none.
RenderedChat render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                           std::string_view default_system);

// The default system prompt a ChatML Jinja template inserts (the text between
// "<|im_start|>system\n" and "<|im_end|>" in one of its string literals), or nullopt when the
// template has none. Handles "\n" written as an escape or as a real newline.
std::optional<std::string> chatml_default_system(std::string_view chat_template);

}  // namespace cipherlora
