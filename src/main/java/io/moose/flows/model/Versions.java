package io.moose.flows.model;

import java.util.Arrays;
import java.util.Comparator;
import java.util.regex.Pattern;

/** Rules for names and version texts, which end up in topic names and SQL identifiers (design section 1). */
public final class Versions {

    public static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9]*");
    public static final Pattern VERSION = Pattern.compile("\\d+(\\.\\d+)*");
    public static final Pattern COLUMN_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]*");

    /** Numeric order: 0.10 comes after 0.9. */
    public static final Comparator<String> ORDER = (a, b) -> {
        int[] x = Arrays.stream(a.split("\\.")).mapToInt(Integer::parseInt).toArray();
        int[] y = Arrays.stream(b.split("\\.")).mapToInt(Integer::parseInt).toArray();
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int c = Integer.compare(i < x.length ? x[i] : 0, i < y.length ? y[i] : 0);
            if (c != 0) {
                return c;
            }
        }
        return 0;
    };

    private Versions() {
    }
}
