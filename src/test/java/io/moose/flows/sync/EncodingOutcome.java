package io.moose.flows.sync;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** What encoding one record gave, for comparing encoders: the row, or the exception's class and message. */
record EncodingOutcome(byte[] row, String error) {

    /** The sink encodes a batch's slices on this many threads with one encoder. */
    private static final int SLICE_THREADS = 2;

    interface Encoding {
        byte[] run() throws Exception;
    }

    static EncodingOutcome of(Encoding encoding) {
        try {
            return new EncodingOutcome(encoding.run(), null);
        } catch (Exception e) {
            return new EncodingOutcome(null, e.getClass().getName() + ": " + e.getMessage());
        }
    }

    /** Encodes the records on this thread, then on several at once with the same encoder: every outcome must be the same. */
    static void assertSameOnParallelThreads(List<byte[]> records, Function<List<byte[]>, List<EncodingOutcome>> encodeAll)
            throws Exception {
        List<EncodingOutcome> sequential = encodeAll.apply(records);
        ExecutorService threads = Executors.newFixedThreadPool(SLICE_THREADS);
        try {
            List<Future<List<EncodingOutcome>>> parallel = new ArrayList<>();
            for (int t = 0; t < SLICE_THREADS; t++) {
                parallel.add(threads.submit(() -> encodeAll.apply(records)));
            }
            for (Future<List<EncodingOutcome>> result : parallel) {
                List<EncodingOutcome> outcomes = result.get();
                for (int n = 0; n < records.size(); n++) {
                    assertEquals(sequential.get(n).error(), outcomes.get(n).error());
                    assertArrayEquals(sequential.get(n).row(), outcomes.get(n).row());
                }
            }
        } finally {
            threads.shutdownNow();
        }
    }
}
