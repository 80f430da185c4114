package io.moose.flows.flow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.api.Transform;

import java.util.List;

/**
 * What a transform hop runs on each input record, whatever the user wrote: JSON bytes read into
 * the transform's input ({@code parse} stage), then the outputs as trees ({@code transform} stage),
 * which the hop validates against the target version and writes. One instance per slice; never
 * called concurrently. {@link Transforms#create} makes them.
 */
public interface FlowTransform {

    /** The input the transform takes, read from a record's value. */
    Object read(byte[] json) throws Exception;

    /** The transform applied to what {@link #read} gave. */
    List<ObjectNode> apply(Object input) throws Exception;

    /** The class the user named, for messages. */
    String name();

    /** A JSON-tree {@link Transform}: the input is read by {@link FlatJsonCodec} (an ObjectNode, or the reason it is not one). */
    static FlowTransform tree(Transform transform, ObjectMapper json) {
        FlatJsonCodec codec = new FlatJsonCodec(json);
        return new FlowTransform() {
            @Override
            public Object read(byte[] bytes) throws Exception {
                JsonNode parsed = codec.read(bytes);
                if (!(parsed instanceof ObjectNode)) {
                    throw new TransformStep.InvalidOutputException("input is not a JSON object");
                }
                return parsed;
            }

            @Override
            public List<ObjectNode> apply(Object input) throws Exception {
                return transform.apply((ObjectNode) input);
            }

            @Override
            public String name() {
                return transform.getClass().getName();
            }
        };
    }
}
