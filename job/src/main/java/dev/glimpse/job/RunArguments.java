package dev.glimpse.job;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.configuration.Configuration;

/**
 * The options of {@code run} that shape the streaming job, the same whether {@code bin/glimpse run}
 * runs it on a local cluster or {@link GlimpseJob#main} submits it to a real one. Each flag is null
 * when not given.
 */
public record RunArguments(JobArguments job, String bootstrap, String imagesTopic, String captionsTopic,
                           String deadLetterTopic, String checkpointDir, boolean resume, String fromSavepoint) {
    /** The job's configuration with the dedicated flags applied over {@code --set}. */
    public GlimpseConfig load() {
        Map<String, String> flags = new LinkedHashMap<>();
        putIf(flags, GlimpseOptions.BOOTSTRAP_SERVERS.key(), bootstrap);
        putIf(flags, GlimpseOptions.IMAGES_TOPIC.key(), imagesTopic);
        putIf(flags, GlimpseOptions.CAPTIONS_TOPIC.key(), captionsTopic);
        putIf(flags, GlimpseOptions.DEAD_LETTER_TOPIC.key(), deadLetterTopic);
        putIf(flags, GlimpseOptions.CHECKPOINT_DIR.key(), checkpointDir);
        return job.load(flags);
    }

    /**
     * The job's Flink configuration ({@link GlimpseJob#localCluster}), starting from what {@link
     * #restoreFrom} says, which is reported on {@code log}.
     */
    public Configuration flinkConfiguration(GlimpseConfig c, PrintStream log) {
        return Checkpoints.restoring(GlimpseJob.localCluster(c), restoreFrom(c), log);
    }

    /**
     * What the job starts from: {@code --from-savepoint}, else with {@code --resume} the latest
     * retained checkpoint in the checkpoint directory; null for a fresh start.
     */
    public String restoreFrom(GlimpseConfig c) {
        return Checkpoints.restorePoint(fromSavepoint, resume, Path.of(c.get(GlimpseOptions.CHECKPOINT_DIR)));
    }

    private static void putIf(Map<String, String> m, String key, String value) {
        if (value != null) {
            m.put(key, value);
        }
    }
}
