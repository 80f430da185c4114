package io.moose.flows.flow;

import io.moose.flows.CborSerializable;

/**
 * What an operator sees of one hop: crosses nodes in admin replies, so it is a plain record.
 *
 * @param state      running, restarting or stopped
 * @param lag        records behind the end of the hop's source, -1 when not known yet
 * @param lastError  the error that caused the latest restart, "" when none is outstanding
 */
public record HopView(String hop, String state, long records, double ratePerSecond, long lag,
                      long deadLetters, String lastError) implements CborSerializable {
}
