package dev.glimpse.operators;

import org.apache.flink.util.OutputTag;

/** The side output every stage sends its failures to. */
public final class DeadLetters {
    public static final OutputTag<DeadLetter> TAG = new OutputTag<>("dead-letters") {};

    private DeadLetters() {}
}
