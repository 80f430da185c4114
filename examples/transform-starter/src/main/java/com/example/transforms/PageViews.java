package com.example.transforms;

import io.moose.flows.api.RecordTransform;

import java.time.Instant;
import java.util.List;

/**
 * UserActivity/0.1 -> PageView/0.1: one page view per activity that names a page
 * ("click:signup@/docs/intro" is a view of /docs/intro in section "docs"); activities without a
 * page give nothing.
 */
public final class PageViews implements RecordTransform<PageViews.Activity, PageViews.PageView> {

    /** The UserActivity/0.1 columns read; the others (region) are not needed. */
    public record Activity(String eventId, Instant timestamp, String userId, String activity) {
    }

    /** A PageView/0.1 record: one field per column, same names. */
    public record PageView(String eventId, Instant timestamp, String userId, String page, String section) {
    }

    @Override
    public List<PageView> apply(Activity in) {
        int at = in.activity().lastIndexOf('@');
        if (at < 0 || at == in.activity().length() - 1) {
            return List.of();
        }
        String page = in.activity().substring(at + 1).trim();
        String[] parts = page.split("/");
        String section = parts.length > 1 && !parts[1].isEmpty() ? parts[1] : "home";
        return List.of(new PageView(in.eventId(), in.timestamp(), in.userId(), page, section));
    }
}
