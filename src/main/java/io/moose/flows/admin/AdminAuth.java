package io.moose.flows.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * Who may use an admin route: changing routes always need the bearer token, reads only when
 * {@code protect-reads} is on. Without a configured token nothing that needs one is allowed, so a
 * forgotten token never leaves pause, resume and apply open.
 */
final class AdminAuth {

    enum Verdict { ALLOWED, NO_TOKEN_CONFIGURED, REFUSED }

    private static final String BEARER = "Bearer ";

    private final AdminSettings settings;

    AdminAuth(AdminSettings settings) {
        this.settings = settings;
    }

    /** @param authorization the request's Authorization header, if any */
    Verdict check(boolean changes, Optional<String> authorization) {
        if (!changes && !settings.protectReads()) {
            return Verdict.ALLOWED;
        }
        if (settings.token().isEmpty()) {
            return Verdict.NO_TOKEN_CONFIGURED;
        }
        byte[] expected = settings.token().get().getBytes(StandardCharsets.UTF_8);
        byte[] given = authorization.filter(h -> h.startsWith(BEARER))
                .map(h -> h.substring(BEARER.length()).trim().getBytes(StandardCharsets.UTF_8))
                .orElse(new byte[0]);
        // Constant time, so the reply time does not reveal how much of the token matched.
        return MessageDigest.isEqual(expected, given) ? Verdict.ALLOWED : Verdict.REFUSED;
    }
}
