package io.moose.flows;

import io.moose.flows.node.Node;
import io.moose.flows.node.NodeConfig;
import io.moose.flows.node.TlsSettings;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.moose.flows.admin.AdminCli;
import io.moose.flows.model.DefinitionException;
import io.moose.flows.flow.Transforms;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Arrays;

/**
 * Starts a moose-flows node: {@code java -Dconfig.file=conf/node.conf -jar moose-flows.jar}, or runs
 * the admin command-line client: {@code java -jar moose-flows.jar admin <command>}.
 * A bad configuration or project definition stops the start with a message naming the key.
 */
public final class Main {

    /** Exit status for a configuration or definition the node cannot run with. */
    static final int BAD_CONFIGURATION = 2;

    private Main() {
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals(AdminCli.COMMAND)) {
            System.exit(AdminCli.main(Arrays.copyOfRange(args, 1, args.length)));
        }
        Config config;
        ProjectDefinition definition;
        Path file;
        String text;
        try {
            config = NodeConfig.load();
            // Opens the TLS stores now: a bad path or password stops the start naming the key.
            TlsSettings.from(config);
            file = Path.of(config.getString("moose-flows.project-file"));
            definition = ProjectDefinitionLoader.load(file);
            text = Files.readString(file);
        } catch (ConfigException | DefinitionException | IllegalArgumentException | IOException e) {
            System.err.println("moose-flows cannot start: " + e.getMessage());
            System.exit(BAD_CONFIGURATION);
            return;
        }
        warnAboutTransforms(config, definition);
        Node.start(config, definition, text, file.toString());
    }

    /**
     * A transform class this node cannot load does not stop it (the flow reports failed and retries
     * when the jar appears), but the operator hears of it at start.
     */
    private static void warnAboutTransforms(Config config, ProjectDefinition definition) {
        Transforms transforms = Transforms.from(config);
        for (FlowDefinition flow : definition.flows()) {
            Optional<ModelVersion> source = definition.version(flow.source());
            Optional<ModelVersion> target = definition.version(flow.target());
            if (source.isPresent() && target.isPresent()) {
                transforms.problems(flow, source.get(), target.get()).forEach(problem -> System.err.println(
                        "moose-flows: warning: flow " + flow.id() + " will not run on this node until this is fixed: " + problem));
            }
        }
    }
}
