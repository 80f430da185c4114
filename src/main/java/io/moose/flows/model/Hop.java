package io.moose.flows.model;

/** The stages records move through; each has its own consumer group and transactional id. */
public enum Hop {
    /** Ingestion topic of a model version into its table. */
    TABLE_SYNC("table-sync"),
    /** Source ingestion topic into a flow's input topic. */
    COPY_IN("copy-in"),
    /** Flow input topic through the transform into the flow's output topic. */
    TRANSFORM("transform"),
    /** A regular flow's output topic into the target ingestion topic. */
    COPY_OUT("copy-out"),
    /** A migration flow's output topic straight into the target table. */
    TO_TABLE("to-table"),
    /** Source table rows below the cut into a flow's input topic. */
    INITIAL_LOAD("initial-load"),
    /** A flow's dead-letter topic through its current transform again (DLQ replay). */
    DLQ_REPLAY("dlq-replay");

    private final String id;

    Hop(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }
}
