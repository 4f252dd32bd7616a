package io.kvcache.tokenizer;

/**
 * llama.cpp's {@code clean_spaces} pass of detokenization (Hugging Face's
 * {@code clean_up_tokenization_spaces}), applied in place to UTF-8 bytes: removes the space in
 * {@code " ?"}, {@code " !"}, {@code " ."}, {@code " ,"}, both spaces around a lone {@code '},
 * and the space before {@code 's 'm 're 've}.
 */
final class SpaceCleanup {

    private SpaceCleanup() {
    }

    /** Cleans {@code text} in place and returns the new length. */
    static int apply(byte[] text) {
        int total = text.length;
        // pass 1: " ?", " !", " .", " ,"
        int length = total == 0 ? 0 : 1;
        for (int i = 1; i < total; i++) {
            byte x = text[i];
            if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) {
                length--;
            }
            text[length++] = x;
        }
        // pass 2: " ' " -> "'"
        total = length;
        length = total == 0 ? 0 : 1;
        for (int i = 1; i < total; i++) {
            byte x = text[i];
            if (x == '\'' && i + 1 < total && text[i - 1] == ' ' && text[i + 1] == ' ') {
                length--;
                text[++i] = 0; // the next space is skipped; llama.cpp overwrites it the same way
            }
            text[length++] = x;
        }
        // pass 3: " 's", " 'm", " 're", " 've"
        total = length;
        length = total == 0 ? 0 : 1;
        for (int i = 1; i < total; i++) {
            byte x = text[i];
            if (text[i - 1] == ' ' && x == '\'' && i + 1 < total) {
                byte x1 = text[i + 1];
                if (x1 == 's' || x1 == 'm') {
                    length--;
                } else if (i + 2 < total) {
                    byte x2 = text[i + 2];
                    if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) {
                        length--;
                    }
                }
            }
            text[length++] = x;
        }
        return length;
    }
}
