/**
 * What a user's transform compiles against: {@link io.moose.flows.api.Transform} (JSON trees) and
 * {@link io.moose.flows.api.RecordTransform} (Java records). This package depends on Jackson only;
 * it is published on its own as {@code io.moose:moose-flows-api} ({@code mvn install}), and it is all
 * a plugin jar in {@code moose-flows.transforms.path} sees of the service besides Jackson.
 */
package io.moose.flows.api;
