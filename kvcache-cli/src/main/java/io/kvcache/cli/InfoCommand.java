package io.kvcache.cli;

import io.kvcache.gguf.GgufArray;
import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufTensorInfo;
import io.kvcache.gguf.GgufValue;
import io.kvcache.model.ModelConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code kvcache info MODEL}: metadata and a tensor summary. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Print a GGUF file's metadata and a tensor summary.")
final class InfoCommand implements Callable<Integer> {
    private static final int ARRAY_PREVIEW = 8;

    @Parameters(index = "0", paramLabel = "MODEL", description = "GGUF file")
    Path model = Path.of("");

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @CommandLine.Spec
    @SuppressWarnings("NullAway.Init")
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        ModelOptions.requireFile(model);
        PrintWriter out = spec.commandLine().getOut();
        try (GgufFile file = GgufFile.open(model)) {
            Map<String, Object> info = describe(file);
            if (json) {
                out.println(Json.write(info));
            } else {
                printText(out, file, info);
            }
        }
        return 0;
    }

    private static Map<String, Object> describe(GgufFile file) {
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("file", file.name());
        info.put("size_bytes", file.byteSize());
        info.put("gguf_version", file.version());
        info.put("alignment", file.alignment());
        if (!file.tensors().isEmpty()) {
            try {
                ModelConfig c = ModelConfig.from(file);
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("architecture", c.architecture());
                m.put("name", c.name());
                m.put("layers", c.layers());
                m.put("embedding_length", c.embeddingLength());
                m.put("feed_forward_length", c.feedForwardLength());
                m.put("heads", c.heads());
                m.put("kv_heads", c.kvHeads());
                m.put("head_dim", c.headDim());
                m.put("vocabulary_size", c.vocabularySize());
                m.put("context_length", c.contextLength());
                m.put("rope_base", c.ropeBase());
                m.put("rms_epsilon", c.rmsEpsilon());
                info.put("model", m);
            } catch (RuntimeException e) {
                info.put("model_error", e.getMessage());
            }
        }
        Map<String, Object> metadata = new LinkedHashMap<>();
        file.metadata().asMap().forEach((k, v) -> metadata.put(k, value(v)));
        info.put("metadata", metadata);
        Map<String, Long> byType = new TreeMap<>();
        long params = 0;
        List<Map<String, Object>> tensors = new ArrayList<>();
        for (GgufTensorInfo t : file.tensors()) {
            byType.merge(t.type().name(), 1L, Long::sum);
            params += t.elementCount();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", t.name());
            m.put("type", t.type().name());
            m.put("shape", t.shape());
            m.put("bytes", t.byteSize());
            tensors.add(m);
        }
        info.put("tensor_count", file.tensors().size());
        info.put("parameters", params);
        info.put("tensor_types", byType);
        info.put("tensors", tensors);
        return info;
    }

    private static Object value(GgufValue v) {
        if (v.value() instanceof GgufArray a) {
            return arraySummary(a);
        }
        return v.value();
    }

    private static Map<String, Object> arraySummary(GgufArray a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "array[" + a.elementType() + "]");
        m.put("length", a.length());
        int n = Math.min(ARRAY_PREVIEW, a.length());
        List<Object> first = new ArrayList<>(n);
        switch (a.elementType()) {
            case STRING -> {
                for (int i = 0; i < n; i++) {
                    first.add(a.stringAt(i));
                }
            }
            case FLOAT32, FLOAT64 -> Arrays.stream(a.asDoubles()).limit(n).forEach(first::add);
            case BOOL -> {
                boolean[] b = a.asBooleans();
                for (int i = 0; i < n; i++) {
                    first.add(b[i]);
                }
            }
            case ARRAY -> Arrays.stream(a.asArrays()).limit(n).forEach(x -> first.add(arraySummary(x)));
            default -> Arrays.stream(a.asLongs()).limit(n).forEach(first::add);
        }
        m.put("first", first);
        return m;
    }

    @SuppressWarnings("unchecked")
    private static void printText(PrintWriter out, GgufFile file, Map<String, Object> info) {
        out.printf("%s: GGUF v%d, %,d bytes, %d metadata keys, %d tensors%n", file.name(), file.version(),
                file.byteSize(), file.metadata().size(), file.tensors().size());
        Object model = info.get("model");
        if (model instanceof Map<?, ?> m) {
            out.println();
            out.println("model:");
            ((Map<String, Object>) m).forEach((k, v) -> out.printf("  %-20s %s%n", k, v));
        } else if (info.containsKey("model_error")) {
            out.println("model: cannot run: " + info.get("model_error"));
        }
        out.println();
        out.println("metadata:");
        file.metadata().asMap().forEach((k, v) -> {
            String shown = v.value() instanceof GgufArray a
                    ? a.toString()
                    : String.valueOf(v);
            if (shown.length() > 120) {
                shown = shown.substring(0, 117) + "...";
            }
            out.printf("  %-40s %s%n", k, shown.replace("\n", "\\n"));
        });
        if (!file.tensors().isEmpty()) {
            out.println();
            out.printf("tensors: %,d parameters; by type: %s%n", (Long) info.get("parameters"), info.get("tensor_types"));
            for (GgufTensorInfo t : file.tensors()) {
                out.printf("  %-32s %-6s %s%n", t.name(), t.type(), Arrays.toString(t.shape()));
            }
        }
    }
}
