package com.example.transforms;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PageViewsTest {

    private static final Instant AT = Instant.parse("2024-01-31T12:00:00Z");

    @Test
    void anActivityOnAPageIsAViewOfItsSection() {
        List<PageViews.PageView> out = new PageViews().apply(
                new PageViews.Activity("e1", AT, "u1", "click:signup@/docs/intro"));
        assertEquals(List.of(new PageViews.PageView("e1", AT, "u1", "/docs/intro", "docs")), out);
    }

    @Test
    void theRootPageIsInSectionHome() {
        assertEquals("home", new PageViews().apply(new PageViews.Activity("e2", AT, "u1", "view@/")).get(0).section());
    }

    @Test
    void anActivityWithoutAPageGivesNothing() {
        assertEquals(List.of(), new PageViews().apply(new PageViews.Activity("e3", AT, "u1", "logout")));
    }
}
