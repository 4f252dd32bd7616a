package io.kvcache.cli;

import io.kvcache.gguf.GgufFile;
import io.kvcache.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code kvcache tokenize MODEL TEXT}: ids and pieces, like llama.cpp's llama-tokenize. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the token ids and pieces of a text, adding special tokens (BOS) as the model asks.")
final class TokenizeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "GGUF model or vocabulary file")
    Path model = Path.of("");

    @Parameters(index = "1", paramLabel = "TEXT", description = "text to tokenize")
    String text = "";

    @Option(names = "--json", description = "print {\"ids\": [...], \"pieces\": [...]}")
    boolean json;

    @Option(names = "--no-special", description = "do not add BOS/EOS")
    boolean noSpecial;

    @Option(names = "--parse-special", description = "recognize special-token text such as <|im_start|> in TEXT")
    boolean parseSpecial;

    @CommandLine.Spec
    @SuppressWarnings("NullAway.Init")
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        ModelOptions.requireFile(model);
        PrintWriter out = spec.commandLine().getOut();
        try (GgufFile file = GgufFile.open(model)) {
            Tokenizer tokenizer = Tokenizer.fromGguf(file.metadata());
            int[] ids = tokenizer.encode(text, !noSpecial, parseSpecial);
            List<String> pieces = new ArrayList<>(ids.length);
            for (int id : ids) {
                pieces.add(piece(tokenizer, id));
            }
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("ids", ids);
                m.put("pieces", pieces);
                out.println(Json.write(m));
            } else {
                for (int i = 0; i < ids.length; i++) {
                    out.printf("%6d -> '%s'%n", ids[i], pieces.get(i));
                }
            }
        }
        return 0;
    }

    /** The text a token stands for; bytes that are not whole UTF-8 are shown as {@code <0xNN>}. */
    static String piece(Tokenizer tokenizer, int id) {
        if (tokenizer.isSpecial(id)) {
            return tokenizer.piece(id);
        }
        byte[] bytes = tokenizer.tokenBytes(id);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            StringBuilder sb = new StringBuilder();
            for (byte b : bytes) {
                sb.append(String.format("<0x%02X>", b & 0xff));
            }
            return sb.toString();
        }
    }
}
