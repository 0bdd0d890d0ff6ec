package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.LowPrecision;
import dev.glimpse.model.TestModels;
import dev.glimpse.operators.BatchedCaptioner;
import dev.glimpse.operators.CaptionRecord;
import dev.glimpse.operators.EmbeddedImage;
import dev.glimpse.operators.ImageEvent;
import java.nio.file.Path;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.apache.flink.streaming.api.operators.SimpleOperatorFactory;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code engine.dtype} travels inside the job's graph to the models a TaskManager loads, with no JVM option. */
class EngineDtypeHarnessTest {
    @TempDir
    static Path modelDir;

    @BeforeAll
    static void model() {
        TestModels.writeTinyScenesModel(modelDir);
    }

    @Test
    void shouldHoldTheTaskManagersModelInTheConfiguredDtypeWithoutTheSystemProperty() throws Exception {
        assertThat(System.getProperty(EngineDtype.PROPERTY)).as("no JVM-wide dtype").isNull();
        GlimpseConfig c = GlimpseConfig.load(null, Map.of("model.dir", modelDir.toString(), "engine.dtype", "bfloat16"));
        // As a TaskManager gets it: the operator of the submitted graph, serialised and read back.
        assertThat(dtypeOnATaskManager(c)).isEqualTo(EngineDtype.BFLOAT16);
    }

    @Test
    void shouldLeaveTheDtypeToEachJvmsPropertyWhenTheConfigurationSetsNone() throws Exception {
        GlimpseConfig c = GlimpseConfig.load(null, Map.of("model.dir", modelDir.toString()));
        assertThat(PipelineSettings.of(c).dtype()).isNull();
        assertThat(dtypeOnATaskManager(c)).as("no property: float32").isEqualTo(EngineDtype.FLOAT32);
        System.setProperty(EngineDtype.PROPERTY, "bfloat16"); // as env.java.opts.taskmanager would
        try {
            assertThat(dtypeOnATaskManager(c)).as("-Dglimpse.engine.dtype=bfloat16").isEqualTo(EngineDtype.BFLOAT16);
        } finally {
            System.clearProperty(EngineDtype.PROPERTY);
        }
    }

    private static EngineDtype dtypeOnATaskManager(GlimpseConfig c) throws Exception {
        BatchedCaptioner shipped = InstantiationUtil.clone(captioner(c), EngineDtypeHarnessTest.class.getClassLoader());
        try (var h = new OneInputStreamOperatorTestHarness<EmbeddedImage, CaptionRecord>(shipped)) {
            h.open();
            return LowPrecision.typeOf(shipped.model().model().weights().get("decoder.token_embedding.weight"));
        }
    }

    /** The captioning operator of the graph {@link GlimpsePipeline} builds from {@code c}. */
    private static BatchedCaptioner captioner(GlimpseConfig c) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        GlimpsePipeline.build(env.fromData(TypeInformation.of(ImageEvent.class), new ImageEvent()), PipelineSettings.of(c));
        StreamGraph graph = env.getStreamGraph();
        for (StreamNode n : graph.getStreamNodes()) {
            if (n.getOperatorName().equals(BatchedCaptioner.STAGE)) {
                return (BatchedCaptioner) ((SimpleOperatorFactory<?>) n.getOperatorFactory()).getOperator();
            }
        }
        throw new AssertionError("no " + BatchedCaptioner.STAGE + " in " + graph.getStreamNodes());
    }
}
