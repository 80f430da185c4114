package io.moose.flows.bench;

/** How a bench's main runs its body: a failure exits 1 at once, success exits 0. */
final class BenchMain {

    interface Body {
        void run() throws Exception;
    }

    private BenchMain() {
    }

    /** The Akka system's non-daemon threads would otherwise keep a failed bench's JVM (and ops/bench, BenchSmokeIT) waiting. */
    static void exitWith(Body body) {
        try {
            body.run();
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }
}
