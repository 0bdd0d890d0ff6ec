package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.TestModels;
import dev.glimpse.model.ViewPlan;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped built-in model, through the real pipeline: fresh scenes (a seed never used in
 * training) go through Kafka and Flink, and the committed captions must be the ground truth.
 */
class BuiltInModelAccuracyITCase {
    static final Path MODEL = Path.of("..", Installation.BUILT_IN_MODEL);
    static final int SCENES = 100;
    static final long FRESH_SEED = 31337;

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @Test
    void shouldCaptionFreshScenesThroughKafkaAndFlinkExactlyRight(@TempDir Path work) throws Exception {
        SceneGenerator scenes = new SceneGenerator(FRESH_SEED);
        Map<String, SceneSample> samples = new LinkedHashMap<>();
        for (int i = 0; i < SCENES; i++) {
            samples.put("fresh-" + i, scenes.sample(i));
        }
        Map<String, String> streamed = new HashMap<>();
        Map<String, Integer> streamedViews = new HashMap<>();
        Map<String, Double> streamedConfidence = new HashMap<>();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("kafka.bootstrap-servers", kafka.bootstrapServers());
            o.put("model.dir", MODEL.toString());
            o.put("checkpoint.interval", "1s");
            o.put("checkpoint.dir", work.resolve("checkpoints").toString());
            o.put("batching.max-batch-size", "16");
            o.put("kafka.create-topics", "true");
            GlimpseConfig c = GlimpseConfig.load(null, o);
            kafka.createTopic(c.get(GlimpseOptions.IMAGES_TOPIC), 2);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.checkpointing(c));
            GlimpseJob.addTo(env, c);
            JobClient job = env.executeAsync("it-accuracy");
            try (KafkaProducer<byte[], byte[]> p = KafkaPipelineHarness.producer(kafka.bootstrapServers())) {
                samples.forEach((id, s) -> KafkaPipelineHarness.send(p, c.get(GlimpseOptions.IMAGES_TOPIC), id, s.encoded()));
            }
            try {
                for (KafkaPipelineHarness.Output out : KafkaPipelineHarness.readCommitted(kafka.bootstrapServers(),
                        List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC), c.get(GlimpseOptions.DEAD_LETTER_TOPIC)), SCENES,
                        Duration.ofMinutes(5))) {
                    assertThat(out.topic()).as(out.json().toString()).isEqualTo(c.get(GlimpseOptions.CAPTIONS_TOPIC));
                    streamed.put(out.id(), out.json().path("caption").asText());
                    streamedViews.put(out.id(), out.json().path("views").asInt());
                    streamedConfidence.put(out.id(), out.json().path("confidence").asDouble());
                }
            } finally {
                job.cancel().get();
            }
        }
        assertThat(streamed).hasSize(SCENES);

        // The streaming path must caption exactly as the model does offline (batching changes nothing),
        // from the model's test-time views, as the job's default (generation.test-time-views) asks,
        // with the patch embeddings rounded to F16 as they travel to the captioner.
        try (VisionLanguageModel model = VisionLanguageModel.load(MODEL)) {
            assertThat(new ImagePreprocessor(model.config()).plan()).as("views of the built-in model")
                    .isEqualTo(new ViewPlan(3, 0.99));
            List<Captioner.Caption> offline = TestModels.captionAsTheJobCarriesThem(model,
                    samples.values().stream().map(SceneSample::encoded).toList());
            List<String> ids = new ArrayList<>(samples.keySet());
            for (int i = 0; i < SCENES; i++) {
                assertThat(streamed.get(ids.get(i))).as(ids.get(i)).isEqualTo(offline.get(i).text());
                assertThat(streamedViews.get(ids.get(i))).as(ids.get(i)).isEqualTo(offline.get(i).views());
                assertThat(streamedConfidence.get(ids.get(i))).as(ids.get(i))
                        .isCloseTo(offline.get(i).confidence(), org.assertj.core.api.Assertions.within(1e-4));
            }
        }
        long right = samples.entrySet().stream().filter(e -> e.getValue().caption().equals(streamed.get(e.getKey()))).count();
        long again = streamedViews.values().stream().filter(v -> v > 1).count();
        System.out.printf("built-in model through Kafka + Flink: %d/%d fresh scenes exactly right (%d decoded again "
                + "from the shifted views)%n", right, SCENES, again);
        assertThat(right).as("exact matches of %d fresh scenes", SCENES).isGreaterThanOrEqualTo(95);
    }
}
