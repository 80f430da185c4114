package io.moose.flows.hop;

import java.util.Optional;

/**
 * A snapshot of one hop for admin and the actors that own it.
 *
 * @param owner        the flow id, or the model version's base name for a table sync
 * @param hop          {@code copy-in}, {@code transform}, {@code copy-out}, {@code to-table} or {@code table-sync}
 * @param lastError    the failure that made the hop restart; empty once a later run is running again
 * @param processed    records this hop has moved since its runner started
 * @param perSecond    records per second over the last status interval
 * @param lag          records in the hop's input topic not yet committed by it (end offsets minus
 *                     committed offsets, refreshed every status interval; -1 before the first refresh).
 *                     Transaction markers count as offsets, so an idle transactional topic may show a
 *                     lag of a few records.
 * @param deadLettered records sent to the dead-letter topic (transform hop) or skipped as invalid (table sink)
 */
public record HopStatus(String owner, String hop, HopState state, Optional<String> lastError,
                        long processed, double perSecond, long lag, long deadLettered) {
}
