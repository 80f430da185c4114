package io.moose.flows.flow;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.api.Transform;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.RecordValidator;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One input record through the user's transform: the outputs for the flow's output topic, or,
 * when the transform throws or an output is not a valid record of the target version, one record
 * for the dead-letter topic with the original bytes and the error in headers (the names follow
 * Kafka Connect's {@code __connect.errors.*} with our own prefix).
 */
public final class TransformStep {

    public static final String HEADER_PREFIX = "moose.errors.";
    public static final String ERROR_TOPIC = HEADER_PREFIX + "topic";
    public static final String ERROR_PARTITION = HEADER_PREFIX + "partition";
    public static final String ERROR_OFFSET = HEADER_PREFIX + "offset";
    public static final String ERROR_FLOW = HEADER_PREFIX + "flow";
    /** {@code parse}, {@code transform} or {@code validate}: where the record failed. */
    public static final String ERROR_STAGE = HEADER_PREFIX + "stage";
    public static final String ERROR_CLASS = HEADER_PREFIX + "exception.class.name";
    public static final String ERROR_MESSAGE = HEADER_PREFIX + "exception.message";
    /** When the record was dead-lettered (epoch milliseconds); the record's own timestamp stays the input's. */
    public static final String ERROR_TIMESTAMP = HEADER_PREFIX + "timestamp";
    /** How many DLQ replays the record has failed (absent before the first). */
    public static final String ERROR_REPLAYS = HEADER_PREFIX + "replays";

    /** An output record the target version's table would not accept. */
    public static final class InvalidOutputException extends Exception {
        public InvalidOutputException(String message) {
            super(message);
        }
    }

    /** What one input became: outputs, or a dead letter. */
    public record Outcome(List<ProducerRecord<byte[], byte[]>> records, boolean deadLettered) {
    }

    private final String flowId;
    private final FlowTransform transform;
    private final ModelVersion target;
    private final String outputTopic;
    private final String deadLetterTopic;
    private final FlatJsonCodec json;

    /** Not thread-safe (it reuses its buffers): a hop has one per transform slice, as it has one transform. */
    public TransformStep(String flowId, FlowTransform transform, ModelVersion target, String outputTopic,
                         String deadLetterTopic, ObjectMapper json) {
        this.flowId = flowId;
        this.transform = transform;
        this.target = target;
        this.outputTopic = outputTopic;
        this.deadLetterTopic = deadLetterTopic;
        this.json = new FlatJsonCodec(json);
    }

    /** A JSON-tree transform (tests, tools); a flow's hop gets its {@link FlowTransform} from {@link Transforms#create}. */
    public TransformStep(String flowId, Transform transform, ModelVersion target, String outputTopic,
                         String deadLetterTopic, ObjectMapper json) {
        this(flowId, FlowTransform.tree(transform, json), target, outputTopic, deadLetterTopic, json);
    }

    public Outcome apply(ConsumerRecord<byte[], byte[]> in) {
        String stage = "parse";
        try {
            Object input = transform.read(in.value() == null ? new byte[0] : in.value());
            stage = "transform";
            List<ObjectNode> outputs = transform.apply(input);
            stage = "validate";
            List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(outputs.size());
            for (ObjectNode out : outputs) {
                List<RecordValidator.Problem> problems = RecordValidator.validate(out, target);
                if (!problems.isEmpty()) {
                    throw new InvalidOutputException("output is not a valid " + target.ref() + " record: " + problems);
                }
                records.add(new ProducerRecord<>(outputTopic, null, in.timestamp(), in.key(), json.write(out),
                        in.headers()));
            }
            return new Outcome(records, false);
        } catch (Exception e) {
            return new Outcome(List.of(deadLetter(in, stage, e)), true);
        }
    }

    ProducerRecord<byte[], byte[]> deadLetter(ConsumerRecord<byte[], byte[]> in, String stage, Exception error) {
        Headers headers = new RecordHeaders(in.headers().toArray());
        headers.add(ERROR_TOPIC, utf8(in.topic()));
        headers.add(ERROR_PARTITION, utf8(Integer.toString(in.partition())));
        headers.add(ERROR_OFFSET, utf8(Long.toString(in.offset())));
        headers.add(ERROR_FLOW, utf8(flowId));
        headers.add(ERROR_STAGE, utf8(stage));
        headers.add(ERROR_CLASS, utf8(error.getClass().getName()));
        headers.add(ERROR_MESSAGE, utf8(String.valueOf(error.getMessage())));
        headers.add(ERROR_TIMESTAMP, utf8(Long.toString(System.currentTimeMillis())));
        return new ProducerRecord<>(deadLetterTopic, null, in.timestamp(), in.key(), in.value(), headers);
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
