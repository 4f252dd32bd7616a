package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.LE;

import io.kvcache.tensor.internal.Le;
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
 * bytes and high nibbles (no mask of the low nibble, no {@code - 8} per nibble) with activation
 * terms precomputed once per quantization, and its sums are small enough (at most
 * {@code 2 * 8 * 127} per lane) to pair in three instructions instead of four.
 *
 * <p>Both take four rows per pass: they share each block's activation loads and keep four
 * independent FMA chains; the rows left over go one at a time. Q4_0 takes four adjacent rows, Q8_0
 * four rows a quarter of the range apart (see {@link #q8_0}). Every row sums its blocks in order into one
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
    /*
     * High nibbles (w >>> 4 of shorts below 256) come from a 32-bit shift and this mask, which drops
     * the bits the shift brings down from the neighbouring short: C2 compiles a 16-bit shift by a
     * constant through a count register (two more instructions a block), a 32-bit one to an
     * immediate; Q4_0 rows in cache run 4% faster.
     */
    private static final ShortVector LOW_NIBBLE = ShortVector.broadcast(S16, (short) 0x0F);

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
                store(FloatVector.fromArray(F8, x, at + v), id, quants, 32 * b + v);
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
                rounded(FloatVector.fromArray(F8, src, from + v), id).mul(d).intoArray(dst, dstOff + 32 * b + v);
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

    /** {@code rint(v * id)} lane-wise: |v * id| <= 127, so adding and subtracting 1.5 * 2^23 rounds exactly, half to even. */
    private static FloatVector rounded(FloatVector v, float id) {
        return v.mul(id).add(ROUNDING).sub(ROUNDING);
    }

    private static void store(FloatVector v, float id, short[] quants, int at) {
        ((ShortVector) rounded(v, id).convertShape(VectorOperators.F2S, ShortVector.SPECIES_128, 0)).intoArray(quants, at);
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
     * Q4_0 rows {@code [0, count)} of {@code rowBytes} bytes from byte {@code offset}; {@code bias}
     * and {@code high} are {@code QuantizedActivations.q4_0Bias()} and {@code q4_0HighFactors()} of
     * the same quantization as {@code xq}.
     */
    public static void q4_0(MemorySegment seg, long offset, long rowBytes, int count, int blocks, short[] xq,
            float[] xd, short[] bias, short[] high, float[] out, int outOffset) {
        int r = 0;
        for (; r + 4 <= count; r += 4, offset += 4 * rowBytes) {
            q4_0Rows4(seg, offset, rowBytes, blocks, xq, xd, bias, high, out, outOffset + r);
        }
        for (; r < count; r++, offset += rowBytes) {
            out[outOffset + r] = q4_0Row(seg, offset, blocks, xq, xd, bias, high);
        }
    }

    private static float q4_0Row(MemorySegment seg, long offset, int blocks, short[] xq, float[] xd, short[] bias,
            short[] high) {
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++) {
            long o = offset + 18L * b;
            // The bytes widen unsigned: byte k = low + 16 high holds elements k (low) and k + 16
            // (high, one 16-bit shift). byte * x_k + high * (x_k+16 - 16 x_k) = low * x_k +
            // high * x_k+16, plus the bias -8 (x_k + x_k+16), are the products of the signed weights
            // nibble - 8: at most 2 * 8 * 127 in magnitude (16-bit wrap-around in between is
            // harmless: the result fits).
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o + 2, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector n = (ShortVector) w.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsShorts();
            IntVector p = w.mul(ShortVector.fromArray(S16, xq, 32 * b))
                    .add(n.and(LOW_NIBBLE).mul(ShortVector.fromArray(S16, high, 16 * b)))
                    .add(ShortVector.fromArray(S16, bias, 16 * b)).reinterpretAsInts();
            // Pairs whose sum fits 16 bits: adding the int shifted left by 16 puts the pair's sum in
            // the high half (the low half adds zero, so nothing carries), one arithmetic shift
            // brings it down sign-extended.
            FloatVector s = (FloatVector) p.add(p.lanewise(VectorOperators.LSHL, 16))
                    .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            acc = s.fma(FloatVector.broadcast(F8, Float.float16ToFloat(seg.get(Le.SHORT, o)) * xd[b]), acc);
        }
        FloatVector t = acc.add(acc.rearrange(SWAP_HALVES));
        t = t.add(t.rearrange(SWAP_PAIRS));
        return t.add(t.rearrange(SWAP_LANES)).lane(0);
    }

    /**
     * The four rows at {@code offset + k * rowBytes} into {@code out[at + k]}, each summed as
     * {@link #q4_0Row} does.
     */
    private static void q4_0Rows4(MemorySegment seg, long offset, long rowBytes, int blocks, short[] xq, float[] xd,
            short[] bias, short[] high, float[] out, int at) {
        FloatVector acc0 = FloatVector.zero(F8);
        FloatVector acc1 = FloatVector.zero(F8);
        FloatVector acc2 = FloatVector.zero(F8);
        FloatVector acc3 = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++) {
            long o0 = offset + 18L * b;
            long o1 = o0 + rowBytes;
            long o2 = o1 + rowBytes;
            long o3 = o2 + rowBytes;
            ShortVector x0 = ShortVector.fromArray(S16, xq, 32 * b);
            ShortVector h = ShortVector.fromArray(S16, high, 16 * b);
            ShortVector c = ShortVector.fromArray(S16, bias, 16 * b);
            float dx = xd[b];
            // as in q4_0Row
            ShortVector w0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o0 + 2, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector w1 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o1 + 2, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector w2 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o2 + 2, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector w3 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, o3 + 2, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector n0 = (ShortVector) w0.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4)
                    .reinterpretAsShorts();
            IntVector p0 = w0.mul(x0).add(n0.and(LOW_NIBBLE).mul(h)).add(c)
                    .reinterpretAsInts();
            ShortVector n1 = (ShortVector) w1.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4)
                    .reinterpretAsShorts();
            IntVector p1 = w1.mul(x0).add(n1.and(LOW_NIBBLE).mul(h)).add(c)
                    .reinterpretAsInts();
            ShortVector n2 = (ShortVector) w2.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4)
                    .reinterpretAsShorts();
            IntVector p2 = w2.mul(x0).add(n2.and(LOW_NIBBLE).mul(h)).add(c)
                    .reinterpretAsInts();
            ShortVector n3 = (ShortVector) w3.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4)
                    .reinterpretAsShorts();
            IntVector p3 = w3.mul(x0).add(n3.and(LOW_NIBBLE).mul(h)).add(c)
                    .reinterpretAsInts();
            FloatVector s0 = (FloatVector) p0.add(p0.lanewise(VectorOperators.LSHL, 16))
                    .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            FloatVector s1 = (FloatVector) p1.add(p1.lanewise(VectorOperators.LSHL, 16))
                    .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            FloatVector s2 = (FloatVector) p2.add(p2.lanewise(VectorOperators.LSHL, 16))
                    .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            FloatVector s3 = (FloatVector) p3.add(p3.lanewise(VectorOperators.LSHL, 16))
                    .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            acc0 = s0.fma(FloatVector.broadcast(F8, Float.float16ToFloat(seg.get(Le.SHORT, o0)) * dx), acc0);
            acc1 = s1.fma(FloatVector.broadcast(F8, Float.float16ToFloat(seg.get(Le.SHORT, o1)) * dx), acc1);
            acc2 = s2.fma(FloatVector.broadcast(F8, Float.float16ToFloat(seg.get(Le.SHORT, o2)) * dx), acc2);
            acc3 = s3.fma(FloatVector.broadcast(F8, Float.float16ToFloat(seg.get(Le.SHORT, o3)) * dx), acc3);
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
