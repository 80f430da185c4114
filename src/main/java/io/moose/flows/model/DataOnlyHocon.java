package io.moose.flows.model;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigIncludeContext;
import com.typesafe.config.ConfigIncluder;
import com.typesafe.config.ConfigIncluderClasspath;
import com.typesafe.config.ConfigIncluderFile;
import com.typesafe.config.ConfigIncluderURL;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;

import java.io.File;
import java.net.URL;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HOCON text from a request (e.g. the body of {@code POST /project/plan}) read as data, never as a
 * program: no {@code include} of any kind (so no file, URL or classpath access), and a
 * {@code ${...}} substitution only where it refers to a value of the text itself ({@code flows +=
 * [...]}, or {@code a = ${b}} with {@code b} defined in the text). It is resolved against the text
 * alone, never the node's environment or system properties; one that refers to nothing in the text
 * (e.g. {@code ${HOME}}, {@code ${?PATH}}) is refused with a message naming it as the sender wrote it,
 * never a resolved value.
 *
 * <p>The definition file an operator gives a node is read by {@link ProjectDefinitionLoader#load}
 * and may keep using both.
 */
public final class DataOnlyHocon {

    private static final String NOT_ALLOWED = " is not allowed in a definition sent over HTTP";
    private static final Pattern SUBSTITUTION = Pattern.compile("\\$\\{\\??([^}]*)}");
    private static final ConfigRenderOptions AS_WRITTEN = ConfigRenderOptions.defaults()
            .setOriginComments(false).setComments(false).setJson(false).setFormatted(false);

    private DataOnlyHocon() {
    }

    /** The text is not HOCON, or uses a construct that is refused; the message says which and where. */
    public static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message);
        }
    }

    /** Parses {@code text} as plain data; the result is fully resolved (it never needed resolving). */
    public static Config parse(String text) {
        Config config;
        try {
            config = ConfigFactory.parseString(text, ConfigParseOptions.defaults()
                    .setSyntax(ConfigSyntax.CONF)
                    .setAllowMissing(false)
                    .setIncluder(new RefusingIncluder(text)));
        } catch (ConfigException e) {
            throw new Refused("the body is not valid HOCON: " + e.getMessage());
        }
        if (config.isResolved()) {
            return config;
        }
        // Resolved against the text alone: nothing of the environment or system properties can get in.
        Config own = config.resolve(ConfigResolveOptions.noSystem().setAllowUnresolved(true));
        Set<String> outside = new LinkedHashSet<>();
        collectUnresolved(config.root(), own, outside);
        if (!outside.isEmpty()) {
            throw new Refused(String.join("; ", outside) + "; write the values themselves");
        }
        try {
            return config.resolve(ConfigResolveOptions.noSystem());
        } catch (ConfigException e) {
            // Belt and braces: nothing above found, yet something does not resolve within the text.
            throw new Refused("substitutions (${...}) that refer to nothing in the definition" + NOT_ALLOWED
                    + "; write the values themselves");
        }
    }

    /**
     * Every substitution below {@code value} that refers to nothing in the text itself (no value at its
     * path once the text is resolved against itself), described as "substitution ${X} at line N ...".
     */
    private static void collectUnresolved(ConfigValue value, Config own, Set<String> found) {
        try {
            ConfigValueType type = value.valueType();
            if (type == ConfigValueType.OBJECT) {
                for (ConfigValue child : ((ConfigObject) value).values()) {
                    collectUnresolved(child, own, found);
                }
            } else if (type == ConfigValueType.LIST) {
                for (ConfigValue child : (ConfigList) value) {
                    collectUnresolved(child, own, found);
                }
            }
        } catch (ConfigException.NotResolved e) {
            int line = value.origin().lineNumber();
            String written;
            try {
                written = value.render(AS_WRITTEN);
            } catch (RuntimeException cannotRender) {
                written = "";
            }
            Matcher m = SUBSTITUTION.matcher(written);
            List<String> names = new ArrayList<>();
            boolean any = false;
            while (m.find()) {
                any = true;
                if (!definedIn(own, m.group(1).trim())) {
                    names.add(m.group());
                }
            }
            if (any && names.isEmpty()) {
                return;
            }
            String what = names.isEmpty() ? "a substitution (${...})" : "substitution " + String.join(", ", names);
            found.add(what + (line > 0 ? " at line " + line : "") + NOT_ALLOWED);
        }
    }

    /** Whether the text, resolved against itself, has a value at {@code path}. */
    private static boolean definedIn(Config own, String path) {
        try {
            return own.hasPath(path);
        } catch (ConfigException e) {
            return false;
        }
    }

    /** Refuses every kind of include: plain, file(), url(), classpath(), required(...). */
    private static final class RefusingIncluder
            implements ConfigIncluder, ConfigIncluderFile, ConfigIncluderURL, ConfigIncluderClasspath {

        private final String text;

        RefusingIncluder(String text) {
            this.text = text;
        }

        @Override
        public ConfigIncluder withFallback(ConfigIncluder fallback) {
            return this;
        }

        @Override
        public ConfigObject include(ConfigIncludeContext context, String what) {
            throw refused("include \"" + what + "\"", what);
        }

        @Override
        public ConfigObject includeFile(ConfigIncludeContext context, File what) {
            throw refused("include file(\"" + what + "\")", what.toString());
        }

        @Override
        public ConfigObject includeURL(ConfigIncludeContext context, URL what) {
            throw refused("include url(\"" + what + "\")", what.toString());
        }

        @Override
        public ConfigObject includeResources(ConfigIncludeContext context, String what) {
            throw refused("include classpath(\"" + what + "\")", what);
        }

        /** The includer is not told the line, so it is the first line with an include naming {@code what}. */
        private Refused refused(String construct, String what) {
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                if (lines[i].contains("include") && lines[i].contains(what)) {
                    return new Refused(construct + " at line " + (i + 1) + NOT_ALLOWED);
                }
            }
            return new Refused(construct + NOT_ALLOWED);
        }
    }
}
