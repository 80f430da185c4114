package io.moose.flows.admin;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

import static io.moose.flows.admin.AdminAuth.Verdict.ALLOWED;
import static io.moose.flows.admin.AdminAuth.Verdict.NO_TOKEN_CONFIGURED;
import static io.moose.flows.admin.AdminAuth.Verdict.REFUSED;
import static org.junit.jupiter.api.Assertions.assertEquals;

class AdminAuthTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final Optional<String> RIGHT = Optional.of("Bearer s3cret");

    private static AdminAuth auth(String token, boolean protectReads) {
        return new AdminAuth(new AdminSettings(token.isEmpty() ? Optional.empty() : Optional.of(token), protectReads, TIMEOUT, TIMEOUT));
    }

    @Test
    void changesNeedTheExactBearerToken() {
        AdminAuth auth = auth("s3cret", false);
        assertEquals(ALLOWED, auth.check(true, RIGHT));
        assertEquals(REFUSED, auth.check(true, Optional.empty()));
        assertEquals(REFUSED, auth.check(true, Optional.of("Bearer s3cre")));
        assertEquals(REFUSED, auth.check(true, Optional.of("Bearer s3cret2")));
        assertEquals(REFUSED, auth.check(true, Optional.of("Basic s3cret")));
    }

    @Test
    void readsAreOpenUnlessProtectReadsIsOn() {
        assertEquals(ALLOWED, auth("s3cret", false).check(false, Optional.empty()));
        assertEquals(REFUSED, auth("s3cret", true).check(false, Optional.empty()));
        assertEquals(ALLOWED, auth("s3cret", true).check(false, RIGHT));
    }

    @Test
    void withoutAConfiguredTokenChangesAreNeverAllowed() {
        AdminAuth auth = auth("", false);
        assertEquals(NO_TOKEN_CONFIGURED, auth.check(true, Optional.empty()));
        assertEquals(NO_TOKEN_CONFIGURED, auth.check(true, Optional.of("Bearer ")));
        assertEquals(ALLOWED, auth.check(false, Optional.empty()));
        assertEquals(NO_TOKEN_CONFIGURED, auth("", true).check(false, Optional.empty()));
    }
}
