#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

namespace cipherlora {
namespace {

using Spans = std::vector<std::pair<size_t, size_t>>;

// SmolLM2-135M-Instruct's chat_template, as its GGUF stores it (real newlines inside the strings).
const char* kSmolLm2Template =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\n' }}{% endif %}";
const char* kSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

TEST(ChatTemplate, FindsTheDefaultSystemPrompt) {
  EXPECT_EQ(chatml_default_system(kSmolLm2Template), kSystem);
  // Escaped newlines, and a template whose only system turn comes from a variable first.
  EXPECT_EQ(chatml_default_system(
                R"({{ '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }})"
                R"({% else %}{{ '<|im_start|>system\nBe brief.<|im_end|>\n' }})"),
            "Be brief.");
  EXPECT_EQ(
      chatml_default_system(R"({{'<|im_start|>' + message['role'] + '\n' + message['content']}})"),
      std::nullopt);
}

TEST(ChatTemplate, InsertsTheDefaultSystemPromptBeforeAUserTurn) {
  const RenderedChat chat =
      render_chatml({{"user", "Hi"}, {"assistant", "Hello!"}}, false, kSystem);
  const std::string system_turn = std::string("<|im_start|>system\n") + kSystem + "<|im_end|>\n";
  EXPECT_EQ(chat.text, system_turn +
                           "<|im_start|>user\nHi<|im_end|>\n"
                           "<|im_start|>assistant\nHello!<|im_end|>\n");
  const size_t user = system_turn.size() + 17;  // after "<|im_start|>user\n"
  const size_t assistant = user + 2 + 11 + 22;  // "Hi", "<|im_end|>\n", "<|im_start|>assistant\n"
  EXPECT_EQ(chat.content_spans, (Spans{{user, user + 2}, {assistant, assistant + 6}}));
  EXPECT_EQ(chat.text.substr(assistant, 6), "Hello!");
}

TEST(ChatTemplate, KeepsAGivenSystemTurnAndAddsTheGenerationPrompt) {
  const RenderedChat chat = render_chatml({{"system", "Be terse."}, {"user", ""}}, true, kSystem);
  EXPECT_EQ(chat.text,
            "<|im_start|>system\nBe terse.<|im_end|>\n"
            "<|im_start|>user\n<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(chat.content_spans, (Spans{{19, 28}, {56, 56}}));
}

TEST(ChatTemplate, NoDefaultSystemWhenNoneIsGiven) {
  EXPECT_EQ(render_chatml({{"user", "x"}}, false, "").text, "<|im_start|>user\nx<|im_end|>\n");
  EXPECT_EQ(render_chatml({}, true, kSystem).text, "<|im_start|>assistant\n");
}

}  // namespace
}  // namespace cipherlora
