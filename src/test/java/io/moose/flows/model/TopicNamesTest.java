package io.moose.flows.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Pins the names of design section 1 and the RFC's own examples: they are a contract with operators. */
class TopicNamesTest {

    private static final VersionRef USER_ACTIVITY_0_0 = new VersionRef("UserActivity", "0.0");
    private static final VersionRef USER_ACTIVITY_0_1 = new VersionRef("UserActivity", "0.1");
    private static final VersionRef PARSED_ACTIVITY_0_1 = new VersionRef("ParsedActivity", "0.1");

    private final TopicNames names = TopicNames.plain();

    @Test
    void ingestionTopicAndTableOfAVersionShareTheVersionsBaseName() {
        assertEquals("UserActivity_0_1", names.ingestionTopic(USER_ACTIVITY_0_1));
        assertEquals("UserActivity_0_1", names.table(USER_ACTIVITY_0_1));
    }

    @Test
    void flowIdJoinsSourceAndTargetBaseNames() {
        assertEquals("UserActivity_0_0_UserActivity_0_1", migration().id());
        assertEquals("UserActivity_0_1_ParsedActivity_0_1", regular().id());
    }

    @Test
    void flowTopicsAreTheFlowIdWithARoleSuffix() {
        assertEquals("UserActivity_0_0_UserActivity_0_1_input", names.flowInput(migration().id()));
        assertEquals("UserActivity_0_1_ParsedActivity_0_1_output", names.flowOutput(regular().id()));
        assertEquals("UserActivity_0_1_ParsedActivity_0_1_dlq", names.deadLetter(regular().id()));
    }

    @Test
    void everyFlowAndHopHasItsOwnConsumerGroup() {
        assertEquals("moose-flows.UserActivity_0_0_UserActivity_0_1.copy-in",
                names.consumerGroup(migration().id(), Hop.COPY_IN));
        assertEquals("moose-flows.UserActivity_0_0_UserActivity_0_1.transform",
                names.consumerGroup(migration().id(), Hop.TRANSFORM));
        assertEquals("moose-flows.UserActivity_0_1.table-sync",
                names.consumerGroup(USER_ACTIVITY_0_1.baseName(), Hop.TABLE_SYNC));
    }

    @Test
    void namespacePrefixesEveryKafkaNameButNoTable() {
        TopicNames staging = TopicNames.withNamespace("staging");
        assertEquals("staging.UserActivity_0_1", staging.ingestionTopic(USER_ACTIVITY_0_1));
        assertEquals("staging.UserActivity_0_1_ParsedActivity_0_1_input", staging.flowInput(regular().id()));
        assertEquals("staging.UserActivity_0_1_ParsedActivity_0_1_output", staging.flowOutput(regular().id()));
        assertEquals("staging.UserActivity_0_1_ParsedActivity_0_1_dlq", staging.deadLetter(regular().id()));
        assertEquals("moose-flows.staging.UserActivity_0_1_ParsedActivity_0_1.copy-in",
                staging.consumerGroup(regular().id(), Hop.COPY_IN));
        assertEquals("UserActivity_0_1", staging.table(USER_ACTIVITY_0_1));
    }

    @Test
    void emptyNamespaceIsNoPrefix() {
        assertEquals("UserActivity_0_1", TopicNames.withNamespace("").ingestionTopic(USER_ACTIVITY_0_1));
    }

    @Test
    void namespaceSeparatesPersistedStateOfDeploymentsSharingAJournal() {
        assertEquals("Flow", TopicNames.plain().persistenceType("Flow"));
        assertEquals("staging.Flow", TopicNames.withNamespace("staging").persistenceType("Flow"));
    }

    @Test
    void versionRefParsesTheModelSlashVersionForm() {
        assertEquals(USER_ACTIVITY_0_1, VersionRef.parse("UserActivity/0.1"));
        assertEquals("UserActivity/0.1", USER_ACTIVITY_0_1.toString());
    }

    private static FlowDefinition migration() {
        return new FlowDefinition(USER_ACTIVITY_0_0, USER_ACTIVITY_0_1, java.util.Optional.empty(), false);
    }

    private static FlowDefinition regular() {
        return new FlowDefinition(USER_ACTIVITY_0_1, PARSED_ACTIVITY_0_1,
                java.util.Optional.of("io.moose.flows.example.ParseActivityWithPage"), false);
    }
}
