package io.kvcache.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.testing.ReferenceCase;
import io.kvcache.testing.SharedModels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

class KvcacheCliTest {

    record Run(int exit, String out, String err) {
        JsonNode json() {
            return Json.MAPPER.readTree(out);
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = KvcacheCli.execute(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(exit, out.toString(), err.toString());
    }

    static String stories() {
        return SharedModels.model("stories260K.gguf").toString();
    }

    @Test
    void infoPrintsConfigurationAndTensors() {
        Run r = run("info", stories());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("layers"), r.out());
        assertTrue(r.out().contains("token_embd.weight"), r.out());
        JsonNode j = run("info", stories(), "--json").json();
        assertEquals(5, j.get("model").get("layers").asInt());
        assertEquals(48, j.get("tensor_count").asInt());
        assertEquals(512, j.get("metadata").get("tokenizer.ggml.tokens").get("length").asInt());
    }

    @Test
    void infoReadsVocabularyOnlyFiles() {
        Run r = run("info", SharedModels.model("vocab/ggml-vocab-gpt-2.gguf").toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        assertEquals(0, r.json().get("tensor_count").asInt());
    }

    @Test
    void tokenizeMatchesTheReferencePromptTokens() {
        ReferenceCase ref = ReferenceCase.load("stories260K.once-upon-a-time");
        Run r = run("tokenize", stories(), ref.prompt(), "--json");
        assertEquals(0, r.exit(), r.err());
        int[] ids = r.json().get("ids").valueStream().mapToInt(JsonNode::asInt).toArray();
        assertArrayEquals(ref.promptTokens(), ids);
        assertEquals(" Once", r.json().get("pieces").get(1).asString());
        Run text = run("tokenize", stories(), ref.prompt());
        assertTrue(text.out().contains("403"), text.out());
    }

    @Test
    void generateGreedyJsonEqualsTheReference() {
        ReferenceCase ref = ReferenceCase.load("stories260K.once-upon-a-time");
        Run r = run("generate", stories(), "--prompt", ref.prompt(), "--max-tokens", "64", "--temperature", "0",
                "--json", "--threads", "2");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = r.json();
        int[] tokens = j.get("tokens").valueStream().mapToInt(JsonNode::asInt).toArray();
        assertArrayEquals(ref.greedyTokens(), tokens);
        assertEquals(ref.greedyText(), j.get("text").asString());
        assertEquals("max_tokens", j.get("stop_reason").asString());
        assertEquals(ref.promptTokens().length, j.get("prompt_tokens").size());
        assertEquals(64, j.get("usage").get("completion_tokens").asInt());
    }

    @Test
    void generateStreamsTextAndReportsSpeed() {
        Run r = run("generate", stories(), "--prompt", "Once upon a time", "-n", "20", "--seed", "7");
        assertEquals(0, r.exit(), r.err());
        assertFalse(r.out().isBlank());
        assertTrue(r.err().contains("Loading stories260K.gguf"), r.err());
        assertTrue(r.err().contains("tokens/s"), r.err());
        Run again = run("generate", stories(), "--prompt", "Once upon a time", "-n", "20", "--seed", "7");
        assertEquals(r.out(), again.out(), "the same seed gives the same text");
    }

    @Test
    void logitsReproduceTheReference(@TempDir Path dir) throws Exception {
        ReferenceCase ref = ReferenceCase.load("stories260K.once-upon-a-time");
        Path out = dir.resolve("logits.f32");
        String tokens = Arrays.stream(ref.promptTokens()).mapToObj(Integer::toString).collect(Collectors.joining(","));
        int steps = ref.greedyTokens().length;
        Run r = run("logits", stories(), "--tokens", tokens, "--steps", Integer.toString(steps), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        int[] greedy = r.json().valueStream().mapToInt(JsonNode::asInt).toArray();
        assertArrayEquals(ref.greedyTokens(), greedy);
        byte[] raw = Files.readAllBytes(out);
        float[] mine = new float[raw.length / 4];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(mine);
        assertEquals(ref.logits().length, mine.length);
        for (int i = 0; i < mine.length; i++) {
            assertEquals(ref.logits()[i], mine[i], 1e-4, "logit " + i);
        }
    }

    @Test
    void errorsPrintOneLineAndExitNonZero(@TempDir Path dir) throws Exception {
        Run missing = run("generate", dir.resolve("nope.gguf").toString(), "--prompt", "hi");
        assertEquals(1, missing.exit());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        assertTrue(missing.err().contains("not found"), missing.err());

        Path bad = dir.resolve("bad.gguf");
        Files.write(bad, "GGUF\u0003\u0000\u0000\u0000garbage".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        for (String cmd : new String[] {"info", "generate"}) {
            Run r = cmd.equals("info") ? run(cmd, bad.toString()) : run(cmd, bad.toString(), "--prompt", "x");
            assertEquals(1, r.exit(), cmd);
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("bad.gguf"), r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        }

        Run badOption = run("generate", stories(), "--prompt", "x", "--max-tokens", "lots");
        assertEquals(2, badOption.exit());
        assertTrue(badOption.err().contains("--max-tokens"), badOption.err());
    }
}
