package io.moose.flows.api;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * A flow's transformation over JSON trees: one record of the source model version in, zero or more
 * records of the target version out. Implementations need a public no-argument constructor and need
 * not be thread-safe: a running hop creates one instance per slice it transforms in parallel
 * ({@code moose-flows.flow.transform-parallelism}), and never calls one instance concurrently
 * (though not always from the same thread).
 *
 * <p>Throwing sends the input record to the flow's dead-letter topic; the flow continues. So does
 * an output that is not a valid record of the target version.
 *
 * <p>For records bound to Java types, checked against the models when a definition is planned,
 * see {@link RecordTransform}.
 */
public interface Transform {

    List<ObjectNode> apply(ObjectNode record) throws Exception;
}
