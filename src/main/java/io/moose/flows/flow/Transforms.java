package io.moose.flows.flow;

import io.moose.flows.model.DefinitionException;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ModelVersion;

import java.util.List;

/** Creates the transform a flow runs: the user's class, or the generated migration. */
public final class Transforms {

    private Transforms() {
    }

    /** A new instance per call: each running hop has its own. */
    public static Transform create(FlowDefinition flow, ModelVersion source, ModelVersion target) {
        if (flow.transformClass().isPresent()) {
            String name = flow.transformClass().get();
            try {
                Class<?> type = Class.forName(name);
                if (!Transform.class.isAssignableFrom(type)) {
                    throw new DefinitionException("flow " + flow.id(), List.of(name + " does not implement " + Transform.class.getName()));
                }
                return (Transform) type.getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                throw new DefinitionException("flow " + flow.id(),
                        List.of("cannot create transform " + name + " (a public class with a public no-argument constructor is needed): " + e));
            }
        }
        if (flow.isMigration()) {
            return SchemaMigration.between(source, target);
        }
        throw new DefinitionException("flow " + flow.id(), List.of("a regular flow needs a transform class"));
    }
}
