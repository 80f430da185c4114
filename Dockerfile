# moose-flows node image. Build: docker build -t moose-flows .   (docker-compose.yml builds it too)
# Runs conf/docker.conf unless MOOSE_CONFIG_FILE names another file, e.g. a mounted production.conf.

FROM maven:3-eclipse-temurin-17 AS build
WORKDIR /build
# Dependencies first, in their own layer, so that a change to the sources does not download them
# again. go-offline misses a few plugin dependencies; package fetches those.
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src ./src
RUN mvn -B -DskipTests package

FROM eclipse-temurin:17-jre
# curl for the health check; the base image does not promise to keep it.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid above the range of the base image's own users, so volume ownership is predictable.
RUN groupadd --system --gid 10001 moose \
 && useradd --system --uid 10001 --gid moose --home-dir /app --no-create-home --shell /usr/sbin/nologin moose
WORKDIR /app
COPY --from=build /build/target/moose-flows.jar ./moose-flows.jar
COPY conf ./conf
# ./data holds the H2 journal of a single node run without PostgreSQL.
RUN mkdir data && chown moose:moose data
USER moose

# ingest API, Akka Management (admin, /cluster, /health), Artery (cluster)
EXPOSE 8080 8558 25520

# The heap follows the container's memory limit; the rest is left to metaspace, threads, direct
# buffers (Kafka, HTTP) and the page cache. An OutOfMemoryError ends the JVM so the node restarts
# and its entities move, instead of limping on.
ENV MOOSE_CONFIG_FILE=conf/docker.conf \
    JAVA_OPTS="-XX:MaxRAMPercentage=70 -XX:+ExitOnOutOfMemoryError -XX:+UseG1GC"

# Ready = Akka Management's readiness checks pass, i.e. the node is an Up member of the cluster.
HEALTHCHECK --interval=10s --timeout=3s --start-period=90s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${MOOSE_ADMIN_PORT:-8558}/health/ready" >/dev/null || exit 1

# exec: java is PID 1 and gets SIGTERM itself, which runs Akka's coordinated shutdown (hand-off).
ENTRYPOINT ["sh", "-c", "exec java $JAVA_OPTS -Dconfig.file=\"$MOOSE_CONFIG_FILE\" -jar moose-flows.jar \"$@\"", "moose-flows"]
