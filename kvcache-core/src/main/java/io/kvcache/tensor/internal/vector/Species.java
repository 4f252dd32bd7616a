package io.kvcache.tensor.internal.vector;

import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Species shared by the kernels: the preferred float species (8 or 16 lanes, checked by
 * VectorSupport) and byte/short/int species with the same lane count, so a load of L quants
 * widens to exactly one float vector. {@code -Dkvcache.vector.bits=256|512} overrides the
 * preferred shape, so tests can run the 16-lane code on an AVX2 machine (emulated, slowly) and
 * the 8-lane code on an AVX-512 one.
 */
final class Species {
    static final VectorSpecies<Float> F = switch (System.getProperty("kvcache.vector.bits", "")) {
        case "256" -> FloatVector.SPECIES_256;
        case "512" -> FloatVector.SPECIES_512;
        default -> FloatVector.SPECIES_PREFERRED;
    };
    static final int L = F.length();
    static final VectorSpecies<Byte> B = L == 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    static final VectorSpecies<Short> S = L == 16 ? ShortVector.SPECIES_256 : ShortVector.SPECIES_128;
    static final VectorSpecies<Integer> I = F.withLanes(int.class);
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Species() {
    }
}
