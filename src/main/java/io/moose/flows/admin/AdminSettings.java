package io.moose.flows.admin;

import com.typesafe.config.Config;

import java.time.Duration;
import java.util.Optional;

/**
 * moose-flows.admin.*: who may use the admin routes and how long they wait for the cluster.
 *
 * @param token empty when none is configured, and then changing routes are refused
 */
public record AdminSettings(Optional<String> token, boolean protectReads, Duration askTimeout, Duration applyTimeout) {

    public static AdminSettings from(Config config) {
        Config c = config.getConfig("moose-flows.admin");
        String token = c.getString("token").trim();
        return new AdminSettings(token.isEmpty() ? Optional.empty() : Optional.of(token), c.getBoolean("protect-reads"),
                c.getDuration("ask-timeout"), c.getDuration("apply-timeout"));
    }

    /** Without the token: settings may be logged, the token never. */
    @Override
    public String toString() {
        return "AdminSettings[token=" + (token.isPresent() ? "(set)" : "(none)") + ", protectReads=" + protectReads
                + ", askTimeout=" + askTimeout + ", applyTimeout=" + applyTimeout + "]";
    }
}
