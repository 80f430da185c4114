package io.moose.flows.model;

import java.util.List;

/** A project definition that cannot run. The message names the file, the key and what is wrong. */
public final class DefinitionException extends RuntimeException {

    private final List<String> problems;

    public DefinitionException(String source, List<String> problems) {
        super("invalid project definition " + source + ":\n  - " + String.join("\n  - ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
