package dev.glimpse.connectors.reprocess;

import org.apache.flink.util.Collector;

/** Right before the sink: counts captions, and dead letters by code. */
final class OutcomeTally extends Tally<OutputLine, OutputLine> {
    static final String NAME = "outcomes";
    static final String CAPTIONS = "captions";

    OutcomeTally(String runId) {
        super(runId, NAME);
    }

    @Override
    public void flatMap(OutputLine line, Collector<OutputLine> out) {
        count(line.deadLetter() ? line.code : CAPTIONS);
        out.collect(line);
    }
}
