package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.glimpse.connectors.reprocess.FileTreeListing;
import dev.glimpse.model.TestModels;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClusterArgumentsTest {
    @Test
    void shouldReadRunsOptionsWithRepeatedSetsInBothSpellings() {
        ClusterArguments a = ClusterArguments.parse(new String[] {"--set", "kafka.bootstrap-servers=kafka:9092",
                "--set=model.dir=/models/a=b", "--config", "/etc/glimpse.yaml", "--images-topic", "photos",
                "--resume", "--checkpoint-dir=s3://bucket/checkpoints"});

        assertThat(a.reprocess()).isNull();
        assertThat(a.help()).isFalse();
        RunArguments run = a.run();
        assertThat(run.job().set()).containsExactlyInAnyOrderEntriesOf(
                Map.of("kafka.bootstrap-servers", "kafka:9092", "model.dir", "/models/a=b"));
        assertThat(run.job().config()).isEqualTo(Path.of("/etc/glimpse.yaml"));
        assertThat(run.job().model()).isNull();
        assertThat(run.imagesTopic()).isEqualTo("photos");
        assertThat(run.captionsTopic()).isNull();
        assertThat(run.checkpointDir()).isEqualTo("s3://bucket/checkpoints");
        assertThat(run.resume()).isTrue();
        assertThat(run.fromSavepoint()).isNull();
    }

    @Test
    void shouldApplyTheDedicatedFlagsOverSetAsBinGlimpseRunDoes() {
        Path model = dev.glimpse.model.TestModels.writeTinyScenesModel(
                Path.of("target", "cluster-arguments-model").toAbsolutePath());
        GlimpseConfig c = ClusterArguments.parse(new String[] {"--model", model.toString(),
                "--set", "kafka.images-topic=ignored", "--images-topic", "photos", "--bootstrap", "kafka:9092"}).run().load();

        assertThat(c.get(GlimpseOptions.IMAGES_TOPIC)).isEqualTo("photos");
        assertThat(c.get(GlimpseOptions.BOOTSTRAP_SERVERS)).isEqualTo("kafka:9092");
        assertThat(c.modelDir()).isEqualTo(model);
    }

    @Test
    void shouldReadReprocessAndItsOptionsWithDefaults() {
        ClusterArguments a = ClusterArguments.parse(new String[] {"reprocess", "--from", "s3://archive/photos/",
                "--to", "jsonl:s3://out/captions/", "--skip-existing", "--extensions", "jpg,.PNG", "--quiet",
                "--set", "parallelism.decode=4"});

        assertThat(a.run()).isNull();
        ReprocessArguments r = a.reprocess();
        assertThat(r.from()).isEqualTo("s3://archive/photos/");
        assertThat(r.to()).isEqualTo("jsonl:s3://out/captions/");
        assertThat(r.fromOffsets()).isEqualTo("earliest");
        assertThat(r.untilOffsets()).isEqualTo("latest");
        assertThat(r.skipExisting()).isTrue();
        assertThat(r.prompt()).isNull();
        assertThat(FileTreeListing.extensions(r.extensions())).containsExactlyInAnyOrder("jpg", "png");
        assertThat(r.job().set()).containsEntry("parallelism.decode", "4");
        assertThat(a.quiet()).isTrue();
    }

    @Test
    void shouldTakeButReportTheOptionsOfTheLocalClusterOnly() {
        ClusterArguments run = ClusterArguments.parse(new String[] {"--rest-port", "8082", "--prometheus-port", "9249"});
        assertThat(run.ignoredLocalOptions()).containsExactlyInAnyOrder("rest-port", "prometheus-port");

        ClusterArguments reprocess = ClusterArguments.parse(new String[] {"reprocess", "--from", "/a", "--to", "jsonl:/b/",
                "--gallery", "page.html", "--timeout", "PT1H"});
        assertThat(reprocess.ignoredLocalOptions()).containsExactlyInAnyOrder("gallery", "timeout");
    }

    @Test
    void shouldRefuseWhatItCannotServeNamingTheOption() {
        assertThatThrownBy(() -> ClusterArguments.parse(new String[] {"--images-topik", "photos"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("unknown option --images-topik\n");
        assertThatThrownBy(() -> ClusterArguments.parse(new String[] {"--from", "/a"}))
                .hasMessageStartingWith("unknown option --from\n");
        assertThatThrownBy(() -> ClusterArguments.parse(new String[] {"reprocess", "--to", "jsonl:/b/"}))
                .hasMessageStartingWith("missing required option --from\n");
        assertThatThrownBy(() -> ClusterArguments.parse(new String[] {"--images-topic", "--resume"}))
                .hasMessage("option --images-topic needs a value");
        assertThatThrownBy(() -> ClusterArguments.parse(new String[] {"--resume", "yes"}))
                .hasMessage("option --resume takes no value, got 'yes'");
        assertThatThrownBy(() -> ClusterArguments.parse(new String[] {"--set", "batching.max-batch-size"}))
                .hasMessage("--set expects KEY=VALUE, got 'batching.max-batch-size'");
        assertThatThrownBy(() -> ClusterArguments.parse(new String[] {"--model", "a", "--model", "b"}))
                .hasMessage("option --model given 2 times");
    }

    @Test
    void shouldAnswerHelpWithTheUsage() {
        assertThat(ClusterArguments.parse(new String[] {"--help"}).help()).isTrue();
        assertThat(ClusterArguments.USAGE).contains("--set KEY=VALUE", "reprocess --from SOURCE --to SINK");
    }

    @Test
    void shouldLetTheLastSetOfAKeyWin() {
        ClusterArguments a = ClusterArguments.parse(new String[] {"--set", "a=1", "--set", "b=2", "--set", "a=3"});
        assertThat(a.run().job().set()).containsExactlyInAnyOrderEntriesOf(Map.of("a", "3", "b", "2"));
    }
}
