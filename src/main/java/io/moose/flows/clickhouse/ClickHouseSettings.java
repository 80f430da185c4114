package io.moose.flows.clickhouse;

import com.typesafe.config.Config;

import java.time.Duration;

/** moose-flows.clickhouse.* */
public record ClickHouseSettings(String url, String database, String user, String password,
                                 Duration requestTimeout, Duration connectTimeout) {

    public static ClickHouseSettings from(Config config) {
        Config c = config.getConfig("moose-flows.clickhouse");
        return new ClickHouseSettings(c.getString("url"), c.getString("database"), c.getString("user"),
                c.getString("password"), c.getDuration("request-timeout"), c.getDuration("connect-timeout"));
    }

    public ClickHouseSettings withDatabase(String otherDatabase) {
        return new ClickHouseSettings(url, otherDatabase, user, password, requestTimeout, connectTimeout);
    }
}
