package io.moose.flows.model;

import java.util.List;

/**
 * What a definition's transform classes are checked with when it is planned or applied: whether
 * the class can be loaded on this node and fits the flow's model versions. Definitions the cluster
 * already stores are read without it ({@link #NONE}): a node that lacks a class reports the flow as
 * failed instead of refusing to start.
 */
@FunctionalInterface
public interface TransformCheck {

    TransformCheck NONE = (flow, source, target) -> List.of();

    /** What is wrong with the flow's transform class, each a sentence; empty when it can run. */
    List<String> problems(FlowDefinition flow, ModelVersion source, ModelVersion target);
}
