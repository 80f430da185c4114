package io.moose.flows.clickhouse;

import com.typesafe.config.Config;

import java.time.Duration;

/** moose-flows.clickhouse.* */
public record ClickHouseSettings(String url, String database, String user, String password,
                                 Duration requestTimeout, Duration connectTimeout, int maxConcurrentRequests) {

    public static ClickHouseSettings from(Config config) {
        Config c = config.getConfig("moose-flows.clickhouse");
        int concurrent = c.getInt("max-concurrent-requests");
        if (concurrent < 1) {
            throw new IllegalArgumentException("moose-flows.clickhouse.max-concurrent-requests: must be at least 1, got " + concurrent);
        }
        return new ClickHouseSettings(c.getString("url"), c.getString("database"), c.getString("user"),
                c.getString("password"), c.getDuration("request-timeout"), c.getDuration("connect-timeout"), concurrent);
    }

    public ClickHouseSettings withUrl(String otherUrl) {
        return new ClickHouseSettings(otherUrl, database, user, password, requestTimeout, connectTimeout, maxConcurrentRequests);
    }

    public ClickHouseSettings withDatabase(String otherDatabase) {
        return new ClickHouseSettings(url, otherDatabase, user, password, requestTimeout, connectTimeout, maxConcurrentRequests);
    }
}
