package io.moose.flows.admin;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Locale;

/** One line of {@code moose watch}: bar, share, rows loaded / to load, rate, ETA and phase. */
final class ProgressBar {

    /** Characters between the brackets: fits an 80-column terminal with the figures beside it. */
    private static final int WIDTH = 30;
    private static final long SECONDS_PER_MINUTE = 60;
    private static final long SECONDS_PER_HOUR = 3600;

    private ProgressBar() {
    }

    static String line(JsonNode progress) {
        long loaded = progress.path("rowsLoaded").asLong();
        long toLoad = progress.path("rowsToLoad").asLong();
        String phase = progress.path("phase").asText();
        double percent = AdminJson.percent(loaded, toLoad, phase);
        int filled = (int) Math.round(WIDTH * percent / 100.0);
        String error = progress.path("lastError").asText("");
        return String.format(Locale.ROOT, "[%s%s] %5.1f%%  %,d / %,d rows  %,.0f rows/s  ETA %s  %s%s",
                "#".repeat(filled), "-".repeat(WIDTH - filled), percent, loaded, toLoad,
                progress.path("rowsPerSecond").asDouble(), eta(progress.path("etaSeconds").asLong(-1)), phase,
                error.isEmpty() ? "" : "  (retrying: " + error + ")");
    }

    /** {@code 1h02m}, {@code 3m05s}, {@code 12s}; "-" while unknown. */
    static String eta(long seconds) {
        if (seconds < 0) {
            return "-";
        }
        if (seconds >= SECONDS_PER_HOUR) {
            return String.format(Locale.ROOT, "%dh%02dm", seconds / SECONDS_PER_HOUR, seconds % SECONDS_PER_HOUR / SECONDS_PER_MINUTE);
        }
        if (seconds >= SECONDS_PER_MINUTE) {
            return String.format(Locale.ROOT, "%dm%02ds", seconds / SECONDS_PER_MINUTE, seconds % SECONDS_PER_MINUTE);
        }
        return seconds + "s";
    }
}
