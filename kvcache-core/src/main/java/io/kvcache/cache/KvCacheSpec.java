package io.kvcache.cache;

import java.util.Objects;

/**
 * The shape of a KV cache, from explicit dimensions. Immutable and thread-safe.
 *
 * <p>The constructor validates every dimension (positive, products fit their types, Q8_0 needs
 * {@code headDim % 32 == 0}) and throws {@link IllegalArgumentException} naming the field and how to
 * fix it.
 *
 * @param layers transformer layers whose K/V are cached
 * @param kvHeads key/value heads per layer (fewer than query heads with grouped-query attention)
 * @param headDim elements per head
 * @param contextLength positions a sequence can hold (its capacity)
 * @param keyType storage type of keys
 * @param valueType storage type of values
 * @param blockSize positions per block (the unit of allocation, sharing and prefix caching)
 */
public record KvCacheSpec(int layers, int kvHeads, int headDim, int contextLength,
                          KvElementType keyType, KvElementType valueType, int blockSize) {

    /** Default positions per block. */
    public static final int DEFAULT_BLOCK_SIZE = 16;

    public KvCacheSpec {
        Objects.requireNonNull(keyType, "keyType");
        Objects.requireNonNull(valueType, "valueType");
        requirePositive("layers", layers);
        requirePositive("kvHeads", kvHeads);
        requirePositive("headDim", headDim);
        requirePositive("contextLength", contextLength);
        requirePositive("blockSize", blockSize);
        for (KvElementType type : new KvElementType[] {keyType, valueType}) {
            if (type == KvElementType.Q8_0 && headDim % KvElementType.Q8_0_GROUP != 0) {
                throw new IllegalArgumentException("Q8_0 needs headDim to be a multiple of 32, was "
                        + headDim + " (use F16 or F32 for this model)");
            }
        }
        try {
            Math.multiplyExact(kvHeads, headDim);
            long perLayerRow = Math.addExact(keyType.bytesFor(headDim), valueType.bytesFor(headDim));
            long perToken = Math.multiplyExact(Math.multiplyExact(perLayerRow, (long) layers), (long) kvHeads);
            long perBlock = Math.multiplyExact(perToken, (long) blockSize);
            Math.multiplyExact(perToken, (long) contextLength);
            if (perBlock > Integer.MAX_VALUE) {
                throw new ArithmeticException("block too large");
            }
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("KV cache dimensions overflow: layers=" + layers + ", kvHeads="
                    + kvHeads + ", headDim=" + headDim + ", blockSize=" + blockSize + ", contextLength="
                    + contextLength + " (kvHeads*headDim must fit an int and one block must stay under 2 GiB;"
                    + " reduce blockSize or check the dimensions)");
        }
    }

    private static void requirePositive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, was " + value
                    + " (set KvCacheSpec.Builder." + name + "(...) to the model's value)");
        }
    }

    /** A builder; defaults: F32 keys and values, block size 16. Not thread-safe. */
    public static Builder builder() {
        return new Builder();
    }

    /** Elements of one position's K (or V) for one layer: {@code kvHeads * headDim}. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Bytes of K and V for one position across all layers and heads (Q8_0 scales included). */
    public long bytesPerToken() {
        return (keyType.bytesFor(headDim) + valueType.bytesFor(headDim)) * layers * kvHeads;
    }

    /** Bytes of one block: {@code bytesPerToken() * blockSize}. */
    public long bytesPerBlock() {
        return bytesPerToken() * blockSize;
    }

    /** Blocks needed to hold {@code positions} positions. */
    public int blocksFor(int positions) {
        return (int) (((long) positions + blockSize - 1) / blockSize);
    }

    /** Builds a {@link KvCacheSpec}. Not thread-safe. */
    public static final class Builder {
        private int layers;
        private int kvHeads;
        private int headDim;
        private int contextLength;
        private KvElementType keyType = KvElementType.F32;
        private KvElementType valueType = KvElementType.F32;
        private int blockSize = DEFAULT_BLOCK_SIZE;

        private Builder() {
        }

        public Builder layers(int layers) {
            this.layers = layers;
            return this;
        }

        public Builder kvHeads(int kvHeads) {
            this.kvHeads = kvHeads;
            return this;
        }

        public Builder headDim(int headDim) {
            this.headDim = headDim;
            return this;
        }

        public Builder contextLength(int contextLength) {
            this.contextLength = contextLength;
            return this;
        }

        public Builder keyType(KvElementType keyType) {
            this.keyType = Objects.requireNonNull(keyType, "keyType");
            return this;
        }

        public Builder valueType(KvElementType valueType) {
            this.valueType = Objects.requireNonNull(valueType, "valueType");
            return this;
        }

        /** Sets both key and value types. */
        public Builder elementType(KvElementType type) {
            return keyType(type).valueType(type);
        }

        public Builder blockSize(int blockSize) {
            this.blockSize = blockSize;
            return this;
        }

        /** @throws IllegalArgumentException if a dimension is missing or invalid */
        public KvCacheSpec build() {
            return new KvCacheSpec(layers, kvHeads, headDim, contextLength, keyType, valueType, blockSize);
        }
    }
}
