package io.moose.flows.flow;

import io.moose.flows.model.FlowDefinition;
import io.moose.flows.testing.DataPlaneFixture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.moose.flows.testing.DataPlaneFixture.PA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

class CopyHopIT {

    private static final int RECORDS = 500;

    @Test
    void copyHopsKeepKeyValueAndHeaderBytesUnchanged() {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            FlowDefinition flow = dp.project.flowsFrom(UA_0_0).stream().filter(f -> !f.isMigration()).findFirst().orElseThrow();
            dp.flowRunner(flow).start(dp.owner);
            String ingestion = dp.names.ingestionTopic(UA_0_0);
            List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
            for (int i = 0; i < RECORDS; i++) {
                RecordHeaders headers = new RecordHeaders();
                headers.add("trace-id", ("trace-" + i).getBytes(StandardCharsets.UTF_8));
                headers.add("binary", ByteBuffer.allocate(8).putLong(~(long) i).array());
                headers.add("repeated", new byte[]{1});
                headers.add("repeated", new byte[]{2});
                byte[] key = i % 3 == 0 ? null : ("key-" + i).getBytes(StandardCharsets.UTF_8);
                sent.add(new ProducerRecord<>(ingestion, null, key, DataPlaneFixture.userActivity(UA_0_0, i), headers));
            }
            dp.produce(ingestion, sent);

            // copy-in: ingestion topic -> flow input topic
            List<ConsumerRecord<byte[], byte[]>> input = dp.readAll(dp.names.flowInput(flow.id()), RECORDS, Duration.ofSeconds(60));
            assertEquals(RECORDS, input.size());
            Map<String, ConsumerRecord<byte[], byte[]>> byValue = new HashMap<>();
            input.forEach(r -> byValue.put(Arrays.toString(r.value()), r));
            for (ProducerRecord<byte[], byte[]> s : sent) {
                ConsumerRecord<byte[], byte[]> copied = byValue.get(Arrays.toString(s.value()));
                assertNotNull(copied, "every value arrives byte for byte");
                assertEquals(Arrays.toString(s.key()), Arrays.toString(copied.key()), "key");
                assertEquals(headers(s.headers().toArray()), headers(copied.headers().toArray()), "headers in order");
            }

            // copy-out: flow output topic -> target ingestion topic
            List<ConsumerRecord<byte[], byte[]>> output = dp.readAll(dp.names.flowOutput(flow.id()), RECORDS, Duration.ofSeconds(60));
            List<ConsumerRecord<byte[], byte[]>> target = dp.readAll(dp.names.ingestionTopic(PA_0_0), RECORDS, Duration.ofSeconds(60));
            assertEquals(RECORDS, output.size());
            assertEquals(RECORDS, target.size());
            Map<String, ConsumerRecord<byte[], byte[]>> outByValue = new HashMap<>();
            output.forEach(r -> outByValue.put(Arrays.toString(r.value()), r));
            for (ConsumerRecord<byte[], byte[]> t : target) {
                ConsumerRecord<byte[], byte[]> o = outByValue.get(Arrays.toString(t.value()));
                assertNotNull(o, "every target value is an output value byte for byte");
                assertEquals(Arrays.toString(o.key()), Arrays.toString(t.key()), "key");
                assertEquals(headers(o.headers().toArray()), headers(t.headers().toArray()), "headers");
                assertEquals(o.timestamp(), t.timestamp(), "timestamp");
            }
        }
    }

    private static List<String> headers(Header[] headers) {
        return Arrays.stream(headers).map(h -> h.key() + "=" + Arrays.toString(h.value())).toList();
    }
}
