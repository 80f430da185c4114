package io.moose.flows.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * CPU time spent between two readings by this JVM (its JIT compiler threads apart) and by the
 * Kafka broker, from /proc (Linux). A side-by-side ratio of rates measures how much more work one
 * side does only while the machine has cores to spare; on a shared machine other tenants take
 * them and a side that needs more CPU loses more. CPU per record is what each side costs whatever
 * the neighbours do, so the bench prints it beside the rates.
 */
final class CpuUse {

    /** Linux's USER_HZ, the unit of /proc's utime and stime; 100 on every common build. */
    private static final long DEFAULT_TICKS_PER_SECOND = 100;
    private static final long TICKS_PER_SECOND = ticksPerSecond();
    /** utime and stime, counted from the field after the command name in /proc/PID/stat. */
    private static final int UTIME_AFTER_COMM = 11;
    private static final int STIME_AFTER_COMM = 12;

    /** The broker's PID (ops/infra pid kafka), or null: the bench then counts this JVM only. */
    private final String brokerPid;

    CpuUse(String brokerPid) {
        this.brokerPid = brokerPid == null || brokerPid.isBlank() ? null : brokerPid.trim();
    }

    boolean countsBroker() {
        return brokerPid != null && Files.exists(Path.of("/proc", brokerPid, "stat"));
    }

    /** CPU seconds so far: this JVM without its compiler threads, the broker. */
    record Reading(double jvm, double broker) {
        /** What was spent from {@code earlier} to this reading, per million of {@code records}. */
        Reading perMillionSince(Reading earlier, long records) {
            double scale = 1e6 / records;
            return new Reading((jvm - earlier.jvm) * scale, (broker - earlier.broker) * scale);
        }

        double total() {
            return jvm + broker;
        }

        @Override
        public String toString() {
            return String.format("JVM %.2f + broker %.2f", jvm, broker);
        }
    }

    /** CPU seconds a process (its every thread) has used so far; 0 when it is gone. */
    static double cpuSeconds(long pid) {
        return ticks(Path.of("/proc", Long.toString(pid), "stat")) / (double) TICKS_PER_SECOND;
    }

    Reading now() {
        long jvm = ticks(Path.of("/proc/self/stat")) - compilerTicks();
        long broker = brokerPid == null ? 0 : ticks(Path.of("/proc", brokerPid, "stat"));
        return new Reading(jvm / (double) TICKS_PER_SECOND, broker / (double) TICKS_PER_SECOND);
    }

    /**
     * The JIT compiles through the first rounds and beyond (C2 still took 0.2-1 s per million
     * records in measured rounds, 2026-12-01), on either side, whichever happens to run then.
     */
    private static long compilerTicks() {
        long sum = 0;
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                String stat = read(task.resolve("stat"));
                if (stat == null) {
                    continue; // the thread ended while we listed
                }
                String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                if (comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")) {
                    sum += ticks(stat);
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return sum;
    }

    /** CPU seconds a process (all its threads) has spent so far; 0 when it is gone. */
    static double processSeconds(long pid) {
        return ticks(Path.of("/proc", Long.toString(pid), "stat")) / (double) TICKS_PER_SECOND;
    }

    private static long ticks(Path stat) {
        String text = read(stat);
        return text == null ? 0 : ticks(text);
    }

    private static long ticks(String stat) {
        // the command name may hold spaces and parentheses: count fields from its closing one
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[UTIME_AFTER_COMM]) + Long.parseLong(fields[STIME_AFTER_COMM]);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null;
        }
    }

    private static long ticksPerSecond() {
        try {
            Process getconf = new ProcessBuilder(List.of("getconf", "CLK_TCK")).redirectErrorStream(true).start();
            String out = new String(getconf.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            return getconf.waitFor(10, TimeUnit.SECONDS) && getconf.exitValue() == 0 ? Long.parseLong(out) : DEFAULT_TICKS_PER_SECOND;
        } catch (IOException | NumberFormatException e) {
            return DEFAULT_TICKS_PER_SECOND;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return DEFAULT_TICKS_PER_SECOND;
        }
    }
}
