package io.moose.flows.testing;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Busy-loop processes beside the nodes, so a test (or the chaos {@code starve} fault) takes the
 * machine's CPUs from them as other programs on a busy host would. Each burner is
 * {@code timeout LIMIT sh -c 'while :; do :; done'} started through {@code setsid}, so it is the
 * leader of a process group of its own that holds only itself and its shell: {@link #close()} kills
 * that whole group with SIGKILL (killing {@code timeout} alone left its spinning child running), and
 * {@code timeout} ends the group by itself after the limit should this JVM die first.
 */
public final class CpuBurners implements AutoCloseable {

    private final List<Process> processes;

    private CpuBurners(List<Process> processes) {
        this.processes = processes;
    }

    /** Starts {@code count} burners, each ending by itself after {@code limit} at the latest. */
    public static CpuBurners start(int count, Duration limit) {
        List<Process> started = new ArrayList<>();
        CpuBurners burners = new CpuBurners(started);
        try {
            for (int i = 0; i < count; i++) {
                started.add(new ProcessBuilder("setsid", "timeout", "-s", "KILL", Long.toString(Math.max(1, limit.toSeconds())),
                        "sh", "-c", "while :; do :; done")
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
            }
        } catch (IOException e) {
            burners.close();
            throw new IllegalStateException("cannot start a CPU burner", e);
        }
        return burners;
    }

    public int count() {
        return processes.size();
    }

    public boolean allAlive() {
        return processes.stream().allMatch(Process::isAlive);
    }

    /** Kills every burner's process group and waits until each burner and its shell are gone. */
    @Override
    public void close() {
        for (Process burner : processes) {
            List<ProcessHandle> shells = burner.descendants().toList();
            // setsid exec'd timeout(1) in place (a child of the JVM is no group leader), so the group id is its pid.
            try {
                new ProcessBuilder("kill", "-KILL", "--", "-" + burner.pid())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
                        .waitFor(10, TimeUnit.SECONDS);
            } catch (IOException e) {
                // kill(1) missing: the handles below still end them one by one.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            shells.forEach(ProcessHandle::destroyForcibly);
            burner.destroyForcibly();
        }
        for (Process burner : processes) {
            try {
                burner.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
