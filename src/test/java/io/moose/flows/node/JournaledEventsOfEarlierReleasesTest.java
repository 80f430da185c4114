package io.moose.flows.node;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializers;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The pause events an earlier release journaled under io.moose.flows still replay after the move to io.moose.flows.node. */
class JournaledEventsOfEarlierReleasesTest {

    private static ActorTestKit testKit;

    @BeforeAll
    static void start() {
        testKit = ActorTestKit.create("journaled-events", NodeConfig.load(ConfigFactory.parseString(
                "akka.actor.provider = local\nakka.coordinated-shutdown.exit-jvm = off\nmoose-flows.journal.kind = h2")));
    }

    @AfterAll
    static void stop() {
        testKit.shutdownTestKit();
    }

    @Test
    void pauseEventsJournaledUnderTheOldPackageReplayAsTheNewClasses() {
        Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());
        for (Object event : new Object[]{new PauseState.Paused(), new PauseState.Resumed(), new PauseState(true)}) {
            var serializer = serialization.findSerializerFor(event);
            byte[] bytes = serializer.toBinary(event);
            String manifest = Serializers.manifestFor(serializer, event);
            String oldManifest = manifest.replace("io.moose.flows.node.", "io.moose.flows.");
            Object replayed = serialization.deserialize(bytes, serializer.identifier(), oldManifest).get();
            assertEquals(event, replayed, "replayed from manifest " + oldManifest);
        }
    }
}
