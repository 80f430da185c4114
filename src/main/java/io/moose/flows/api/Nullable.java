package io.moose.flows.api;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a record component of a {@link RecordTransform} that may hold null. Components without it
 * are taken as never null: an input component may then only read a column that is not nullable,
 * and a null written to an output component sends the input record to the dead-letter topic.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.PARAMETER, ElementType.FIELD, ElementType.METHOD})
public @interface Nullable {
}
