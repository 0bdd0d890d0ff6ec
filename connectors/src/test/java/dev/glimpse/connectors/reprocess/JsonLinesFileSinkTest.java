package dev.glimpse.connectors.reprocess;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.flink.api.connector.sink2.Committer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonLinesFileSinkTest {
    @Test
    void shouldAppendEachCommittableOnceEvenWhenItsCommitIsRetried(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("captions.jsonl");
        JsonLinesFileSink.FileCommitter committer = committer(dir, file, "run-1");
        committer.commit(requests(commit("run-1", 1, "{\"id\":\"a\"}\n", "")));
        committer.commit(requests(commit("run-1", 1, "{\"id\":\"a\"}\n", ""), commit("run-1", 2, "{\"id\":\"b\"}\n", "{\"id\":\"x\"}\n")));
        // A restarted committer of the same run gets the restored committables again.
        committer(dir, file, "run-1").commit(requests(commit("run-1", 2, "{\"id\":\"b\"}\n", "{\"id\":\"x\"}\n")));

        assertThat(Files.readString(file)).isEqualTo("{\"id\":\"a\"}\n{\"id\":\"b\"}\n");
        assertThat(Files.readString(JsonLinesFileSink.deadLettersFile(file))).isEqualTo("{\"id\":\"x\"}\n");
    }

    @Test
    void shouldCutWhatACrashedAttemptAppendedBeforeAppendingAgain(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("captions.jsonl");
        JsonLinesFileSink.FileCommitter committer = committer(dir, file, "run-1");
        committer.commit(requests(commit("run-1", 1, "{\"id\":\"a\"}\n", "")));
        // An attempt that died halfway through appending committable 2, before recording it.
        Files.writeString(file, "{\"id\":\"b\"}\n{\"id\":", StandardOpenOption.APPEND);

        committer(dir, file, "run-1").commit(requests(commit("run-1", 2, "{\"id\":\"b\"}\n{\"id\":\"c\"}\n", "")));

        assertThat(Files.readString(file)).isEqualTo("{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n");
    }

    @Test
    void shouldKeepAnEarlierRunsLinesButNotItsPartialLastLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("captions.jsonl");
        committer(dir, file, "run-1").commit(requests(commit("run-1", 1, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n", "")));
        // kill -9 of run 1 while it appended: complete lines stay outcomes, the cut one goes.
        Files.writeString(file, "{\"id\":\"c\"}\n{\"id\":\"d\",\"cap", StandardOpenOption.APPEND);

        committer(dir, file, "run-2").commit(requests(commit("run-2", 1, "{\"id\":\"d\"}\n", "")));

        assertThat(Files.readString(file)).isEqualTo("{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n{\"id\":\"d\"}\n");
        assertThat(new ExistingIds.JsonLinesFiles(List.of(file.toUri().toString())).load().size()).isEqualTo(4);
    }

    private static JsonLinesFileSink.FileCommitter committer(Path dir, Path file, String run) throws Exception {
        return new JsonLinesFileSink.FileCommitter(file, JsonLinesFileSink.deadLettersFile(file),
                dir.resolve(".captions.jsonl.commit"), run);
    }

    private static JsonLinesFileSink.Commit commit(String run, long seq, String captions, String dead) {
        return new JsonLinesFileSink.Commit(run, seq, captions.getBytes(StandardCharsets.UTF_8), dead.getBytes(StandardCharsets.UTF_8));
    }

    @SafeVarargs
    private static Collection<Committer.CommitRequest<JsonLinesFileSink.Commit>> requests(JsonLinesFileSink.Commit... commits) {
        List<Committer.CommitRequest<JsonLinesFileSink.Commit>> out = new ArrayList<>();
        for (JsonLinesFileSink.Commit c : commits) {
            out.add(new Committer.CommitRequest<>() {
                @Override
                public JsonLinesFileSink.Commit getCommittable() {
                    return c;
                }

                @Override
                public int getNumberOfRetries() {
                    return 0;
                }

                @Override
                public void signalFailedWithKnownReason(Throwable t) {}

                @Override
                public void signalFailedWithUnknownReason(Throwable t) {}

                @Override
                public void retryLater() {}

                @Override
                public void updateAndRetryLater(JsonLinesFileSink.Commit committable) {}

                @Override
                public void signalAlreadyCommitted() {}
            });
        }
        return out;
    }
}
