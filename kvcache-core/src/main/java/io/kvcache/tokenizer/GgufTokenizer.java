package io.kvcache.tokenizer;

import io.kvcache.gguf.GgufFormatException;
import io.kvcache.gguf.GgufMetadata;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The {@link Tokenizer} for both GGUF vocabulary kinds: special-token splitting, BOS/EOS and
 * decoding are shared; fragments between special tokens go to {@link SpmEncoder} or {@link BpeEncoder}.
 * Immutable and thread-safe.
 */
final class GgufTokenizer implements Tokenizer {

    private static final String SPM_SPACE = "\u2581";
    private static final byte[] NO_BYTES = new byte[0];

    private final Vocabulary vocab;
    private final boolean spm;
    private final FragmentEncoder encoder;
    private final boolean cleanSpaces;
    /** Output bytes of every token with control tokens rendered. */
    private final byte[][] renderedBytes;

    private GgufTokenizer(Vocabulary vocab, GgufMetadata md) {
        this.vocab = vocab;
        this.spm = vocab.model.equals("llama");
        if (spm) {
            this.encoder = new SpmEncoder(vocab);
            this.cleanSpaces = false;
        } else {
            PreTokenizer pre = PreTokenizer.forName(vocab.pre);
            String[] merges = Vocabulary.converted("tokenizer.ggml.merges",
                    () -> md.optionalArray("tokenizer.ggml.merges").map(a -> a.asStrings()))
                    .orElseThrow(() -> new IllegalArgumentException("gpt2 tokenizer without tokenizer.ggml.merges; "
                            + "the GGUF file is incomplete, reconvert it with llama.cpp's convert_hf_to_gguf.py"));
            this.encoder = new BpeEncoder(vocab, pre, merges);
            this.cleanSpaces = pre.cleanSpaces;
        }
        this.renderedBytes = new byte[vocab.size()][];
        for (int id = 0; id < vocab.size(); id++) {
            renderedBytes[id] = computeBytes(id);
        }
    }

    static GgufTokenizer create(GgufMetadata metadata) {
        try {
            return new GgufTokenizer(new Vocabulary(metadata), metadata);
        } catch (GgufFormatException e) {
            // A tokenizer.* key of the wrong type (found by fuzzing): Tokenizer.fromGguf documents one exception.
            throw new IllegalArgumentException("the GGUF tokenizer metadata is malformed: " + e.getMessage()
                    + "; re-convert the model with llama.cpp's convert_hf_to_gguf.py", e);
        }
    }

    private byte[] computeBytes(int id) {
        String piece = vocab.pieces[id];
        return switch (vocab.kinds[id]) {
            case Vocabulary.CONTROL, Vocabulary.UNKNOWN, Vocabulary.USER_DEFINED -> piece.getBytes(StandardCharsets.UTF_8);
            case Vocabulary.NORMAL -> spm
                    ? piece.replace(SPM_SPACE, " ").getBytes(StandardCharsets.UTF_8)
                    : byteLevelDecode(piece);
            case Vocabulary.BYTE -> new byte[] {(byte) parseByteToken(piece)};
            default -> new byte[0]; // unused and undefined tokens print nothing, as in llama.cpp
        };
    }

    private static int parseByteToken(String piece) {
        if (piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
            if (!HexFormat.isHexDigit(piece.charAt(3)) || !HexFormat.isHexDigit(piece.charAt(4))) {
                throw new IllegalArgumentException("byte token '" + piece + "' is not <0xNN> with two hex digits;"
                        + " the GGUF vocabulary is malformed");
            }
            return HexFormat.fromHexDigits(piece, 3, 5);
        }
        // byte-typed but not <0xNN>: a single-character token such as GPT-2's byte-level letters
        return piece.isEmpty() ? 0 : piece.charAt(0) & 0xFF;
    }

    private static byte[] byteLevelDecode(String piece) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(piece.length());
        piece.codePoints().forEach(cp -> {
            int b = ByteLevel.byteOf(cp);
            if (b >= 0) {
                out.write(b);
            } else { // not a byte-level character: keep it as text
                out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
            }
        });
        return out.toByteArray();
    }

    // ---- encoding ----

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList(text.length() / 3 + 4);
        if (addSpecial && vocab.addBos) {
            out.add(vocab.bos);
        }
        boolean previousWasSpecial = true;
        for (Fragment fragment : splitOnSpecialTokens(text, parseSpecial)) {
            switch (fragment) {
                case Special special -> {
                    out.add(special.id);
                    previousWasSpecial = true;
                }
                case Text raw -> {
                    encoder.encode(raw.text, previousWasSpecial, out);
                    previousWasSpecial = false;
                }
            }
        }
        if (addSpecial && vocab.addEos) {
            out.add(vocab.eos);
        }
        return out.toArray();
    }

    /** A piece of input: plain text, or a special token found in it. */
    private sealed interface Fragment permits Text, Special {
    }

    private record Text(String text) implements Fragment {
    }

    private record Special(int id) implements Fragment {
    }

    /**
     * The input as text fragments and special tokens, found the way llama.cpp's
     * {@code tokenizer_st_partition} does: for each special token, longest text first, split every
     * remaining text fragment at each of its occurrences.
     */
    private List<Fragment> splitOnSpecialTokens(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) {
            return fragments;
        }
        fragments.add(new Text(text));
        for (int id : vocab.specialsLongestFirst) {
            if (!parseSpecial && vocab.isHiddenUnlessRendered(id)) {
                continue; // control and unknown tokens only when asked; user-defined ones always
            }
            String special = vocab.pieces[id];
            for (int f = 0; f < fragments.size(); f++) {
                if (!(fragments.get(f) instanceof Text(String s))) {
                    continue;
                }
                int at = s.indexOf(special);
                if (at < 0) {
                    continue;
                }
                List<Fragment> parts = new ArrayList<>();
                int from = 0;
                while (at >= 0) {
                    if (at > from) {
                        parts.add(new Text(s.substring(from, at)));
                    }
                    parts.add(new Special(id));
                    from = at + special.length();
                    at = s.indexOf(special, from);
                }
                if (from < s.length()) {
                    parts.add(new Text(s.substring(from)));
                }
                fragments.remove(f);
                fragments.addAll(f, parts);
                f += parts.size() - 1;
            }
        }
        return fragments;
    }

    // ---- decoding ----

    @Override
    public String decode(int[] tokens, boolean renderSpecial) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(tokens.length * 4);
        // llama.cpp strips one leading space of the first piece (the space prefix) unless that
        // first token is BOS, whose (possibly hidden) piece absorbs the strip.
        boolean stripSpace = vocab.addSpacePrefix;
        for (int token : tokens) {
            byte[] piece = bytes(token, renderSpecial);
            int skip = stripSpace && piece.length > 0 && piece[0] == ' ' ? 1 : 0;
            out.write(piece, skip, piece.length - skip);
            stripSpace = false;
        }
        byte[] text = out.toByteArray();
        int length = cleanSpaces ? SpaceCleanup.apply(text) : text.length;
        return new String(text, 0, length, StandardCharsets.UTF_8);
    }

    private byte[] bytes(int id, boolean renderSpecial) {
        checkId(id);
        if (!renderSpecial && vocab.isHiddenUnlessRendered(id)) {
            return NO_BYTES;
        }
        return renderedBytes[id];
    }

    private void checkId(int id) {
        if (id < 0 || id >= vocab.size()) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab.size()
                    + "); pass ids produced by this tokenizer or its model");
        }
    }

    @Override
    public byte[] tokenBytes(int id, boolean renderSpecial) {
        return bytes(id, renderSpecial).clone();
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return vocab.pieces[id];
    }

    @Override
    public int vocabularySize() {
        return vocab.size();
    }

    @Override
    public int bosId() {
        return vocab.bos;
    }

    @Override
    public int eosId() {
        return vocab.eos;
    }

    @Override
    public boolean addsBos() {
        return vocab.addBos;
    }

    @Override
    public boolean isEndOfGeneration(int id) {
        return id >= 0 && vocab.endOfGeneration.get(id);
    }

    @Override
    public boolean isSpecial(int id) {
        checkId(id);
        return vocab.isSpecial(id);
    }

    @Override
    public TokenDecoder newDecoder(boolean renderSpecial) {
        return new StreamingDecoder(id -> bytes(id, renderSpecial));
    }

    @Override
    public String toString() {
        return "Tokenizer[" + vocab.model + (spm ? "" : "/" + vocab.pre) + ", " + vocab.size() + " tokens]";
    }
}
