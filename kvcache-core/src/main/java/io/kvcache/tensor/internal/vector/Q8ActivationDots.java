package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.LE;

import io.kvcache.tensor.internal.Le;
import io.kvcache.tensor.internal.QuantizedActivations;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Integer dot products of Q8_0 and Q4_0 rows with an activation vector quantized to Q8_0 (see
 * {@code QuantizedActivations}), the way llama.cpp computes them: per block of 32 the int8 x int8
 * products are summed exactly in integers and the sum is scaled once by {@code d_w * d_x}.
 *
 * <p>Per block: the weight quants are widened to 16-lane short vectors and multiplied with the
 * activation's widened quants; the products are added in 16 bits, adjacent pairs are added into
 * 32-bit lanes, and the 8 ints convert to floats for one FMA per block. Q4_0 multiplies unsigned
 * bytes and their high nibbles (no shift, no mask of the low nibble, no {@code - 8} per nibble)
 * with activation terms precomputed once per quantization (see {@link #q4_0}).
 *
 * <p>Both take four rows per pass: they share each block's activation loads and keep four
 * independent FMA chains; the rows left over go one at a time. Q4_0 takes the four rows of a
 * group of its repacked layout, Q8_0 four rows a quarter of the range apart (see {@link #q8_0}). Every row sums its blocks in order into one
 * accumulator in both loops, so a row's result does not depend on how the rows were split between
 * threads. The loops are written out by hand, with no helper that takes or returns a vector: C2
 * stops inlining once a method's graph is large (NodeCountInliningCutoff) or when the caller's
 * profile says so, and a vector crossing a call that is not inlined is boxed: an allocation per
 * block and several times slower.
 *
 * <p>The kernels use 256-bit vectors whatever the preferred width (an AVX-512 machine runs them
 * as they are). Stateless, thread-safe.
 */
public final class Q8ActivationDots {
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    /** Adding then subtracting 1.5 * 2^23 rounds a float of magnitude below 2^22 to an integer, half to even. */
    private static final float ROUNDING = 12582912f;
    /*
     * The 8 lanes of an accumulator are summed by a fixed tree of lanewise adds, not reduceLanes:
     * C2's reduction adds in another order than the Java fallback that runs until C2 compiles a
     * kernel, and a row's result must not depend on which ran it.
     */
    private static final VectorShuffle<Float> SWAP_HALVES = VectorShuffle.fromValues(F8, 4, 5, 6, 7, 0, 1, 2, 3);
    private static final VectorShuffle<Float> SWAP_PAIRS = VectorShuffle.fromValues(F8, 2, 3, 0, 1, 6, 7, 4, 5);
    private static final VectorShuffle<Float> SWAP_LANES = VectorShuffle.fromValues(F8, 1, 0, 3, 2, 5, 4, 7, 6);
    /** Q4_0: the high nibble of each widened byte, times 16 (see {@code QuantizedActivations.q4_0Terms}). */
    private static final ShortVector HIGH_NIBBLE = ShortVector.broadcast(S16, (short) 0xF0);
    /** Q4_0: the even short of each int, read unsigned. */
    private static final IntVector LOW_HALF = IntVector.broadcast(IntVector.SPECIES_256, 0xFFFF);
    /** Q4_0: the offset the terms put in each even short. */
    private static final IntVector EVEN_OFFSET = IntVector.broadcast(IntVector.SPECIES_256, 0x8000);

    private Q8ActivationDots() {
    }

    /**
     * Quantizes {@code x[offset .. offset + n)} into {@code quants[0 .. n)} and
     * {@code scales[0 .. n / 32)}, bit-identical to llama.cpp's AVX2 {@code quantize_row_q8_0}.
     */
    public static void quantize(float[] x, int offset, int n, short[] quants, float[] scales) {
        for (int b = 0; b < n / 32; b++) {
            int at = offset + 32 * b;
            float amax = blockMax(x, at);
            scales[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax != 0f ? 127f / amax : 0f;
            for (int v = 0; v < 32; v += 8) {
                // rint(x * id), exact for |x * id| <= 127 (see ROUNDING); written out here, not in a
                // helper: a vector passed to a method C2 did not inline is boxed (measured: 2 KiB per
                // 256-element quantization when the helper this replaced was told not to inline)
                ((ShortVector) FloatVector.fromArray(F8, x, at + v).mul(id).add(ROUNDING).sub(ROUNDING)
                        .convertShape(VectorOperators.F2S, ShortVector.SPECIES_128, 0)).intoArray(quants, 32 * b + v);
            }
        }
    }

    /**
     * {@code dst[dstOff + i] = d * q} of every element quantized as {@link #quantize} does, per block of
     * 32 ({@code n % 32 == 0}): the inputs of a batched float product that agrees with these kernels.
     */
    public static void roundTrip(float[] src, int srcOff, int n, float[] dst, int dstOff) {
        for (int b = 0; b < n / 32; b++) {
            int from = srcOff + 32 * b;
            float amax = blockMax(src, from);
            float d = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax != 0f ? 127f / amax : 0f;
            for (int v = 0; v < 32; v += 8) {
                // as in quantize
                FloatVector.fromArray(F8, src, from + v).mul(id).add(ROUNDING).sub(ROUNDING).mul(d)
                        .intoArray(dst, dstOff + 32 * b + v);
            }
        }
    }

    /** {@code max |x[at .. at + 32)|}. */
    private static float blockMax(float[] x, int at) {
        FloatVector v0 = FloatVector.fromArray(F8, x, at).abs();
        FloatVector v1 = FloatVector.fromArray(F8, x, at + 8).abs();
        FloatVector v2 = FloatVector.fromArray(F8, x, at + 16).abs();
        FloatVector v3 = FloatVector.fromArray(F8, x, at + 24).abs();
        return v0.max(v1).max(v2.max(v3)).reduceLanes(VectorOperators.MAX);
    }

    /**
     * Q8_0 rows {@code [0, count)} of {@code rowBytes} bytes from byte {@code offset}, four rows per
     * pass taken a quarter of the range apart (rows {@code r}, {@code r + q}, {@code r + 2q},
     * {@code r + 3q}), then the rows left over one at a time. Q8_0 decoding streams each matrix from
     * memory once per token, and one pass then reads four independent streams: more cache-line fetches
     * in flight than one row at a time, which left memory bandwidth unused (bench-110m Q8_0 decode,
     * medians of 8-10 interleaved runs: 125-131 t/s one row at a time, 153-157 with two streams,
     * 160-170 with four). Four <i>adjacent</i> rows are one stream with four times the work between fetches, and
     * measured slower than one row (11.0 against 6.2 ms of matvecs per token), although they win on a
     * matrix that stays in cache.
     */
    public static void q8_0(MemorySegment seg, long offset, long rowBytes, int count, int blocks, short[] xq,
            float[] xd, float[] out, int outOffset) {
        int quarter = count / 4;
        for (int r = 0; r < quarter; r++) {
            q8_0Rows4(seg, offset + r * rowBytes, quarter * rowBytes, blocks, xq, xd, out, outOffset + r, quarter);
        }
        for (int r = 4 * quarter; r < count; r++) {
            out[outOffset + r] = q8_0Row(seg, offset + r * rowBytes, blocks, xq, xd);
        }
    }

    /**
     * The rows at {@code offset + k * stride} into {@code out[at + k * outStride]} for {@code k < 4},
     * each summed exactly as {@link #q8_0Row} sums it.
     */
    private static void q8_0Rows4(MemorySegment seg, long offset, long stride, int blocks, short[] xq, float[] xd,
            float[] out, int at, int outStride) {
        FloatVector acc0 = FloatVector.zero(F8);
        FloatVector acc1 = FloatVector.zero(F8);
        FloatVector acc2 = FloatVector.zero(F8);
        FloatVector acc3 = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++) {
            long o0 = offset + 34L * b;
            long o1 = o0 + stride;
            long o2 = o1 + stride;
            long o3 = o2 + stride;
            ShortVector xa = ShortVector.fromArray(S16, xq, 32 * b);
            ShortVector xb = ShortVector.fromArray(S16, xq, 32 * b + 16);
            float dx = xd[b];
            // as in q8_0Row, one row after the other: all four rows' products at once need more
            // vector registers than AVX2 has
            IntVector p = ((ShortVector) ByteVector.fromMemorySegment(B16, seg, o0 + 2, LE)
                    .convertShape(VectorOperators.B2S, S16, 0)).mul(xa)
                    .add(((ShortVector) ByteVector.fromMemorySegment(B16, seg, o0 + 18, LE)
                            .convertShape(VectorOperators.B2S, S16, 0)).mul(xb))
                    .reinterpretAsInts();
            FloatVector s = (FloatVector) p.lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            acc0 = s.fma(FloatVector.broadcast(F8, Float.float16ToFloat(seg.get(Le.SHORT, o0)) * dx), acc0);
            p = ((ShortVector) ByteVector.fromMemorySegment(B16, seg, o1 + 2, LE)
                    .convertShape(VectorOperators.B2S, S16, 0)).mul(xa)
                    .add(((ShortVector) ByteVector.fromMemorySegment(B16, seg, o1 + 18, LE)
                            .convertShape(VectorOperators.B2S, S16, 0)).mul(xb))
                    .reinterpretAsInts();
            s = (FloatVector) p.lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            acc1 = s.fma(FloatVector.broadcast(F8, Float.float16ToFloat(seg.get(Le.SHORT, o1)) * dx), acc1);
            p = ((ShortVector) ByteVector.fromMemorySegment(B16, seg, o2 + 2, LE)
                    .convertShape(VectorOperators.B2S, S16, 0)).mul(xa)
                    .add(((ShortVector) ByteVector.fromMemorySegment(B16, seg, o2 + 18, LE)
                            .convertShape(VectorOperators.B2S, S16, 0)).mul(xb))
                    .reinterpretAsInts();
            s = (FloatVector) p.lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            acc2 = s.fma(FloatVector.broadcast(F8, Float.float16ToFloat(seg.get(Le.SHORT, o2)) * dx), acc2);
            p = ((ShortVector) ByteVector.fromMemorySegment(B16, seg, o3 + 2, LE)
                    .convertShape(VectorOperators.B2S, S16, 0)).mul(xa)
                    .add(((ShortVector) ByteVector.fromMemorySegment(B16, seg, o3 + 18, LE)
                            .convertShape(VectorOperators.B2S, S16, 0)).mul(xb))
                    .reinterpretAsInts();
            s = (FloatVector) p.lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            acc3 = s.fma(FloatVector.broadcast(F8, Float.float16ToFloat(seg.get(Le.SHORT, o3)) * dx), acc3);
        }
        FloatVector t0 = acc0.add(acc0.rearrange(SWAP_HALVES));
        FloatVector t1 = acc1.add(acc1.rearrange(SWAP_HALVES));
        FloatVector t2 = acc2.add(acc2.rearrange(SWAP_HALVES));
        FloatVector t3 = acc3.add(acc3.rearrange(SWAP_HALVES));
        t0 = t0.add(t0.rearrange(SWAP_PAIRS));
        t1 = t1.add(t1.rearrange(SWAP_PAIRS));
        t2 = t2.add(t2.rearrange(SWAP_PAIRS));
        t3 = t3.add(t3.rearrange(SWAP_PAIRS));
        out[at] = t0.add(t0.rearrange(SWAP_LANES)).lane(0);
        out[at + outStride] = t1.add(t1.rearrange(SWAP_LANES)).lane(0);
        out[at + 2 * outStride] = t2.add(t2.rearrange(SWAP_LANES)).lane(0);
        out[at + 3 * outStride] = t3.add(t3.rearrange(SWAP_LANES)).lane(0);
    }

    /**
     * {@link #q8_0} against two activations at once ({@code xq0, xd0} into {@code out0} and
     * {@code xq1, xd1} into {@code out1}): each block's weights are loaded and widened once for
     * both, two rows a pass taken half the range apart (four accumulators). Every product is summed
     * exactly as {@link #q8_0Row} sums it, so the results are bit-identical to two {@link #q8_0}
     * calls; this is the matvec of a batch of two or three sequences, whose one-at-a-time products
     * each widened every weight again.
     */
    public static void q8_0Pair(MemorySegment seg, long offset, long rowBytes, int count, int blocks,
            short[] xq0, float[] xd0, short[] xq1, float[] xd1, float[] out0, int out0Offset, float[] out1,
            int out1Offset) {
        int half = count / 2;
        for (int r = 0; r < half; r++) {
            q8_0Rows2Pair(seg, offset + r * rowBytes, half * rowBytes, blocks, xq0, xd0, xq1, xd1, out0,
                    out0Offset + r, out1, out1Offset + r, half);
        }
        if ((count & 1) != 0) {
            long last = offset + (count - 1) * rowBytes;
            out0[out0Offset + count - 1] = q8_0Row(seg, last, blocks, xq0, xd0);
            out1[out1Offset + count - 1] = q8_0Row(seg, last, blocks, xq1, xd1);
        }
    }

    /** Rows at {@code offset} and {@code offset + stride}, each against both activations. */
    private static void q8_0Rows2Pair(MemorySegment seg, long offset, long stride, int blocks, short[] xq0,
            float[] xd0, short[] xq1, float[] xd1, float[] out0, int at0, float[] out1, int at1, int outStride) {
        FloatVector a00 = FloatVector.zero(F8); // row 0, activation 0
        FloatVector a01 = FloatVector.zero(F8);
        FloatVector a10 = FloatVector.zero(F8);
        FloatVector a11 = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++) {
            long o0 = offset + 34L * b;
            long o1 = o0 + stride;
            ShortVector xa0 = ShortVector.fromArray(S16, xq0, 32 * b);
            ShortVector xb0 = ShortVector.fromArray(S16, xq0, 32 * b + 16);
            ShortVector xa1 = ShortVector.fromArray(S16, xq1, 32 * b);
            ShortVector xb1 = ShortVector.fromArray(S16, xq1, 32 * b + 16);
            float dx0 = xd0[b];
            float dx1 = xd1[b];
            // as in q8_0Row
            ShortVector lo = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o0 + 2, LE)
                    .convertShape(VectorOperators.B2S, S16, 0);
            ShortVector hi = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o0 + 18, LE)
                    .convertShape(VectorOperators.B2S, S16, 0);
            float dw = Float.float16ToFloat(seg.get(Le.SHORT, o0));
            IntVector p = lo.mul(xa0).add(hi.mul(xb0)).reinterpretAsInts();
            FloatVector s = (FloatVector) p.lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            a00 = s.fma(FloatVector.broadcast(F8, dw * dx0), a00);
            p = lo.mul(xa1).add(hi.mul(xb1)).reinterpretAsInts();
            s = (FloatVector) p.lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            a01 = s.fma(FloatVector.broadcast(F8, dw * dx1), a01);
            lo = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o1 + 2, LE)
                    .convertShape(VectorOperators.B2S, S16, 0);
            hi = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o1 + 18, LE)
                    .convertShape(VectorOperators.B2S, S16, 0);
            dw = Float.float16ToFloat(seg.get(Le.SHORT, o1));
            p = lo.mul(xa0).add(hi.mul(xb0)).reinterpretAsInts();
            s = (FloatVector) p.lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            a10 = s.fma(FloatVector.broadcast(F8, dw * dx0), a10);
            p = lo.mul(xa1).add(hi.mul(xb1)).reinterpretAsInts();
            s = (FloatVector) p.lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            a11 = s.fma(FloatVector.broadcast(F8, dw * dx1), a11);
        }
        FloatVector t00 = a00.add(a00.rearrange(SWAP_HALVES));
        FloatVector t01 = a01.add(a01.rearrange(SWAP_HALVES));
        FloatVector t10 = a10.add(a10.rearrange(SWAP_HALVES));
        FloatVector t11 = a11.add(a11.rearrange(SWAP_HALVES));
        t00 = t00.add(t00.rearrange(SWAP_PAIRS));
        t01 = t01.add(t01.rearrange(SWAP_PAIRS));
        t10 = t10.add(t10.rearrange(SWAP_PAIRS));
        t11 = t11.add(t11.rearrange(SWAP_PAIRS));
        out0[at0] = t00.add(t00.rearrange(SWAP_LANES)).lane(0);
        out1[at1] = t01.add(t01.rearrange(SWAP_LANES)).lane(0);
        out0[at0 + outStride] = t10.add(t10.rearrange(SWAP_LANES)).lane(0);
        out1[at1 + outStride] = t11.add(t11.rearrange(SWAP_LANES)).lane(0);
    }

    private static float q8_0Row(MemorySegment seg, long offset, int blocks, short[] xq, float[] xd) {
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++) {
            long o = offset + 34L * b;
            // The 32 products added in pairs into 16 shorts: at most 2 * 128 * 127 = 32512 in magnitude.
            IntVector p = ((ShortVector) ByteVector.fromMemorySegment(B16, seg, o + 2, LE)
                    .convertShape(VectorOperators.B2S, S16, 0)).mul(ShortVector.fromArray(S16, xq, 32 * b))
                    .add(((ShortVector) ByteVector.fromMemorySegment(B16, seg, o + 18, LE)
                            .convertShape(VectorOperators.B2S, S16, 0))
                            .mul(ShortVector.fromArray(S16, xq, 32 * b + 16)))
                    .reinterpretAsInts();
            // Adjacent shorts summed into ints: lane k holds short 2k in its low and 2k + 1 in its
            // high half; two arithmetic shifts extract both sign-extended.
            FloatVector s = (FloatVector) p.lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            acc = s.fma(FloatVector.broadcast(F8, Float.float16ToFloat(seg.get(Le.SHORT, o)) * xd[b]), acc);
        }
        FloatVector t = acc.add(acc.rearrange(SWAP_HALVES));
        t = t.add(t.rearrange(SWAP_PAIRS));
        return t.add(t.rearrange(SWAP_LANES)).lane(0);
    }

    /**
     * Rows {@code [first, first + count)} of a Q4_0 matrix in {@code Q4_0Matrix}'s grouped layout
     * (from byte 0 of {@code seg}, {@code blocks} blocks per row; see {@link PanelDequant#q4_0})
     * into {@code out[outOffset ..)}; {@code terms} are {@code QuantizedActivations.q4_0Terms()} of
     * the quantization whose scales are {@code xd}.
     *
     * <p>Per row and block: the 16 unsigned bytes widen to shorts {@code w}, and
     * {@code w * [k] + (w & 0xF0) * [16 + k] + [32 + k]} is 16 times the block's products in
     * 16-bit lanes. Adjacent lanes sum into 32 bits without a second shift: the even lane reads
     * unsigned ({@code & 0xFFFF}, offset by {@code 0x8000}), the odd one signed ({@code >> 16}).
     * The int sums convert to floats exactly, are scaled by the row's float {@code d}, and meet
     * {@code d_x / 16} (exact) in one FMA. A whole group takes one pass; the rows of a group the
     * range cuts go one at a time, with the same operations per row, so a row's result does not
     * depend on how the rows were split between threads.
     */
    public static void q4_0(MemorySegment seg, int first, int count, int blocks, short[] terms, float[] xd,
            float[] out, int outOffset) {
        long groupBytes = (long) blocks * PanelDequant.Q4_0_GROUP_BLOCK;
        int row = first;
        int end = first + count;
        for (; row < end && (row % 4 != 0 || end - row < 4); row++) {
            out[outOffset + row - first] = q4_0Row(seg, row / 4 * groupBytes, row % 4, blocks, terms, xd);
        }
        for (; row + 4 <= end; row += 4) {
            q4_0Rows4(seg, row / 4 * groupBytes, blocks, terms, xd, out, outOffset + row - first);
        }
        for (; row < end; row++) {
            out[outOffset + row - first] = q4_0Row(seg, row / 4 * groupBytes, row % 4, blocks, terms, xd);
        }
    }

    private static float q4_0Row(MemorySegment seg, long offset, int k, int blocks, short[] terms, float[] xd) {
        FloatVector acc = FloatVector.zero(F8);
        long quants = offset + 16 + 16L * k;
        long scale = offset + 4L * k;
        for (int b = 0; b < blocks; b++) {
            long o = (long) PanelDequant.Q4_0_GROUP_BLOCK * b;
            int t = QuantizedActivations.Q4_0_TERMS * b;
            FloatVector dx = FloatVector.broadcast(F8, xd[b] * 0.0625f);
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, seg, quants + o, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            IntVector p = w.mul(ShortVector.fromArray(S16, terms, t))
                    .add(w.and(HIGH_NIBBLE).mul(ShortVector.fromArray(S16, terms, t + 16)))
                    .add(ShortVector.fromArray(S16, terms, t + 32)).reinterpretAsInts();
            acc = ((FloatVector) p.and(LOW_HALF).add(p.lanewise(VectorOperators.ASHR, 16)).sub(EVEN_OFFSET)
                    .convert(VectorOperators.I2F, 0))
                    .mul(seg.get(Le.FLOAT, scale + o)).fma(dx, acc);
        }
        FloatVector t = acc.add(acc.rearrange(SWAP_HALVES));
        t = t.add(t.rearrange(SWAP_PAIRS));
        return t.add(t.rearrange(SWAP_LANES)).lane(0);
    }

    /**
     * The four rows of the group at byte {@code offset} into {@code out[at .. at + 4)}, each summed
     * as {@link #q4_0Row} does. Each row is finished before the next is started, which keeps C2
     * from hoisting all four rows' loads and spilling an accumulator.
     */
    private static void q4_0Rows4(MemorySegment seg, long offset, int blocks, short[] terms, float[] xd, float[] out,
            int at) {
        FloatVector acc0 = FloatVector.zero(F8);
        FloatVector acc1 = FloatVector.zero(F8);
        FloatVector acc2 = FloatVector.zero(F8);
        FloatVector acc3 = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) PanelDequant.Q4_0_GROUP_BLOCK * b;
            int t = QuantizedActivations.Q4_0_TERMS * b;
            ShortVector x = ShortVector.fromArray(S16, terms, t);
            ShortVector h = ShortVector.fromArray(S16, terms, t + 16);
            ShortVector c = ShortVector.fromArray(S16, terms, t + 32);
            FloatVector dx = FloatVector.broadcast(F8, xd[b] * 0.0625f);
            // as in q4_0Row
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o + 16, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            IntVector p = w.mul(x).add(w.and(HIGH_NIBBLE).mul(h)).add(c).reinterpretAsInts();
            acc0 = ((FloatVector) p.and(LOW_HALF).add(p.lanewise(VectorOperators.ASHR, 16)).sub(EVEN_OFFSET)
                    .convert(VectorOperators.I2F, 0)).mul(seg.get(Le.FLOAT, o)).fma(dx, acc0);
            w = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o + 32, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            p = w.mul(x).add(w.and(HIGH_NIBBLE).mul(h)).add(c).reinterpretAsInts();
            acc1 = ((FloatVector) p.and(LOW_HALF).add(p.lanewise(VectorOperators.ASHR, 16)).sub(EVEN_OFFSET)
                    .convert(VectorOperators.I2F, 0)).mul(seg.get(Le.FLOAT, o + 4)).fma(dx, acc1);
            w = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o + 48, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            p = w.mul(x).add(w.and(HIGH_NIBBLE).mul(h)).add(c).reinterpretAsInts();
            acc2 = ((FloatVector) p.and(LOW_HALF).add(p.lanewise(VectorOperators.ASHR, 16)).sub(EVEN_OFFSET)
                    .convert(VectorOperators.I2F, 0)).mul(seg.get(Le.FLOAT, o + 8)).fma(dx, acc2);
            w = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o + 64, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            p = w.mul(x).add(w.and(HIGH_NIBBLE).mul(h)).add(c).reinterpretAsInts();
            acc3 = ((FloatVector) p.and(LOW_HALF).add(p.lanewise(VectorOperators.ASHR, 16)).sub(EVEN_OFFSET)
                    .convert(VectorOperators.I2F, 0)).mul(seg.get(Le.FLOAT, o + 12)).fma(dx, acc3);
        }
        FloatVector t0 = acc0.add(acc0.rearrange(SWAP_HALVES));
        FloatVector t1 = acc1.add(acc1.rearrange(SWAP_HALVES));
        FloatVector t2 = acc2.add(acc2.rearrange(SWAP_HALVES));
        FloatVector t3 = acc3.add(acc3.rearrange(SWAP_HALVES));
        t0 = t0.add(t0.rearrange(SWAP_PAIRS));
        t1 = t1.add(t1.rearrange(SWAP_PAIRS));
        t2 = t2.add(t2.rearrange(SWAP_PAIRS));
        t3 = t3.add(t3.rearrange(SWAP_PAIRS));
        out[at] = t0.add(t0.rearrange(SWAP_LANES)).lane(0);
        out[at + 1] = t1.add(t1.rearrange(SWAP_LANES)).lane(0);
        out[at + 2] = t2.add(t2.rearrange(SWAP_LANES)).lane(0);
        out[at + 3] = t3.add(t3.rearrange(SWAP_LANES)).lane(0);
    }

}
