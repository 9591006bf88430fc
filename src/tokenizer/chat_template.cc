#include "tokenizer/chat_template.h"

namespace cipherlora {

RenderedChat render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                           std::string_view default_system) {
  RenderedChat chat;
  const auto append_turn = [&chat](std::string_view role, std::string_view content) {
    chat.text += "<|im_start|>";
    chat.text += role;
    chat.text += '\n';
    const size_t begin = chat.text.size();
    chat.text += content;
    const size_t end = chat.text.size();
    chat.text += "<|im_end|>\n";
    return std::make_pair(begin, end);
  };
  if (!messages.empty() && messages[0].role != "system" && !default_system.empty()) {
    append_turn("system", default_system);
  }
  for (const ChatMessage& m : messages) {
    chat.content_spans.push_back(append_turn(m.role, m.content));
  }
  if (add_generation_prompt) chat.text += "<|im_start|>assistant\n";
  return chat;
}

std::optional<std::string> chatml_default_system(std::string_view chat_template) {
  for (const std::string_view newline : {std::string_view("\\n"), std::string_view("\n")}) {
    const std::string open = "<|im_start|>system" + std::string(newline);
    for (size_t begin = chat_template.find(open); begin != std::string_view::npos;
         begin = chat_template.find(open, begin + 1)) {
      const size_t content = begin + open.size();
      const size_t end = chat_template.find("<|im_end|>", content);
      if (end == std::string_view::npos) break;
      const std::string_view system = chat_template.substr(content, end - content);
      // Skip a system turn written from a variable ("... + messages[0]['content'] + ..."): only a
      // literal inside one string is a default.
      if (system.find_first_of("'\"{}") == std::string_view::npos) return std::string(system);
    }
  }
  return std::nullopt;
}

}  // namespace cipherlora
