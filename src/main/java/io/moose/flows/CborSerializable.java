package io.moose.flows;

/** Marker for messages and persisted events: serialized with Jackson CBOR (see moose-akka.conf). */
public interface CborSerializable {
}
