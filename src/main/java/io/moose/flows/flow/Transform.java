package io.moose.flows.flow;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * A flow's transformation: one record of the source model version in, zero or more records of the
 * target version out. Implementations need a public no-argument constructor and must be thread-safe
 * only per instance: each running hop creates its own instance.
 *
 * <p>Throwing sends the input record to the flow's dead-letter topic; the flow continues.
 */
public interface Transform {

    List<ObjectNode> apply(ObjectNode record) throws Exception;
}
