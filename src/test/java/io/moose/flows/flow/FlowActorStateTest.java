package io.moose.flows.flow;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializers;
import com.typesafe.config.ConfigFactory;
import io.moose.flows.node.NodeConfig;
import io.moose.flows.node.PauseState;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FlowActorStateTest {

    @Test
    void aConfirmedCutSurvivesPausesAndResumesOnReplay() {
        FlowActor.State state = new FlowActor.State(false, false);
        for (PauseState.Event event : List.of(new PauseState.Paused(), new FlowActor.CutConfirmed(), new PauseState.Resumed(),
                new PauseState.Paused())) {
            state = state.apply(event);
        }
        assertEquals(new FlowActor.State(true, true), state);
        assertEquals(new FlowActor.State(false, false), new FlowActor.State(false, false).apply(new PauseState.Resumed()));
    }

    @Test
    void cutConfirmedIsJournaledWithTheJacksonSerializerAndReadsBack() {
        ActorTestKit testKit = ActorTestKit.create("cut-confirmed", NodeConfig.load(ConfigFactory.parseString(
                "akka.actor.provider = local\nakka.coordinated-shutdown.exit-jvm = off\nmoose-flows.journal.kind = h2")));
        try {
            var serialization = SerializationExtension.get(testKit.system().classicSystem());
            Object event = new FlowActor.CutConfirmed();
            var serializer = serialization.findSerializerFor(event);
            assertEquals(akka.serialization.jackson.JacksonCborSerializer.class, serializer.getClass());
            Object back = serialization.deserialize(serializer.toBinary(event), serializer.identifier(),
                    Serializers.manifestFor(serializer, event)).get();
            assertEquals(event, back);
        } finally {
            testKit.shutdownTestKit();
        }
    }
}
