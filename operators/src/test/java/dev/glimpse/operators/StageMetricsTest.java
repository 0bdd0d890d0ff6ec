package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.AbstractLogger;
import org.slf4j.helpers.MessageFormatter;

class StageMetricsTest {
    /** Keeps every line logged at INFO and above, formatted. */
    static final class CapturingLogger extends AbstractLogger {
        final List<String> info = new ArrayList<>();

        @Override protected String getFullyQualifiedCallerName() { return null; }
        @Override protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] args, Throwable t) {
            info.add(level + " " + MessageFormatter.basicArrayFormat(pattern, args));
        }
        @Override public boolean isTraceEnabled() { return false; }
        @Override public boolean isTraceEnabled(Marker marker) { return false; }
        @Override public boolean isDebugEnabled() { return false; }
        @Override public boolean isDebugEnabled(Marker marker) { return false; }
        @Override public boolean isInfoEnabled() { return true; }
        @Override public boolean isInfoEnabled(Marker marker) { return true; }
        @Override public boolean isWarnEnabled() { return true; }
        @Override public boolean isWarnEnabled(Marker marker) { return true; }
        @Override public boolean isErrorEnabled() { return true; }
        @Override public boolean isErrorEnabled(Marker marker) { return true; }
    }

    @Test
    void shouldLogWhatEachCheckpointCommittedSinceTheLast() {
        StageMetrics m = new StageMetrics(new UnregisteredMetricsGroup(), "imageInferenceMs");
        CapturingLogger log = new CapturingLogger();
        for (int i = 0; i < 3; i++) {
            m.recordIn();
            m.recordOut(10);
        }
        m.deadLetter(ErrorCode.BAD_ENVELOPE);
        m.deadLetter(ErrorCode.BAD_ENVELOPE);
        m.deadLetter(ErrorCode.EMPTY_PAYLOAD);
        m.logCheckpoint(log, 7, "captions", true);
        m.recordOut(5);
        m.logCheckpoint(log, 8, "captions", true);
        m.logCheckpoint(log, 9, "captions", true);

        assertThat(log.info).containsExactly(
                "INFO checkpoint 7 complete: 3 captions, 3 dead letters [EMPTY_PAYLOAD=1, BAD_ENVELOPE=2] since the last (subtask ?)",
                "INFO checkpoint 8 complete: 1 captions, 0 dead letters since the last (subtask ?)",
                "INFO checkpoint 9 complete: 0 captions, 0 dead letters since the last (subtask ?)");
    }

    @Test
    void shouldLogACpuStagesCheckpointAtInfoOnlyWhenItDeadLetteredSomething() {
        StageMetrics m = new StageMetrics(new UnregisteredMetricsGroup(), "decodeMs");
        CapturingLogger log = new CapturingLogger();
        m.recordOut(1);
        m.logCheckpoint(log, 1, "decoded", false);
        m.deadLetter(ErrorCode.IMAGE_TOO_LARGE);
        m.logCheckpoint(log, 2, "decoded", false);

        assertThat(log.info).containsExactly(
                "INFO checkpoint 2 complete: 0 decoded, 1 dead letters [IMAGE_TOO_LARGE=1] since the last (subtask ?)");
    }
}
