package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.connectors.reprocess.Tallies;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ReprocessSummaryTest {
    private final String runId = "summary-test-" + UUID.randomUUID();

    @AfterEach
    void forget() {
        Tallies.forget(runId);
    }

    @Test
    void shouldSayWhenTheFirstOutcomeCameEvenWhenTheJobEndedBeforeTheCommandLookedAgain() {
        long started = System.nanoTime() - 3_000_000_000L;
        Tallies.counted(runId, "outcomes");
        // The command's looks saw no outcome before the job was done: it only has the final tallies.
        Reprocess.Summary last = new Reprocess.Summary(12, 0, 12, Map.of(), 9.0);

        Reprocess.FirstOutcome first = Reprocess.firstOutcome(runId, started, last);

        assertThat(first.seconds()).as("from the tallies' own note, not the end of the run").isGreaterThanOrEqualTo(2.9)
                .isLessThan(last.seconds());
        assertThat(first.outcomes()).isEqualTo(12);
        assertThat(last.table(first)).containsPattern("first outcome [3-8]\\.\\d s").contains("(12 by then)");
    }

    @Test
    void shouldFallBackOnTheCommandsLookAndPrintNothingWithoutOutcomes() {
        Reprocess.Summary seen = new Reprocess.Summary(5, 0, 2, Map.of(), 4.5);
        assertThat(Reprocess.firstOutcome(runId, System.nanoTime(), seen).seconds()).isEqualTo(4.5);

        Reprocess.Summary none = new Reprocess.Summary(0, 0, 0, Map.of(), 1.0);
        assertThat(Reprocess.firstOutcome(runId, System.nanoTime(), none)).isNull();
        assertThat(none.table(null)).doesNotContain("first outcome");
    }
}
