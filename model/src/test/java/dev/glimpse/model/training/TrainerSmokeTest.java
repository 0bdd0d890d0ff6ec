package dev.glimpse.model.training;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.VisionLanguageModel;
import java.io.PrintStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerSmokeTest {
    static ModelConfig tiny() {
        return dev.glimpse.model.TestModels.tinyScenesConfig();
    }

    @Test
    void shouldReduceLossWithinAFewStepsAndResume(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(logBytes, true);
        TrainerOptions opt = new TrainerOptions(30, 16, 3e-3, 3e-4, 3, 0.01, 1.0, 7L, dir, false, 15, 5, 1);
        List<Double> losses = Trainer.train(opt, tiny(), log);
        System.out.print(logBytes);
        assertThat(losses).hasSize(6);
        assertThat(losses.get(losses.size() - 1)).isLessThan(losses.get(0) * 0.7);
        assertThat(dir.resolve(VisionLanguageModel.WEIGHTS)).exists();
        assertThat(Files.readString(dir.resolve(Trainer.TRAINER_STATE))).contains("\"step\" : 30");

        TrainerOptions more = new TrainerOptions(35, 16, 3e-3, 3e-4, 3, 0.01, 1.0, 7L, dir, true, 15, 5, 1);
        List<Double> resumed = Trainer.train(more, tiny(), log);
        assertThat(logBytes.toString()).contains("resumed from step 30");
        assertThat(resumed).hasSize(1);
        assertThat(resumed.get(0)).isLessThan(losses.get(0));
    }
}
