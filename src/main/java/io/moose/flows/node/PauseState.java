package io.moose.flows.node;

import io.moose.flows.CborSerializable;

/**
 * The persisted state of an entity an operator can pause (a flow or a table sync): paused or not.
 * Its events are what the journal keeps, so a pause survives handoffs, restarts and crashes.
 */
public record PauseState(boolean paused) implements CborSerializable {

    public static final PauseState RUNNING = new PauseState(false);

    public interface Event extends CborSerializable {
    }

    public record Paused() implements Event {
    }

    public record Resumed() implements Event {
    }

    public PauseState apply(Event event) {
        return new PauseState(event instanceof Paused);
    }
}
