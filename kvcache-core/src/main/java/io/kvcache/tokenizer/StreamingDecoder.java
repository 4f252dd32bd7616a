package io.kvcache.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.IntFunction;

/** {@link TokenDecoder} holding at most one unfinished UTF-8 sequence. Not thread-safe. */
final class StreamingDecoder implements TokenDecoder {

    private final IntFunction<byte[]> tokenBytes;
    private byte[] buffer = new byte[64];
    private int size;

    StreamingDecoder(IntFunction<byte[]> tokenBytes) {
        this.tokenBytes = tokenBytes;
    }

    @Override
    public String append(int tokenId) {
        byte[] piece = tokenBytes.apply(tokenId);
        if (size + piece.length > buffer.length) {
            buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, size + piece.length));
        }
        System.arraycopy(piece, 0, buffer, size, piece.length);
        size += piece.length;
        int complete = completePrefix(buffer, size);
        if (complete == 0) {
            return "";
        }
        String text = new String(buffer, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(buffer, complete, buffer, 0, size - complete);
        size -= complete;
        return text;
    }

    /**
     * Length of the prefix that ends on a character boundary: everything except a trailing lead byte
     * whose continuation bytes have not all arrived yet.
     */
    static int completePrefix(byte[] b, int size) {
        for (int back = 1; back <= 3 && back <= size; back++) {
            int c = b[size - back] & 0xFF;
            if ((c & 0xC0) == 0x80) {
                continue; // continuation byte: keep looking for its lead byte
            }
            int expected = c >= 0xF0 && c <= 0xF7 ? 4 : c >= 0xE0 ? (c <= 0xEF ? 3 : 1) : c >= 0xC0 ? 2 : 1;
            return expected > back ? size - back : size;
        }
        return size; // only continuation bytes at the end: invalid, emitted as U+FFFD
    }

    @Override
    public String flush() {
        String text = new String(buffer, 0, size, StandardCharsets.UTF_8);
        size = 0;
        return text;
    }

    @Override
    public boolean hasPendingBytes() {
        return size > 0;
    }
}
