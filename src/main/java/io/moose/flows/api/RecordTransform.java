package io.moose.flows.api;

import java.util.List;

/**
 * A flow's transformation over Java records: one record of the source model version, bound to
 * {@code I}, in; zero or more records of the target version, written from {@code O}, out.
 *
 * <p>The service binds with Jackson: a component of {@code I} is read from the source column of
 * the same name, a component of {@code O} is written to the target column of the same name. When a
 * definition is planned, every component is checked against the model versions the flow reads
 * and writes, so a mismatch is refused before anything runs:
 * <ul>
 *   <li>each component of {@code I} names a source column, and each component of {@code O} a target column;</li>
 *   <li>types: {@code String} for String; {@code int}/{@code Integer} for Int32; {@code long}/{@code Long}
 *       for Int64; {@code double}/{@code Double} for Float64; {@code boolean}/{@code Boolean} for Boolean;
 *       {@code java.time.Instant} (or {@code String}) for DateTime; {@code java.time.LocalDate}
 *       (or {@code String}) for Date. An input component may be wider than its column (an Int32
 *       column into a {@code long}), an output component may be narrower (an {@code int} into an Int64 column);</li>
 *   <li>nullability: a component that may hold null is annotated {@link Nullable}; a nullable source
 *       column needs one, and a target column that is not nullable refuses one;</li>
 *   <li>defaults: {@code O} may leave out a target column only if it is nullable or has a default.</li>
 * </ul>
 *
 * <p>Implement this interface directly ({@code class Enrich implements RecordTransform<Visit, Page>}),
 * so the service can read {@code I} and {@code O} from the class. Like {@link Transform}: a public
 * no-argument constructor, one instance per parallel slice, never called concurrently; throwing
 * sends the input record to the flow's dead-letter topic.
 *
 * @param <I> the record type of the source model version (a subset of its columns is fine)
 * @param <O> the record type of the target model version
 */
public interface RecordTransform<I extends Record, O extends Record> {

    List<O> apply(I record) throws Exception;
}
