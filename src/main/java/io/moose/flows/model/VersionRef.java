package io.moose.flows.model;

/** Names one version of one data model, e.g. {@code UserActivity 0.1}. */
public record VersionRef(String model, String version) {

    /** Parses the {@code Model/version} form used in the project definition and the ingest path. */
    public static VersionRef parse(String text) {
        int slash = text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1) {
            throw new IllegalArgumentException("expected Model/version, e.g. UserActivity/0.1, got '" + text + "'");
        }
        return new VersionRef(text.substring(0, slash), text.substring(slash + 1));
    }

    /** {@code UserActivity_0_1}: the version's ingestion topic and table share this name. */
    public String baseName() {
        return model + "_" + version.replace('.', '_');
    }

    @Override
    public String toString() {
        return model + "/" + version;
    }
}
