package io.moose.flows.sync;

import com.fasterxml.jackson.core.io.NumberOutput;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;

import java.io.OutputStream;
import java.util.Arrays;

/**
 * A reusable byte buffer for one row: unlike ByteArrayOutputStream, unsynchronised and readable in
 * place, so a row can be assembled from slices of it and copied to the batch only when complete.
 */
final class RowBuffer extends OutputStream {

    private static final int INITIAL_BYTES = 512;
    /** A buffer grown beyond this (by a huge record) is dropped on reset rather than kept by its thread. */
    private static final int MAX_RETAINED_BYTES = 64 * 1024;
    /** Digits and sign of Integer.MIN_VALUE and Long.MIN_VALUE. */
    private static final int MAX_INT_CHARS = 11;
    private static final int MAX_LONG_CHARS = 20;

    private byte[] bytes = new byte[INITIAL_BYTES];
    private int size;

    @Override
    public void write(int b) {
        ensure(1);
        bytes[size++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, bytes, size, len);
        size += len;
    }

    @Override
    public void write(byte[] b) {
        write(b, 0, b.length);
    }

    /** Decimal digits, as Integer.toString prints them, without a String. */
    void writeDecimal(int value) {
        ensure(MAX_INT_CHARS);
        size = NumberOutput.outputInt(value, bytes, size);
    }

    /** Decimal digits, as Long.toString prints them, without a String. */
    void writeDecimal(long value) {
        ensure(MAX_LONG_CHARS);
        size = NumberOutput.outputLong(value, bytes, size);
    }

    /** Text known to be ASCII (number texts), one byte per char. */
    void writeAscii(String text) {
        ensure(text.length());
        for (int i = 0; i < text.length(); i++) {
            bytes[size++] = (byte) text.charAt(i);
        }
    }

    int size() {
        return size;
    }

    /** The backing array with room for {@code more} bytes after {@link #size()}; see {@link #grew}. */
    byte[] reserve(int more) {
        ensure(more);
        return bytes;
    }

    /** Records bytes written straight into the array {@link #reserve} returned. */
    void grew(int newSize) {
        size = newSize;
    }

    void copyTo(ByteArrayBuilder out) {
        out.write(bytes, 0, size);
    }

    void copyTo(ByteArrayBuilder out, int from, int to) {
        out.write(bytes, from, to - from);
    }

    byte[] toByteArray() {
        return Arrays.copyOf(bytes, size);
    }

    void reset() {
        size = 0;
        if (bytes.length > MAX_RETAINED_BYTES) {
            bytes = new byte[INITIAL_BYTES];
        }
    }

    private void ensure(int more) {
        if (size + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
        }
    }
}
