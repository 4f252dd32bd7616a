package io.kvcache.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgufMetadata;
import io.kvcache.gguf.GgufValue;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {

    private static final List<ChatMessage> CHAT = List.of(
            ChatMessage.system("You are helpful."),
            ChatMessage.user("Hi!"),
            ChatMessage.assistant("Hello."),
            ChatMessage.user(" How are you? "));

    // Fragments of the real Jinja templates shipped in GGUF files.
    static final String SMOLLM_JINJA = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\\n' }}{% endif %}";
    static final String LLAMA3_JINJA = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
            + "+ message['content'] | trim + '<|eot_id|>' %}";
    static final String LLAMA2_JINJA = "{% if messages[0]['role'] == 'system' %}{% set system_message = '<<SYS>>\\n' "
            + "+ messages[0]['content'] | trim + '\\n<</SYS>>\\n\\n' %}{% endif %}{{ bos_token + '[INST] ' }}";
    static final String ZEPHYR_JINJA = "{% for message in messages %}{% if message['role'] == 'user' %}"
            + "{{ '<|user|>\\n' + message['content'] + eos_token }}{% endif %}{% endfor %}";
    static final String PHI3_JINJA = "{{'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n' + '<|assistant|>'}}";

    @Test
    void chatml() {
        assertEquals("<|im_start|>system\nYou are helpful.<|im_end|>\n"
                + "<|im_start|>user\nHi!<|im_end|>\n"
                + "<|im_start|>assistant\nHello.<|im_end|>\n"
                + "<|im_start|>user\n How are you? <|im_end|>\n"
                + "<|im_start|>assistant\n", ChatTemplate.CHATML.render(CHAT, true));
        assertEquals("<|im_start|>user\nHi!<|im_end|>\n",
                ChatTemplate.CHATML.render(List.of(ChatMessage.user("Hi!")), false));
    }

    @Test
    void llama3() {
        assertEquals("<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", ChatTemplate.LLAMA3.render(CHAT, true));
        assertTrue(ChatTemplate.LLAMA3.render(CHAT, false).endsWith("How are you?<|eot_id|>"));
    }

    @Test
    void llama2() {
        String expected = "[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi! [/INST]Hello.</s>"
                + "<s>[INST] How are you? [/INST]";
        assertEquals(expected, ChatTemplate.LLAMA2.render(CHAT, true));
        assertEquals(expected, ChatTemplate.LLAMA2.render(CHAT, false), "the prompt always ends ready for the answer");
    }

    @Test
    void zephyr() {
        assertEquals("<|system|>\nYou are helpful.</s>\n<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n"
                + "<|user|>\n How are you? </s>\n<|assistant|>\n", ChatTemplate.ZEPHYR.render(CHAT, true));
    }

    @Test
    void detectsFamiliesFromJinjaSource() {
        assertEquals(Optional.of(ChatTemplate.CHATML), ChatTemplate.fromSource(SMOLLM_JINJA));
        assertEquals(Optional.of(ChatTemplate.LLAMA3), ChatTemplate.fromSource(LLAMA3_JINJA));
        assertEquals(Optional.of(ChatTemplate.LLAMA2), ChatTemplate.fromSource(LLAMA2_JINJA));
        assertEquals(Optional.of(ChatTemplate.ZEPHYR), ChatTemplate.fromSource(ZEPHYR_JINJA));
        assertEquals(Optional.empty(), ChatTemplate.fromSource(PHI3_JINJA), "Phi-3 is not Zephyr");
    }

    @Test
    void detectFromMetadata() {
        GgufMetadata none = new GgufMetadata(Map.of());
        assertEquals(ChatTemplate.CHATML, ChatTemplate.detect(none), "documented default without a template");
        GgufMetadata llama3 = new GgufMetadata(Map.of(ChatTemplate.METADATA_KEY, GgufValue.ofString(LLAMA3_JINJA)));
        assertEquals(ChatTemplate.LLAMA3, ChatTemplate.detect(llama3));

        GgufMetadata phi3 = new GgufMetadata(Map.of(ChatTemplate.METADATA_KEY, GgufValue.ofString(PHI3_JINJA)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChatTemplate.detect(phi3));
        assertTrue(e.getMessage().contains("[CHATML, LLAMA3, LLAMA2, ZEPHYR]"), e.getMessage());
        assertTrue(e.getMessage().contains("fallback"), e.getMessage());
        assertEquals(ChatTemplate.ZEPHYR, ChatTemplate.detect(phi3, ChatTemplate.ZEPHYR));
        assertEquals(ChatTemplate.LLAMA3, ChatTemplate.detect(llama3, ChatTemplate.ZEPHYR));
    }

    @Test
    void messagesValidateRoles() {
        assertThrows(IllegalArgumentException.class, () -> new ChatMessage(" ", "x"));
        assertThrows(NullPointerException.class, () -> new ChatMessage("user", null));
    }
}
