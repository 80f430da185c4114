package io.moose.flows.sync;

/** What encoding one record gave, for comparing encoders: the row, or the exception's class and message. */
record EncodingOutcome(byte[] row, String error) {

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
}
