package io.kvcache.inference;

import java.util.List;

/**
 * Holds back generated text that could be the start of a stop string, so a stop string split
 * across tokens is never emitted. Not thread-safe.
 */
final class StopStringMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean matched;

    StopStringMatcher(List<String> stops) {
        this.stops = stops;
    }

    /**
     * Adds newly decoded text and returns what can be released now. After a stop string is found,
     * {@link #matched()} is true and the text before it is returned; the rest is dropped.
     */
    String accept(String text) {
        if (matched) {
            return "";
        }
        pending.append(text);
        int first = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            matched = true;
            String out = pending.substring(0, first);
            pending.setLength(0);
            return out;
        }
        int keep = longestSuffixThatStartsAStop();
        String out = pending.substring(0, pending.length() - keep);
        pending.delete(0, pending.length() - keep);
        return out;
    }

    /** Releases what is held back (the generation ended for another reason). */
    String flush() {
        String out = pending.toString();
        pending.setLength(0);
        return out;
    }

    boolean matched() {
        return matched;
    }

    /** Whether pending ends with the first {@code len} characters of {@code stop}. */
    private boolean endsWithPrefix(String stop, int len) {
        int from = pending.length() - len;
        for (int i = 0; i < len; i++) {
            if (pending.charAt(from + i) != stop.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private int longestSuffixThatStartsAStop() {
        int best = 0;
        for (String s : stops) {
            int max = Math.min(s.length() - 1, pending.length());
            for (int len = max; len > best; len--) {
                if (endsWithPrefix(s, len)) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }
}
